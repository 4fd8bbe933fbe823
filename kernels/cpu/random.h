// random.h: the CPU's random kernels on Philox4x32-10 (kernels/philox.h, shared with the CUDA
// kernels so that a seed gives the same dropout mask on either device).
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

struct Philox {
  uint32_t v[4];
};
Philox philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t seed);
// Uniform in [0, 1) from element `index` of stream (seed, offset): 24 random bits.
float philox_uniform(uint64_t seed, uint64_t offset, uint64_t index);
// Standard normal (Box-Muller on two uniforms of the same block).
double philox_normal(uint64_t seed, uint64_t offset, uint64_t index);

// out[i] = philox_normal / philox_uniform of (seed, offset, i), in parallel.
template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset);
template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset);

// Dropout: keep iff uniform >= p; kept values are scaled by 1 / (1 - p). Forward and backward are
// the same map (y = x * mask / (1 - p), dx = dy * mask / (1 - p)).
template <typename T>
void dropout_apply(const T* x, T* y, int64_t n, double p, uint64_t seed, uint64_t offset);
// Drop-path: one keep decision per sample; x is [batch, per_sample].
template <typename T>
void drop_path_apply(const T* x, T* y, int64_t batch, int64_t per_sample, double p, uint64_t seed,
                     uint64_t offset);

}  // namespace frost::cpu
