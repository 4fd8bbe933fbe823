// softmax.cpp: row-wise softmax family. Each row: max, then exp and sum in one vectorised pass
// (exp_of is branch-free for f32), accumulation in double.
#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/vmath.h"

namespace frost::cpu {

namespace {

// NaN inputs need no special case here: exp(NaN - m) makes the row's sum, and so the row, NaN.
template <typename T>
FROST_CLONES T row_max(const T* x, int64_t C) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t c = 0; c < C; ++c) m = x[c] > m ? x[c] : m;
  return m;
}

// y = exp(x - m); returns sum y accumulated in double. Two simple loops: each vectorises on its
// own, where one fused loop with a double reduction did not. y may equal x (in place).
template <typename T>
FROST_CLONES double exp_shifted(const T* x, T m, T* y, int64_t C) {
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) y[c] = exp_of(T(x[c] - m));
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < C; ++c) sum += double(y[c]);
  return sum;
}

// sum exp(x - m) without storing it, in blocks through a stack buffer.
template <typename T>
double exp_shifted_sum(const T* x, T m, int64_t C) {
  constexpr int64_t kBlock = 512;
  T block[kBlock];
  double sum = 0;
  for (int64_t c = 0; c < C; c += kBlock) sum += exp_shifted<T>(x + c, m, block, std::min(kBlock, C - c));
  return sum;
}

// log sum exp(x - max) + max, in double
template <typename T>
inline double row_lse(const T* x, int64_t C) {
  const T m = row_max(x, C);
  if (std::isinf(m)) return double(m);  // all -inf (fully masked) or +inf
  return std::log(exp_shifted_sum<T>(x, m, C)) + double(m);
}

inline bool big(int64_t rows, int64_t C) { return rows > 1 && rows * C > (1 << 14); }

}  // namespace

template <typename T>
void softmax_forward(const T* x, int64_t rows, int64_t C, T* y) {
#pragma omp parallel for schedule(static) if (big(rows, C))
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    const T m = row_max(xr, C);
    if (std::isinf(m) && m < 0) {  // a fully masked row: define it as zeros, not NaN
      for (int64_t c = 0; c < C; ++c) yr[c] = T(0);
      continue;
    }
    const T inv = T(1.0 / exp_shifted<T>(xr, m, yr, C));
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] *= inv;
  }
}

template <typename T>
void softmax_backward(const T* y, const T* dy, int64_t rows, int64_t C, T* dx) {
#pragma omp parallel for schedule(static) if (big(rows, C))
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * C;
    const T* dyr = dy + r * C;
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < C; ++c) dot += double(dyr[c]) * double(yr[c]);
    const T d = T(dot);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dx[r * C + c] = yr[c] * (dyr[c] - d);
  }
}

template <typename T>
void log_softmax_forward(const T* x, int64_t rows, int64_t C, T* y) {
#pragma omp parallel for schedule(static) if (big(rows, C))
  for (int64_t r = 0; r < rows; ++r) {
    const double lse = row_lse(x + r * C, C);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = T(double(x[r * C + c]) - lse);
  }
}

template <typename T>
void log_softmax_backward(const T* y, const T* dy, int64_t rows, int64_t C, T* dx) {
#pragma omp parallel for schedule(static) if (big(rows, C))
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; ++c) sum += double(dy[r * C + c]);
    const T s = T(sum);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dx[r * C + c] = dy[r * C + c] - exp_of(y[r * C + c]) * s;
  }
}

template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* labels, const T* soft_targets, double smoothing, int64_t rows,
                           int64_t C, T* loss, double* lse) {
#pragma omp parallel for schedule(static) if (big(rows, C))
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = logits + r * C;
    const double l = row_lse(xr, C);
    double target_dot = 0;  // sum_c q_c x_c
    if (labels) {
      double x_sum = 0;
      for (int64_t c = 0; c < C; ++c) x_sum += double(xr[c]);
      target_dot = (1.0 - smoothing) * double(xr[labels[r]]) + smoothing / double(C) * x_sum;
    } else {
      for (int64_t c = 0; c < C; ++c) target_dot += double(soft_targets[r * C + c]) * double(xr[c]);
    }
    double q_sum = 1.0;  // sum_c q_c: 1 for labels; whatever was given for soft targets
    if (!labels) {
      q_sum = 0;
      for (int64_t c = 0; c < C; ++c) q_sum += double(soft_targets[r * C + c]);
    }
    lse[r] = l;
    loss[r] = T(q_sum * l - target_dot);
  }
}

template <typename T>
void cross_entropy_backward(const T* logits, const double* lse, const int64_t* labels, const T* soft_targets, double smoothing,
                            const T* row_grad, int64_t rows, int64_t C, T* dlogits) {
#pragma omp parallel for schedule(static) if (big(rows, C))
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = logits + r * C;
    T* dr = dlogits + r * C;
    const T g = row_grad[r];
    double q_sum = 1.0;
    if (!labels) {
      q_sum = 0;
      for (int64_t c = 0; c < C; ++c) q_sum += double(soft_targets[r * C + c]);
    }
    for (int64_t c = 0; c < C; ++c) {
      double q;
      if (labels)
        q = smoothing / double(C) + (c == labels[r] ? 1.0 - smoothing : 0.0);
      else
        q = double(soft_targets[r * C + c]);
      dr[c] = T(double(g) * (q_sum * std::exp(double(xr[c]) - lse[r]) - q));
    }
  }
}

#define FROST_INSTANTIATE(T)                                                                                                     \
  template void softmax_forward<T>(const T*, int64_t, int64_t, T*);                                                              \
  template void softmax_backward<T>(const T*, const T*, int64_t, int64_t, T*);                                                   \
  template void log_softmax_forward<T>(const T*, int64_t, int64_t, T*);                                                          \
  template void log_softmax_backward<T>(const T*, const T*, int64_t, int64_t, T*);                                               \
  template void cross_entropy_forward<T>(const T*, const int64_t*, const T*, double, int64_t, int64_t, T*, double*);             \
  template void cross_entropy_backward<T>(const T*, const double*, const int64_t*, const T*, double, const T*, int64_t, int64_t, \
                                          T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cpu
