// optim.h: the SGD and AdamW element updates and the gradient norm's sum of squares, shared formula for CPU and CUDA (the CUDA
// kernel is the same expression per element). A masked entry (mask[j] == 0) is skipped entirely: its weight, momentum and moments
// stay bit-identical. Arithmetic in double per element.
//   SGD:   d = g + wd w;  b = first ? d : mu b + (1 - dampening) d;  d = nesterov ? d + mu b : b;
//          w -= lr d
//   AdamW: m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//          w = w (1 - lr wd) - lr (m / bc1) / (sqrt(v / bc2) + eps)
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"

namespace frost::cpu {

struct SGDUpdate {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, first;  // first: the momentum buffer starts as d
};

struct AdamWUpdate {
  double lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2;
};

template <typename T>
FROST_HOST_DEVICE inline void sgd_element(const SGDUpdate& u, T& w, T grad, T* buf) {
  double d = double(grad) + u.weight_decay * double(w);
  if (buf) {
    const double b = u.first ? d : u.momentum * double(*buf) + (1.0 - u.dampening) * d;
    *buf = T(b);
    d = u.nesterov ? d + u.momentum * b : b;
  }
  w = T(double(w) - u.lr * d);
}

template <typename T>
FROST_HOST_DEVICE inline void adamw_element(const AdamWUpdate& u, T& w, T grad, T& m, T& v) {
  const double g = double(grad);
  const double mj = u.beta1 * double(m) + (1.0 - u.beta1) * g;
  const double vj = u.beta2 * double(v) + (1.0 - u.beta2) * g * g;
  m = T(mj);
  v = T(vj);
  const double wj = double(w) * (1.0 - u.lr * u.weight_decay);
  w = T(wj - u.lr * (mj / u.bias_correction1) / (::sqrt(vj / u.bias_correction2) + u.eps));
}

constexpr int kSquarePartials = 256;  // the partial sums of sum_squares (kernels/api/optim.inc)

#include "kernels/api/optim.inc"

}  // namespace frost::cpu
