// math.cuh: device math with one name per function for float and double (so templates call
// the f32 routine for f32, never a silent double round trip), and the scalar forms of the
// unary activations with their derivatives, the same formulas as kernels/cpu/elementwise.cpp.
#pragma once
#include <cuda_runtime.h>

#include "kernels/cpu/elementwise.h"

namespace frost::cuda {

__device__ inline float d_exp(float x) { return expf(x); }
__device__ inline double d_exp(double x) { return exp(x); }
__device__ inline float d_log(float x) { return logf(x); }
__device__ inline double d_log(double x) { return log(x); }
__device__ inline float d_sqrt(float x) { return sqrtf(x); }
__device__ inline double d_sqrt(double x) { return sqrt(x); }
__device__ inline float d_tanh(float x) { return tanhf(x); }
__device__ inline double d_tanh(double x) { return tanh(x); }
__device__ inline float d_erf(float x) { return erff(x); }
__device__ inline double d_erf(double x) { return erf(x); }

constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <typename T>
__device__ inline T d_sigmoid(T x) {
  return T(1) / (T(1) + d_exp(-x));
}

// y = f(x)
template <typename T>
__device__ inline T unary_value(cpu::UnaryOp op, T x) {
  using cpu::UnaryOp;
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return d_exp(x);
    case UnaryOp::log: return d_log(x);
    case UnaryOp::sqrt: return d_sqrt(x);
    case UnaryOp::tanh: return d_tanh(x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::sigmoid: return d_sigmoid(x);
    case UnaryOp::gelu_erf: return T(0.5) * x * (T(1) + d_erf(x * T(kInvSqrt2)));
    case UnaryOp::gelu_tanh:
      return T(0.5) * x * (T(1) + d_tanh(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x)));
    case UnaryOp::quick_gelu: return x * d_sigmoid(T(1.702) * x);
  }
  return x;
}

// f'(x), from x or from y = f(x) (cpu::unary_backward_reads_output decides which is passed).
template <typename T>
__device__ inline T unary_derivative(cpu::UnaryOp op, T x, T y) {
  using cpu::UnaryOp;
  switch (op) {
    case UnaryOp::neg: return T(-1);
    case UnaryOp::exp: return y;
    case UnaryOp::log: return T(1) / x;
    case UnaryOp::sqrt: return T(0.5) / y;
    case UnaryOp::tanh: return T(1) - y * y;
    case UnaryOp::relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::sigmoid: return y * (T(1) - y);
    case UnaryOp::gelu_erf: {
      const T cdf = T(0.5) * (T(1) + d_erf(x * T(kInvSqrt2)));
      const T pdf = T(kInvSqrt2Pi) * d_exp(T(-0.5) * x * x);
      return cdf + x * pdf;
    }
    case UnaryOp::gelu_tanh: {
      const T u = T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x);
      const T t = d_tanh(u);
      const T du = T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * x * x);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
    }
    case UnaryOp::quick_gelu: {
      const T s = d_sigmoid(T(1.702) * x);
      return s + T(1.702) * x * s * (T(1) - s);
    }
  }
  return T(0);
}

}  // namespace frost::cuda
