// conv.h: 2-D convolution (NCHW, weight [Cout, Cin/groups, kh, kw], dilation 1) forward and
// backward. General case: per image and group, im2col then GEMM; depthwise (groups == Cin ==
// Cout) runs a direct loop, as ConvNeXt's 7x7 needs.
//   y[b, co] = bias[co] + W_g[co] * col_g(x[b])
//   dcol = W_g^T dy_g  -> col2im -> dx;   dW_g = sum_b dy_g col_g^T;   dbias = sum_{b,hw} dy
#pragma once
#include <cstdint>

#include "kernels/host_device.h"

namespace frost::cpu {

struct Conv2dGeometry {
  int64_t batch, in_channels, height, width;
  int64_t out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, groups;
  FROST_HOST_DEVICE int64_t out_height() const { return (height + 2 * pad_h - kernel_h) / stride_h + 1; }
  FROST_HOST_DEVICE int64_t out_width() const { return (width + 2 * pad_w - kernel_w) / stride_w + 1; }
  FROST_HOST_DEVICE bool depthwise() const { return groups == in_channels && groups == out_channels && groups > 1; }
};

template <typename T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv2d_backward_input(const Conv2dGeometry& g, const T* dy, const T* w, T* dx);
// dw and db may be null; both are overwritten.
template <typename T>
void conv2d_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw, T* db);

}  // namespace frost::cpu
