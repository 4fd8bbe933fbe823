// dispatch.h: what every op does before calling a kernel: check devices and dtypes (errors
// name the op and the offending tensor), pick the kernel instantiation for the dtype, and read or
// write single elements of any dtype.
#pragma once
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "engine/tensor.h"

namespace frost {

// Scalar element access through double (integers beyond 2^53 are copied exactly by
// convert_value's integer path).
double load_value(const void* base, DType dtype, int64_t index);
void store_value(void* base, DType dtype, int64_t index, double value);
void convert_value(const void* src, DType src_type, int64_t src_index, void* dst, DType dst_type,
                   int64_t dst_index);

// A contiguous copy of `src` converted to `dtype`, on src's device. Not differentiable.
Tensor copy_contiguous(const Tensor& src, DType dtype);

// Throws unless every defined tensor is on the CPU (the only backend with kernels for this op
// so far) and has the same float dtype (f32 or f64). Undefined tensors are skipped.
void check_float_operands(const char* op, std::initializer_list<const Tensor*> tensors);

// Calls fn(float{}) or fn(double{}) according to dtype.
template <typename Fn>
decltype(auto) dispatch_float(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    default:
      throw std::invalid_argument(std::string(op) + ": dtype " + dtype_name(dtype) +
                                  " is not supported on the CPU (convert to f32 or f64)");
  }
}

}  // namespace frost
