// check.h: every CUDA runtime, cuBLAS and cuBLASLt call goes through one of these; a failure
// throws naming the call, the file and the line, and the library's own message.
// A fault inside a kernel surfaces only at the next synchronising call, often far from its
// launch: with FROST_CUDA_SYNC=1 in the environment every launch and cuBLASLt call is followed by
// a device synchronisation, so the error names the launch that faulted (slow; for debugging and
// the first pass of tools/gpu_check.sh).
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace frost::cuda {

[[noreturn]] inline void fail(const char* call, const char* file, int line, const std::string& what) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " + what);
}

// FROST_CUDA_SYNC=1 (read once).
inline bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("FROST_CUDA_SYNC");
    return v && std::strcmp(v, "") != 0 && std::strcmp(v, "0") != 0;
  }();
  return on;
}

inline void check_synchronized(const char* what, const char* function, const char* file, int line) {
  if (!sync_after_launch()) return;
  const cudaError_t status = cudaDeviceSynchronize();
  if (status != cudaSuccess)
    fail(what, file, line,
         std::string(cudaGetErrorString(status)) + " (FROST_CUDA_SYNC: in what " + function + " launched here)");
}

}  // namespace frost::cuda

// After a kernel launch or a library call: under FROST_CUDA_SYNC=1, wait for it and report its fault here.
#define FROST_SYNC_CHECK(what) frost::cuda::check_synchronized(what, __func__, __FILE__, __LINE__)

#define FROST_CUDA_CHECK(call)                                                                             \
  do {                                                                                                     \
    const cudaError_t status_ = (call);                                                                    \
    if (status_ != cudaSuccess) frost::cuda::fail(#call, __FILE__, __LINE__, cudaGetErrorString(status_)); \
  } while (0)

#define FROST_CUBLAS_CHECK(call)                                                                                  \
  do {                                                                                                            \
    const cublasStatus_t status_ = (call);                                                                        \
    if (status_ != CUBLAS_STATUS_SUCCESS)                                                                         \
      frost::cuda::fail(#call, __FILE__, __LINE__,                                                                \
                        std::string(cublasGetStatusName(status_)) + " (" + cublasGetStatusString(status_) + ")"); \
  } while (0)
