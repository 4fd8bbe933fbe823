// dtype.h: the element types frost stores, their sizes and names, and the scalar
// conversions between them (bf16 and f16 are storage types: arithmetic happens in f32).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "kernels/bfloat16.h"

namespace frost {

enum class DType : uint8_t { f32, f64, bf16, f16, i64, u8, boolean };

size_t dtype_size(DType t);
const char* dtype_name(DType t);                 // "f32", "bf16", ...: used in every error message
DType dtype_from_name(const std::string& name);  // throws std::invalid_argument naming the string
bool dtype_is_float(DType t);

// ---------------------------------------------------------------------------------------
// 16-bit floats. bf16 keeps f32's exponent and rounds the mantissa to 7 bits (nearest-even);
// f16 is IEEE binary16. Both conversions handle NaN, infinities and subnormals.

inline float bf16_to_f32(uint16_t h) { return bf16::widen(h); }
inline uint16_t f32_to_bf16(float f) { return bf16::round(f); }

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Scalar element access on raw buffers, through double (integers beyond 2^53 are copied exactly
// by convert_value's integer path).
double load_value(const void* base, DType dtype, int64_t index);
void store_value(void* base, DType dtype, int64_t index, double value);
void convert_value(const void* src, DType src_type, int64_t src_index, void* dst, DType dst_type, int64_t dst_index);

}  // namespace frost
