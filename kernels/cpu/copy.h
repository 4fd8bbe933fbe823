// copy.h: strided copies with dtype conversion and fills, the CPU twins of kernels/cuda's
// copy_strided and fill (same signatures: the engine dispatches them with FROST_KERNEL).
// Conversions go through double (kernels/dtype.h convert_value), so both devices round alike;
// same-type copies move the bits.
#pragma once
#include <cstdint>

#include "kernels/dtype.h"
#include "kernels/cpu/strided.h"

namespace frost::cpu {

// dst (strided, dst_type) = src (strided, src_type) over `shape`.
void copy_strided(const Dims& shape, void* dst, DType dst_type, const Dims& dst_strides, const void* src, DType src_type,
                  const Dims& src_strides);
// n elements of `type` set to value.
void fill(void* dst, DType type, int64_t n, double value);

}  // namespace frost::cpu
