// reduce.cpp: sum and max over the middle dim of [outer, R, inner]. inner == 1 is a row
// reduction (vectorised along R); otherwise rows of `inner` are accumulated (vectorised along i).
#include "kernels/cpu/reduce.h"

#include <cmath>
#include <vector>

namespace frost::cpu {

template <typename T>
void sum_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out) {
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * R > (1 << 15))
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * R;
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t r = 0; r < R; ++r) acc += double(row[r]);
      out[o] = T(acc);
    }
    return;
  }
  // Parallel over (outer, inner chunk) so that a bias gradient ([1, R, C]) also splits.
  constexpr int64_t kChunk = 256;
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (outer * R * inner > (1 << 15))
  for (int64_t job = 0; job < outer * chunks; ++job) {
    const int64_t o = job / chunks, i0 = (job % chunks) * kChunk;
    const int64_t len = std::min(kChunk, inner - i0);
    double acc[kChunk] = {};
    for (int64_t r = 0; r < R; ++r) {
      const T* row = x + (o * R + r) * inner + i0;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) acc[i] += double(row[i]);
    }
    for (int64_t i = 0; i < len; ++i) out[o * inner + i0 + i] = T(acc[i]);
  }
}

template <typename T>
void max_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out, int64_t* argmax) {
#pragma omp parallel for schedule(static) if (outer * R * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* col = x + o * R * inner + i;
      T best = col[0];
      int64_t best_r = 0;
      for (int64_t r = 1; r < R && !std::isnan(best); ++r) {
        T v = col[r * inner];
        if (v > best || std::isnan(v)) {
          best = v;
          best_r = r;
        }
      }
      out[o * inner + i] = best;
      argmax[o * inner + i] = best_r;
    }
}

template <typename T>
void max_middle_backward(const T* dy, const int64_t* argmax, int64_t outer, int64_t R,
                         int64_t inner, T* dx) {
#pragma omp parallel for schedule(static) if (outer * R * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t i = 0; i < inner; ++i)
        dx[(o * R + r) * inner + i] = argmax[o * inner + i] == r ? dy[o * inner + i] : T(0);
}

#define FROST_INSTANTIATE(T)                                                          \
  template void sum_middle<T>(const T*, int64_t, int64_t, int64_t, T*);               \
  template void max_middle<T>(const T*, int64_t, int64_t, int64_t, T*, int64_t*);     \
  template void max_middle_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cpu
