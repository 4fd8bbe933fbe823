// dispatch.h: what every op does before calling a kernel: check devices and dtypes (errors
// name the op and the offending tensor) and pick the kernel instantiation for the dtype; the
// backend for the device is FROST_KERNEL's choice (engine/backends.h).
#pragma once
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/backends.h"
#include "engine/tensor.h"

namespace frost {

// A contiguous copy of `src` converted to `dtype`, on src's device. Not differentiable.
Tensor copy_contiguous(const Tensor& src, DType dtype);

// Throws unless every defined tensor is on one device this build has kernels for (the CPU, or a
// CUDA device in a CUDA build) and has the same float dtype (f32, f64 or bf16). Undefined tensors
// are skipped.
void check_float_operands(const char* op, const std::vector<const Tensor*>& tensors);
// Mixed precision: the dtype an op that takes activations and parameters computes in. Operands
// as check_float_operands, except that bf16 and f32 may meet: then it is bf16 (an f32 master
// weight is cast to the bf16 activations it meets, as autocast does). f64 mixes with nothing.
DType promote_float_operands(const char* op, const std::vector<const Tensor*>& tensors);
// Whether bf16 and f32 tensors meet among the defined ones (the case promote_float_operands casts).
bool mixes_bf16_and_f32(const std::vector<const Tensor*>& tensors);
// Throws unless the tensor's device has kernels in this build.
void check_device(const char* op, const Tensor& t);

// Calls fn(float{}), fn(double{}) or fn(bf16{}) according to dtype: ops whose kernels have a
// bf16 form (storage in bf16, arithmetic in f32).
template <typename Fn>
decltype(auto) dispatch_float(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return fn(float{});
    case DType::f64:
      return fn(double{});
    case DType::bf16:
      return fn(bf16{});
    default:
      throw std::invalid_argument(std::string(op) + ": dtype " + dtype_name(dtype) +
                                  " is not supported by the op kernels (convert to f32, f64 or bf16)");
  }
}

// Calls fn(float{}) or fn(double{}): ops that run in f32 or f64 only (softmax and the loss, which
// widen bf16 inputs first; random fills; optimizer updates of f32 master weights).
template <typename Fn>
decltype(auto) dispatch_f32_f64(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return fn(float{});
    case DType::f64:
      return fn(double{});
    default:
      throw std::invalid_argument(std::string(op) + ": dtype " + dtype_name(dtype) + " is not supported here (f32 or f64 only)");
  }
}

}  // namespace frost
