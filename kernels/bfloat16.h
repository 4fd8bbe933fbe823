// bfloat16.h: bf16, the storage type of mixed precision (activations and frozen weights), one
// definition for the CPU and the CUDA kernels. It stores bits only: a bf16 converts to float
// implicitly and is made from a float explicitly (round to nearest even), so arithmetic on bf16
// values happens in f32 and rounds once, where the result is stored. acc_t<T> is the type a kernel
// accumulates and keeps statistics in: float for bf16, T itself for f32 and f64.
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/host_device.h"

namespace frost {

struct bf16 {
  uint16_t bits;

  bf16() = default;
  FROST_HOST_DEVICE explicit bf16(float f) : bits(round(f)) {}
  FROST_HOST_DEVICE operator float() const { return widen(bits); }

  FROST_HOST_DEVICE static float widen(uint16_t h) {
    const uint32_t u = uint32_t(h) << 16;
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
  }
  // Nearest-even on the 16 dropped bits; a NaN stays a (quiet) NaN instead of rounding to inf.
  FROST_HOST_DEVICE static uint16_t round(float f) {
#if defined(__CUDA_ARCH__)
    const uint32_t u = __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, 4);
#endif
    const uint32_t nearest = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16, quiet_nan = (u >> 16) | 0x40u;
    return uint16_t((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : nearest);  // a select: vectorises
  }
};
static_assert(sizeof(bf16) == 2, "bf16 is two bytes, as the dtype");

template <typename T>
struct accumulate_type {
  using type = T;
};
template <>
struct accumulate_type<bf16> {
  using type = float;
};
template <typename T>
using acc_t = typename accumulate_type<T>::type;

}  // namespace frost
