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

#include "kernels/api/random.inc"

}  // namespace frost::cpu
