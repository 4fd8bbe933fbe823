// philox.h: Philox4x32-10 (Salmon et al., SC'11), the counter-based generator cuRAND and PyTorch
// use, as one inline function the CPU kernels and the CUDA kernels both compile: a value depends
// only on (seed, offset, index), so a dropout mask is the same bits on either device and can be
// recomputed in the backward instead of stored.
#pragma once
#include <cstdint>

#include "kernels/host_device.h"

namespace frost::rng {

struct Philox {
  uint32_t v[4];
};

FROST_HOST_DEVICE inline Philox philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t seed) {
  uint32_t c0 = uint32_t(counter_lo), c1 = uint32_t(counter_lo >> 32);
  uint32_t c2 = uint32_t(counter_hi), c3 = uint32_t(counter_hi >> 32);
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in [0, 1) from element `index` of stream (seed, offset): 24 random bits, exact in f32.
FROST_HOST_DEVICE inline float uniform(uint64_t seed, uint64_t offset, uint64_t index) {
  return float(philox4x32(index, offset, seed).v[0] >> 8) * (1.0f / 16777216.0f);
}

// Dropout's decision for element `index`: keep iff uniform >= p (the CPU and CUDA rule).
FROST_HOST_DEVICE inline bool keep(uint64_t seed, uint64_t offset, uint64_t index, double p) {
  return double(uniform(seed, offset, index)) >= p;
}

}  // namespace frost::rng
