// dtype.cpp: dtype tables, the IEEE half-precision conversions and scalar element access.
#include "kernels/dtype.h"

#include <cmath>
#include <stdexcept>

namespace frost {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
      return 4;
    case DType::f64:
      return 8;
    case DType::bf16:
      return 2;
    case DType::f16:
      return 2;
    case DType::i64:
      return 8;
    case DType::u8:
      return 1;
    case DType::boolean:
      return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::f64:
      return "f64";
    case DType::bf16:
      return "bf16";
    case DType::f16:
      return "f16";
    case DType::i64:
      return "i64";
    case DType::u8:
      return "u8";
    case DType::boolean:
      return "bool";
  }
  return "?";
}

DType dtype_from_name(const std::string& name) {
  for (DType t : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i64, DType::u8, DType::boolean})
    if (name == dtype_name(t)) return t;
  throw std::invalid_argument("unknown dtype '" + name + "' (expected f32, f64, bf16, f16, i64, u8 or bool)");
}

bool dtype_is_float(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16; }

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf or NaN
  } else if (exponent == 0) {
    // zero or subnormal: value = mantissa * 2^-24
    float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  uint32_t abs_bits = bits & 0x7fffffffu;
  if (abs_bits > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (abs_bits >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: inf
  if (abs_bits < 0x38800000u) {
    // result is subnormal (or zero) in f16: round |f| * 2^24 to the nearest integer, ties to even
    float magnitude;
    std::memcpy(&magnitude, &abs_bits, 4);
    float scaled = magnitude * 16777216.0f;  // exact: a power-of-two scale
    return sign | uint16_t(std::nearbyint(scaled));
  }
  // normal: rebias the exponent and round the 13 dropped mantissa bits to nearest-even
  uint32_t rounding = 0xfffu + ((abs_bits >> 13) & 1u);
  abs_bits += rounding;
  return sign | uint16_t((abs_bits - (112u << 23)) >> 13);
}

double load_value(const void* base, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::f32:
      return static_cast<const float*>(base)[i];
    case DType::f64:
      return static_cast<const double*>(base)[i];
    case DType::bf16:
      return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::f16:
      return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::i64:
      return double(static_cast<const int64_t*>(base)[i]);
    case DType::u8:
      return static_cast<const uint8_t*>(base)[i];
    case DType::boolean:
      return static_cast<const uint8_t*>(base)[i] ? 1.0 : 0.0;
  }
  return 0;
}

void store_value(void* base, DType dtype, int64_t i, double v) {
  switch (dtype) {
    case DType::f32:
      static_cast<float*>(base)[i] = float(v);
      break;
    case DType::f64:
      static_cast<double*>(base)[i] = v;
      break;
    case DType::bf16:
      static_cast<uint16_t*>(base)[i] = f32_to_bf16(float(v));
      break;
    case DType::f16:
      static_cast<uint16_t*>(base)[i] = f32_to_f16(float(v));
      break;
    case DType::i64:
      static_cast<int64_t*>(base)[i] = int64_t(v);
      break;
    case DType::u8:
      static_cast<uint8_t*>(base)[i] = uint8_t(v);
      break;
    case DType::boolean:
      static_cast<uint8_t*>(base)[i] = v != 0.0;
      break;
  }
}

void convert_value(const void* src, DType st, int64_t si, void* dst, DType dt, int64_t di) {
  if (st == DType::i64 && dt == DType::i64) {
    static_cast<int64_t*>(dst)[di] = static_cast<const int64_t*>(src)[si];
    return;
  }
  if (st == dt && dtype_size(st) == 2) {  // bf16 -> bf16, f16 -> f16: bit copy (keeps NaN payloads)
    static_cast<uint16_t*>(dst)[di] = static_cast<const uint16_t*>(src)[si];
    return;
  }
  store_value(dst, dt, di, load_value(src, st, si));
}

}  // namespace frost
