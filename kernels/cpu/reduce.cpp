// reduce.cpp: sum and max over the middle dim of [outer, R, inner]. inner == 1 is a row
// reduction (vectorised along R); otherwise rows of `inner` are accumulated (vectorised along i).
// Every type sums in double; bf16 storage is widened where it is read and rounded once.
#include "kernels/cpu/reduce.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/vmath.h"

namespace frost::cpu {

namespace {

// acc[i] += sum_r x[r * ld + i] for i < len, in double.
template <typename T>
FROST_CLONES void add_rows(const T* x, int64_t rows, int64_t ld, int64_t len, double* acc) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * ld;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) acc[i] += double(acc_t<T>(row[i]));
  }
}

}  // namespace

template <typename T>
void sum_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out) {
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * R > (1 << 15))
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * R;
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t r = 0; r < R; ++r) acc += double(acc_t<T>(row[r]));
      out[o] = T(acc_t<T>(acc));
    }
    return;
  }
  // Jobs: (outer, inner chunk, part of R), parts of R only when the other two give the team too
  // few jobs (a bias gradient, [1, rows, C]). Each job sums its rows in double; the parts are
  // then added in a fixed order, so the result does not depend on the thread count's timing.
  constexpr int64_t kChunk = 256;
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  const bool parallel = outer * R * inner > (1 << 15) && omp_get_level() == 0;
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
  const int64_t parts = std::clamp<int64_t>(threads / (outer * chunks), 1, std::max<int64_t>(1, R / 64));
  std::vector<double> partial(size_t(parts * outer * inner));
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t job = 0; job < outer * chunks * parts; ++job) {
    const int64_t part = job % parts, o = job / parts / chunks, i0 = (job / parts % chunks) * kChunk;
    const int64_t r0 = R * part / parts, r1 = R * (part + 1) / parts;
    double* acc = partial.data() + (part * outer + o) * inner + i0;
    add_rows(x + (o * R + r0) * inner + i0, r1 - r0, inner, std::min(kChunk, inner - i0), acc);
  }
  for (int64_t j = 0; j < outer * inner; ++j) {
    double sum = 0;
    for (int64_t part = 0; part < parts; ++part) sum += partial[size_t(part * outer * inner + j)];
    out[j] = T(acc_t<T>(sum));
  }
}

template <typename T>
void max_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out, int64_t* argmax) {
#pragma omp parallel for schedule(static) if (outer * R * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* col = x + o * R * inner + i;
      acc_t<T> best = col[0];
      int64_t best_r = 0;
      for (int64_t r = 1; r < R && !std::isnan(best); ++r) {
        const acc_t<T> v = col[r * inner];
        if (v > best || std::isnan(v)) {
          best = v;
          best_r = r;
        }
      }
      out[o * inner + i] = T(best);  // exact: best is one of the inputs
      argmax[o * inner + i] = best_r;
    }
}

template <typename T>
void max_middle_backward(const T* dy, const int64_t* argmax, int64_t outer, int64_t R, int64_t inner, T* dx) {
#pragma omp parallel for schedule(static) if (outer * R * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t i = 0; i < inner; ++i) dx[(o * R + r) * inner + i] = argmax[o * inner + i] == r ? dy[o * inner + i] : T(0);
}

#define FROST_INSTANTIATE(T)                                                      \
  template void sum_middle<T>(const T*, int64_t, int64_t, int64_t, T*);           \
  template void max_middle<T>(const T*, int64_t, int64_t, int64_t, T*, int64_t*); \
  template void max_middle_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)
FROST_INSTANTIATE(bf16)

}  // namespace frost::cpu
