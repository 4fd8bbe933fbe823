// norm.cpp: layer norm, one row per iteration, rows split across threads; the parameter
// gradients are reduced per thread into a private [C] buffer and summed at the end, so the
// result does not depend on scheduling beyond the fixed static partition. bf16 rows compute in f32
// (RowBuffer), statistics in f32.
#include "kernels/cpu/norm.h"

#include <omp.h>

#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/vmath.h"

namespace frost::cpu {

namespace {

// One row: y = (x - mean) rstd w + b; returns (mean, rstd). Statistics in double.
template <typename T>
FROST_CLONES void normalize_row(const T* xr, const T* w, const T* b, int64_t C, double eps, T* yr, T& mean, T& rstd) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < C; ++c) sum += double(xr[c]);
  const double mu = sum / double(C);
  double sq = 0;
#pragma omp simd reduction(+ : sq)
  for (int64_t c = 0; c < C; ++c) sq += (double(xr[c]) - mu) * (double(xr[c]) - mu);
  const T m = T(mu), s = T(1.0 / std::sqrt(sq / double(C) + eps));
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - m) * s * (w ? w[c] : T(1)) + (b ? b[c] : T(0));
  mean = m;
  rstd = s;
}

// One row of dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy w, and (where given) its terms
// of the affine gradients, dw += dy xhat and db += dy (in double: they sum over every row). The
// row sums run in T over vector lanes (partial sums per lane: a row is at most a few thousand
// terms); every loop is branch-free inside, the frozen-affine case (no dw, db) costs two passes.
template <typename T>
FROST_CLONES void normalize_row_backward(const T* dyr, const T* xr, T m, T s, const T* w, int64_t C, T* dxr, double* dw,
                                         double* db) {
  T g_sum = 0, gxc_sum = 0;  // sum g and sum g (x - m)
  if (w) {
#pragma omp simd reduction(+ : g_sum, gxc_sum)
    for (int64_t c = 0; c < C; ++c) {
      const T g = dyr[c] * w[c];
      g_sum += g;
      gxc_sum += g * (xr[c] - m);
    }
  } else {
#pragma omp simd reduction(+ : g_sum, gxc_sum)
    for (int64_t c = 0; c < C; ++c) {
      g_sum += dyr[c];
      gxc_sum += dyr[c] * (xr[c] - m);
    }
  }
  if (dw)
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dw[c] += double(dyr[c]) * double((xr[c] - m) * s);
  if (db)
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) db[c] += double(dyr[c]);
  if (!dxr) return;
  // dx = s (g - g_mean) - (x - m) s^3 mean(g (x - m))
  const T g_mean = g_sum / T(C), k = s * s * s * gxc_sum / T(C);
  if (w) {
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dxr[c] = s * (dyr[c] * w[c] - g_mean) - (xr[c] - m) * k;
  } else {
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dxr[c] = s * (dyr[c] - g_mean) - (xr[c] - m) * k;
  }
}

// The acc_t<T> view of T rows: for f32 and f64 the buffer itself; for bf16 a row of the
// thread's own, widened to f32 where it is read and rounded once where it is written, so the row
// loops above run in f32 (and vectorise) whatever the storage.
template <typename T>
class RowBuffer {
  using A = acc_t<T>;
  static constexpr bool kSame = std::is_same_v<T, A>;

 public:
  explicit RowBuffer(int64_t C) : row_(kSame ? 0 : size_t(C)) {}
  const A* read(const T* p) {
    if constexpr (kSame) {
      return p;
    } else {
      if (!p) return nullptr;
#pragma omp simd
      for (size_t i = 0; i < row_.size(); ++i) row_[i] = A(p[i]);
      return row_.data();
    }
  }
  A* target(T* p) {
    if constexpr (kSame)
      return p;
    else
      return p ? row_.data() : nullptr;
  }
  void write(T* p) const {
    if constexpr (!kSame) {
      if (!p) return;
#pragma omp simd
      for (size_t i = 0; i < row_.size(); ++i) p[i] = T(row_[i]);
    }
  }

 private:
  std::vector<A> row_;
};

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t C, double eps, T* y, acc_t<T>* mean,
                        acc_t<T>* rstd) {
  using A = acc_t<T>;
  RowBuffer<T> w_row(C), b_row(C);
  const A* wa = w_row.read(w);
  const A* ba = b_row.read(b);
#pragma omp parallel if (rows * C > (1 << 14))
  {
    RowBuffer<T> in(C), out(C);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      A m, s;
      normalize_row<A>(in.read(x + r * C), wa, ba, C, eps, out.target(y + r * C), m, s);
      out.write(y + r * C);
      if (mean) mean[r] = m;
      if (rstd) rstd[r] = s;
    }
  }
}

template <typename T>
void layer_norm_backward(const T* dy, const T* x, const acc_t<T>* mean, const acc_t<T>* rstd, const T* w, int64_t rows, int64_t C,
                         T* dx, T* dw, T* db) {
  using A = acc_t<T>;
  RowBuffer<T> w_row(C);
  const A* wa = w_row.read(w);
  const int threads = rows * C > (1 << 14) ? omp_get_max_threads() : 1;
  std::vector<double> dw_part(dw ? size_t(threads) * C : 0), db_part(db ? size_t(threads) * C : 0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    double* dw_t = dw ? dw_part.data() + size_t(t) * C : nullptr;
    double* db_t = db ? db_part.data() + size_t(t) * C : nullptr;
    RowBuffer<T> dy_row(C), x_row(C), dx_row(C);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      T* dxr = dx ? dx + r * C : nullptr;
      normalize_row_backward<A>(dy_row.read(dy + r * C), x_row.read(x + r * C), mean[r], rstd[r], wa, C, dx_row.target(dxr), dw_t,
                                db_t);
      dx_row.write(dxr);
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    double dw_sum = 0, db_sum = 0;
    for (int t = 0; t < threads; ++t) {
      if (dw) dw_sum += dw_part[size_t(t) * C + c];
      if (db) db_sum += db_part[size_t(t) * C + c];
    }
    if (dw) dw[c] = T(A(dw_sum));
    if (db) db[c] = T(A(db_sum));
  }
}

#define FROST_INSTANTIATE(T)                                                                                                     \
  template void layer_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, double, T*, acc_t<T>*, acc_t<T>*);         \
  template void layer_norm_backward<T>(const T*, const T*, const acc_t<T>*, const acc_t<T>*, const T*, int64_t, int64_t, T*, T*, \
                                       T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)
FROST_INSTANTIATE(bf16)

}  // namespace frost::cpu
