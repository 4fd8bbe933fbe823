// check.h: every CUDA runtime, cuBLAS and cuBLASLt call goes through one of these; a failure
// throws naming the call, the file and the line, and the library's own message.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace frost::cuda {

[[noreturn]] inline void fail(const char* call, const char* file, int line, const std::string& what) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " + what);
}

}  // namespace frost::cuda

#define FROST_CUDA_CHECK(call)                                                                  \
  do {                                                                                          \
    const cudaError_t status_ = (call);                                                         \
    if (status_ != cudaSuccess) frost::cuda::fail(#call, __FILE__, __LINE__, cudaGetErrorString(status_)); \
  } while (0)

#define FROST_CUBLAS_CHECK(call)                                                                \
  do {                                                                                          \
    const cublasStatus_t status_ = (call);                                                      \
    if (status_ != CUBLAS_STATUS_SUCCESS)                                                       \
      frost::cuda::fail(#call, __FILE__, __LINE__, std::string(cublasGetStatusName(status_)) + " (" + cublasGetStatusString(status_) + ")"); \
  } while (0)
