// math.cuh: device math with one name per function for float and double (so templates call
// the f32 routine for f32, never a silent double round trip), and the unary activations of
// kernels/unary_math.h (the formulas the CPU kernels use) on top of it.
#pragma once
#include <cuda_runtime.h>

#include "kernels/cpu/elementwise.h"
#include "kernels/unary_math.h"

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

// The transcendental functions of kernels/unary_math.h on the device.
struct DeviceMath {
  template <typename T>
  __device__ static T exp(T x) {
    return d_exp(x);
  }
  template <typename T>
  __device__ static T log(T x) {
    return d_log(x);
  }
  template <typename T>
  __device__ static T sqrt(T x) {
    return d_sqrt(x);
  }
  template <typename T>
  __device__ static T tanh(T x) {
    return d_tanh(x);
  }
  template <typename T>
  __device__ static T gelu_tanh(T x) {
    return d_tanh(x);
  }
  template <typename T>
  __device__ static T erf(T x) {
    return d_erf(x);
  }
  template <typename T>
  __device__ static T normal_cdf(T x, T* pdf) {
    return unary::normal_cdf_via_erf<DeviceMath>(x, pdf);
  }
};

template <typename T>
__device__ inline T unary_value(cpu::UnaryOp op, T x) {
  return unary::value<DeviceMath>(op, x);
}

template <typename T>
__device__ inline T unary_derivative(cpu::UnaryOp op, T x, T y) {
  return unary::derivative<DeviceMath>(op, x, y);
}

}  // namespace frost::cuda
