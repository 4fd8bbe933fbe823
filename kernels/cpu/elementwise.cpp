// elementwise.cpp: unary activations (forward and backward side by side) and broadcasting binary
// arithmetic. GELU (erf): y = x/2 (1 + erf(x/sqrt2)), dy/dx = Phi(x) + x phi(x).
// GELU (tanh): u = sqrt(2/pi)(x + 0.044715 x^3), y = x/2 (1 + tanh u),
//   dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi)(1 + 3*0.044715 x^2).
// quick_gelu: y = x sigmoid(1.702 x), dy/dx = s + 1.702 x s (1 - s).
#include "kernels/cpu/elementwise.h"

#include <cmath>

#include "kernels/cpu/vmath.h"

namespace frost::cpu {

namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <typename T>
inline T sigmoid_of(T x) {
  return T(1) / (T(1) + exp_of(-x));
}
template <typename T>
inline T tanh_of(T x) {  // via exp so that it vectorises; |x| clamped where tanh is +-1 in T
  T c = x > T(15) ? T(15) : (x < T(-15) ? T(-15) : x);
  T e = exp_of(T(2) * c);
  return (e - T(1)) / (e + T(1));
}

template <typename T>
inline T forward_one(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return exp_of(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::sigmoid: return sigmoid_of(x);
    case UnaryOp::gelu_erf: return T(0.5) * x * (T(1) + erf_of(x * T(kInvSqrt2)));
    case UnaryOp::gelu_tanh:
      return T(0.5) * x * (T(1) + tanh_of(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x)));
    case UnaryOp::quick_gelu: return x * sigmoid_of(T(1.702) * x);
  }
  return x;
}

// Derivative from x (or y where unary_backward_reads_output says so).
template <typename T>
inline T derivative_one(UnaryOp op, T x, T y) {
  switch (op) {
    case UnaryOp::neg: return T(-1);
    case UnaryOp::exp: return y;
    case UnaryOp::log: return T(1) / x;
    case UnaryOp::sqrt: return T(0.5) / y;
    case UnaryOp::tanh: return T(1) - y * y;
    case UnaryOp::relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::sigmoid: return y * (T(1) - y);
    case UnaryOp::gelu_erf: {
      T cdf = T(0.5) * (T(1) + erf_of(x * T(kInvSqrt2)));
      T pdf = T(kInvSqrt2Pi) * exp_of(T(-0.5) * x * x);
      return cdf + x * pdf;
    }
    case UnaryOp::gelu_tanh: {
      T u = T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x);
      T t = tanh_of(u);
      T du = T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * x * x);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
    }
    case UnaryOp::quick_gelu: {
      T s = sigmoid_of(T(1.702) * x);
      return s + T(1.702) * x * s * (T(1) - s);
    }
  }
  return T(0);
}

// One loop per op so that the switch is hoisted and each loop vectorises; cloned for wider ISAs.
#define FROST_FOR_EACH_UNARY(X) \
  X(neg) X(exp) X(log) X(sqrt) X(tanh) X(relu) X(sigmoid) X(gelu_erf) X(gelu_tanh) X(quick_gelu)

template <typename T>
FROST_CLONES void forward_loop(UnaryOp op, const T* x, T* y, int64_t n) {
#define FROST_UNARY_CASE(OP)                                   \
  case UnaryOp::OP:                                            \
    _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) y[i] = \
        forward_one(UnaryOp::OP, x[i]);                        \
    break;
  switch (op) { FROST_FOR_EACH_UNARY(FROST_UNARY_CASE) }
#undef FROST_UNARY_CASE
}

template <typename T>
FROST_CLONES void backward_loop(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
#define FROST_UNARY_CASE(OP)                                                              \
  case UnaryOp::OP:                                                                       \
    if (unary_backward_reads_output(UnaryOp::OP)) {                                       \
      _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) dx[i] =                         \
          dy[i] * derivative_one(UnaryOp::OP, T(0), y[i]);                                \
    } else {                                                                              \
      _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) dx[i] =                         \
          dy[i] * derivative_one(UnaryOp::OP, x[i], T(0));                                \
    }                                                                                     \
    break;
  switch (op) { FROST_FOR_EACH_UNARY(FROST_UNARY_CASE) }
#undef FROST_UNARY_CASE
}

#undef FROST_FOR_EACH_UNARY

constexpr int64_t kChunk = 1 << 14;  // elements per parallel chunk

}  // namespace

bool unary_backward_reads_output(UnaryOp op) {
  return op == UnaryOp::exp || op == UnaryOp::sqrt || op == UnaryOp::tanh ||
         op == UnaryOp::sigmoid;
}

double unary_reference(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::relu: return x > 0 ? x : 0;
    case UnaryOp::sigmoid: return 1 / (1 + std::exp(-x));
    case UnaryOp::gelu_erf: return 0.5 * x * (1 + std::erf(x * kInvSqrt2));
    case UnaryOp::gelu_tanh:
      return 0.5 * x * (1 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
    case UnaryOp::quick_gelu: return x / (1 + std::exp(-1.702 * x));
  }
  return x;
}

template <typename T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 4 * kChunk)
  for (int64_t start = 0; start < n; start += kChunk)
    forward_loop(op, x + start, y + start, std::min(kChunk, n - start));
}

template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  const bool from_y = unary_backward_reads_output(op);
#pragma omp parallel for schedule(static) if (n > 4 * kChunk)
  for (int64_t start = 0; start < n; start += kChunk)
    backward_loop(op, from_y ? nullptr : x + start, from_y ? y + start : nullptr, dy + start,
                  dx + start, std::min(kChunk, n - start));
}

template <typename T>
void binary_forward(BinaryOp op, const Dims& shape, const T* a, const Dims& a_strides, const T* b,
                    const Dims& b_strides, T* out) {
  Dims out_strides(shape.size());
  int64_t s = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    out_strides[d] = s;
    s *= shape[d];
  }
  auto layout = merge_dims<3>(shape, {out_strides, a_strides, b_strides});
  for_each_row(layout, [&](int64_t, const std::array<int64_t, 3>& off, int64_t n,
                           const std::array<int64_t, 3>& st) {
    T* o = out + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    const int64_t sa = st[1], sb = st[2];
    switch (op) {
      case BinaryOp::add:
        for (int64_t i = 0; i < n; ++i) o[i] = pa[i * sa] + pb[i * sb];
        break;
      case BinaryOp::sub:
        for (int64_t i = 0; i < n; ++i) o[i] = pa[i * sa] - pb[i * sb];
        break;
      case BinaryOp::mul:
        for (int64_t i = 0; i < n; ++i) o[i] = pa[i * sa] * pb[i * sb];
        break;
      case BinaryOp::div:
        for (int64_t i = 0; i < n; ++i) o[i] = pa[i * sa] / pb[i * sb];
        break;
    }
  });
}

template <typename T>
void scale_shift(const T* x, T* out, int64_t n, T scale, T shift) {
#pragma omp parallel for simd schedule(static) if (n > 4 * kChunk)
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale + shift;
}

#define FROST_INSTANTIATE(T)                                                                    \
  template void unary_forward<T>(UnaryOp, const T*, T*, int64_t);                               \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t);          \
  template void binary_forward<T>(BinaryOp, const Dims&, const T*, const Dims&, const T*,       \
                                  const Dims&, T*);                                             \
  template void scale_shift<T>(const T*, T*, int64_t, T, T);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)
#undef FROST_INSTANTIATE

}  // namespace frost::cpu
