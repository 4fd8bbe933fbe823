// unary_math.h: the unary activations and their derivatives, written once for every backend.
// M supplies the transcendental functions (exp, log, sqrt, tanh, gelu_tanh: the tanh inside the
// tanh-GELU, and normal_cdf(x, pdf): Phi(x), with phi(x) stored through pdf when it is not null,
// so that GELU's derivative may share one exp between them): <cmath> for the reference (kernels/cpu/elementwise.cpp), the CPU's
// vectorisable forms (kernels/cpu/vmath.h), or CUDA's (kernels/cuda/math.cuh).
//   GELU (erf):  y = x/2 (1 + erf(x/sqrt2)),  y' = Phi(x) + x phi(x)
//   GELU (tanh): u = sqrt(2/pi)(x + 0.044715 x^3),  y = x/2 (1 + tanh u),
//                y' = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi)(1 + 3*0.044715 x^2)
//   quick_gelu:  y = x sigmoid(1.702 x),  y' = s + 1.702 x s (1 - s)
#pragma once
#include "kernels/cpu/elementwise.h"
#include "kernels/host_device.h"

// Host-device templates whose M is device-only (or host-only) on one side: no call check.
#if defined(__CUDACC__)
#define FROST_NO_EXEC_CHECK _Pragma("nv_exec_check_disable")
#else
#define FROST_NO_EXEC_CHECK
#endif

namespace frost::unary {

using cpu::UnaryOp;

constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

// Phi(x) = (1 + erf(x / sqrt2)) / 2 and phi(x) = exp(-x^2 / 2) / sqrt(2 pi) from M's erf and exp:
// normal_cdf for an M that has an accurate erf.
FROST_NO_EXEC_CHECK
template <typename M, typename T>
FROST_HOST_DEVICE inline T normal_cdf_via_erf(T x, T* pdf) {
  if (pdf) *pdf = T(kInvSqrt2Pi) * M::exp(T(-0.5) * x * x);
  return T(0.5) * (T(1) + M::erf(x * T(kInvSqrt2)));
}

FROST_NO_EXEC_CHECK
template <typename M, typename T>
FROST_HOST_DEVICE inline T sigmoid(T x) {
  return T(1) / (T(1) + M::exp(-x));
}

// y = f(x)
FROST_NO_EXEC_CHECK
template <typename M, typename T>
FROST_HOST_DEVICE inline T value(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::neg:
      return -x;
    case UnaryOp::exp:
      return M::exp(x);
    case UnaryOp::log:
      return M::log(x);
    case UnaryOp::sqrt:
      return M::sqrt(x);
    case UnaryOp::tanh:
      return M::tanh(x);
    case UnaryOp::relu:
      return x > T(0) ? x : T(0);
    case UnaryOp::sigmoid:
      return sigmoid<M>(x);
    case UnaryOp::gelu_erf:
      return x * M::normal_cdf(x, static_cast<T*>(nullptr));
    case UnaryOp::gelu_tanh:
      return T(0.5) * x * (T(1) + M::gelu_tanh(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x)));
    case UnaryOp::quick_gelu:
      return x * sigmoid<M>(T(1.702) * x);
  }
  return x;
}

// f'(x), from x, or from y = f(x) where cpu::unary_backward_reads_output(op) says so.
FROST_NO_EXEC_CHECK
template <typename M, typename T>
FROST_HOST_DEVICE inline T derivative(UnaryOp op, T x, T y) {
  switch (op) {
    case UnaryOp::neg:
      return T(-1);
    case UnaryOp::exp:
      return y;
    case UnaryOp::log:
      return T(1) / x;
    case UnaryOp::sqrt:
      return T(0.5) / y;
    case UnaryOp::tanh:
      return T(1) - y * y;
    case UnaryOp::relu:
      return x > T(0) ? T(1) : T(0);
    case UnaryOp::sigmoid:
      return y * (T(1) - y);
    case UnaryOp::gelu_erf: {
      T pdf = T(0);
      const T cdf = M::normal_cdf(x, &pdf);
      return cdf + x * pdf;
    }
    case UnaryOp::gelu_tanh: {
      const T u = T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x);
      const T t = M::gelu_tanh(u);
      const T du = T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * x * x);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
    }
    case UnaryOp::quick_gelu: {
      const T s = sigmoid<M>(T(1.702) * x);
      return s + T(1.702) * x * s * (T(1) - s);
    }
  }
  return T(0);
}

}  // namespace frost::unary
