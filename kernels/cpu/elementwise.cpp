// elementwise.cpp: unary activations (their formulas, forward and derivative side by side, are in
// kernels/unary_math.h, shared with CUDA) as vectorised loops, and broadcasting binary arithmetic.
#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/cpu/vmath.h"
#include "kernels/unary_math.h"

namespace frost::cpu {

namespace {

// The transcendental functions of kernels/unary_math.h: <cmath> for the reference, and the
// vectorisable forms for the fast loops (tanh through exp, |x| clamped where tanh is +-1 in T).
struct StdMath {
  static double exp(double x) { return std::exp(x); }
  static double log(double x) { return std::log(x); }
  static double sqrt(double x) { return std::sqrt(x); }
  static double tanh(double x) { return std::tanh(x); }
  static double gelu_tanh(double x) { return std::tanh(x); }
  static double erf(double x) { return std::erf(x); }
  static double normal_cdf(double x, double* pdf) { return unary::normal_cdf_via_erf<StdMath>(x, pdf); }
};

struct FastMath {
  template <typename T>
  static T exp(T x) {
    return exp_of(x);
  }
  template <typename T>
  static T log(T x) {
    return std::log(x);
  }
  template <typename T>
  static T sqrt(T x) {
    return std::sqrt(x);
  }
  template <typename T>
  static T tanh(T x) {
    return std::tanh(x);
  }
  template <typename T>
  static T gelu_tanh(T x) {
    const T c = x > T(15) ? T(15) : (x < T(-15) ? T(-15) : x);
    const T e = exp_of(T(2) * c);
    return (e - T(1)) / (e + T(1));
  }
  template <typename T>
  static T normal_cdf(T x, T* pdf) {
    return normal_cdf_of(x, pdf);
  }
};

template <typename T>
inline T forward_one(UnaryOp op, T x) {
  return unary::value<FastMath>(op, x);
}

template <typename T>
inline T derivative_one(UnaryOp op, T x, T y) {
  return unary::derivative<FastMath>(op, x, y);
}

// One loop per op so that the switch is hoisted and each loop vectorises; cloned for wider ISAs.
#define FROST_FOR_EACH_UNARY(X) X(neg) X(exp) X(log) X(sqrt) X(tanh) X(relu) X(sigmoid) X(gelu_erf) X(gelu_tanh) X(quick_gelu)

template <typename T>
FROST_CLONES void forward_loop(UnaryOp op, const T* x, T* y, int64_t n) {
#define FROST_UNARY_CASE(OP)                                                                   \
  case UnaryOp::OP:                                                                            \
    _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) y[i] = forward_one(UnaryOp::OP, x[i]); \
    break;
  switch (op) { FROST_FOR_EACH_UNARY(FROST_UNARY_CASE) }
#undef FROST_UNARY_CASE
}

template <typename T>
FROST_CLONES void backward_loop(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
#define FROST_UNARY_CASE(OP)                                                                                       \
  case UnaryOp::OP:                                                                                                \
    if (unary_backward_reads_output(UnaryOp::OP)) {                                                                \
      _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative_one(UnaryOp::OP, T(0), y[i]); \
    } else {                                                                                                       \
      _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative_one(UnaryOp::OP, x[i], T(0)); \
    }                                                                                                              \
    break;
  switch (op) { FROST_FOR_EACH_UNARY(FROST_UNARY_CASE) }
#undef FROST_UNARY_CASE
}

#undef FROST_FOR_EACH_UNARY

constexpr int64_t kChunk = 1 << 14;  // elements per parallel chunk
constexpr int64_t kTile = 1024;      // bf16: elements widened to f32 per step, on the stack

// bf16 storage, f32 arithmetic: a chunk is widened tile by tile, run through the f32 loop and
// rounded once where it is stored.
void widen(const bf16* in, int64_t n, float* out) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = float(in[i]);
}
void round_into(const float* in, int64_t n, bf16* out) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = bf16(in[i]);
}

template <typename T>
void forward_chunk(UnaryOp op, const T* x, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, bf16>) {
    float xf[kTile], yf[kTile];
    for (int64_t s = 0; s < n; s += kTile) {
      const int64_t m = std::min(kTile, n - s);
      widen(x + s, m, xf);
      forward_loop<float>(op, xf, yf, m);
      round_into(yf, m, y + s);
    }
  } else {
    forward_loop(op, x, y, n);
  }
}

// x or y is null (the one the op's derivative does not read).
template <typename T>
void backward_chunk(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  if constexpr (std::is_same_v<T, bf16>) {
    float in[kTile], dyf[kTile], dxf[kTile];
    for (int64_t s = 0; s < n; s += kTile) {
      const int64_t m = std::min(kTile, n - s);
      widen((x ? x : y) + s, m, in);
      widen(dy + s, m, dyf);
      backward_loop<float>(op, x ? in : nullptr, x ? nullptr : in, dyf, dxf, m);
      round_into(dxf, m, dx + s);
    }
  } else {
    backward_loop(op, x, y, dy, dx, n);
  }
}

}  // namespace

bool unary_backward_reads_output(UnaryOp op) {
  return op == UnaryOp::exp || op == UnaryOp::sqrt || op == UnaryOp::tanh || op == UnaryOp::sigmoid;
}

double unary_reference(UnaryOp op, double x) { return unary::value<StdMath>(op, x); }

template <typename T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 4 * kChunk)
  for (int64_t start = 0; start < n; start += kChunk) forward_chunk(op, x + start, y + start, std::min(kChunk, n - start));
}

template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  const bool from_y = unary_backward_reads_output(op);
#pragma omp parallel for schedule(static) if (n > 4 * kChunk)
  for (int64_t start = 0; start < n; start += kChunk)
    backward_chunk(op, from_y ? nullptr : x + start, from_y ? y + start : nullptr, dy + start, dx + start,
                   std::min(kChunk, n - start));
}

template <typename T>
void binary_forward(BinaryOp op, const Dims& shape, const T* a, const Dims& a_strides, const T* b, const Dims& b_strides,
                    T* out) {
  Dims out_strides(shape.size());
  int64_t s = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    out_strides[d] = s;
    s *= shape[d];
  }
  auto layout = merge_dims<3>(shape, {out_strides, a_strides, b_strides});
  for_each_row(layout, [&](int64_t, const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
    T* o = out + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    const int64_t sa = st[1], sb = st[2];
    using A = acc_t<T>;  // bf16 operands: f32 arithmetic, one rounding at the store
    switch (op) {
      case BinaryOp::add:
        for (int64_t i = 0; i < n; ++i) o[i] = T(A(pa[i * sa]) + A(pb[i * sb]));
        break;
      case BinaryOp::sub:
        for (int64_t i = 0; i < n; ++i) o[i] = T(A(pa[i * sa]) - A(pb[i * sb]));
        break;
      case BinaryOp::mul:
        for (int64_t i = 0; i < n; ++i) o[i] = T(A(pa[i * sa]) * A(pb[i * sb]));
        break;
      case BinaryOp::div:
        for (int64_t i = 0; i < n; ++i) o[i] = T(A(pa[i * sa]) / A(pb[i * sb]));
        break;
    }
  });
}

template <typename T>
void scale_shift(const T* x, T* out, int64_t n, acc_t<T> scale, acc_t<T> shift) {
#pragma omp parallel for simd schedule(static) if (n > 4 * kChunk)
  for (int64_t i = 0; i < n; ++i) out[i] = T(acc_t<T>(x[i]) * scale + shift);
}

#define FROST_INSTANTIATE(T)                                                                                \
  template void unary_forward<T>(UnaryOp, const T*, T*, int64_t);                                           \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t);                      \
  template void binary_forward<T>(BinaryOp, const Dims&, const T*, const Dims&, const T*, const Dims&, T*); \
  template void scale_shift<T>(const T*, T*, int64_t, acc_t<T>, acc_t<T>);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)
FROST_INSTANTIATE(bf16)
#undef FROST_INSTANTIATE

}  // namespace frost::cpu
