// conv.h: 2-D convolution (NCHW, weight [Cout, Cin/groups, kh, kw], dilation 1) forward and
// backward. General case: per image and group, im2col then GEMM; depthwise (groups == Cin ==
// Cout) runs a direct loop, as ConvNeXt's 7x7 needs.
//   y[b, co] = bias[co] + W_g[co] * col_g(x[b])
//   dcol = W_g^T dy_g  -> col2im -> dx;   dW_g = sum_b dy_g col_g^T;   dbias = sum_{b,hw} dy
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

#include "kernels/host_device.h"

namespace frost::cpu {

struct Conv2dGeometry {
  int64_t batch, in_channels, height, width;
  int64_t out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, groups;
  FROST_HOST_DEVICE int64_t out_height() const { return (height + 2 * pad_h - kernel_h) / stride_h + 1; }
  FROST_HOST_DEVICE int64_t out_width() const { return (width + 2 * pad_w - kernel_w) / stride_w + 1; }
  FROST_HOST_DEVICE bool depthwise() const { return groups == in_channels && groups == out_channels && groups > 1; }
  // Elements of x, y and the weight.
  int64_t input_numel() const { return batch * in_channels * height * width; }
  int64_t output_numel() const { return batch * out_channels * out_height() * out_width(); }
  int64_t weight_numel() const { return out_channels * (in_channels / groups) * kernel_h * kernel_w; }
  // Multiply-adds of the forward, twice: 2 per output element per input tap.
  double flops() const { return 2.0 * double(output_numel()) * double((in_channels / groups) * kernel_h * kernel_w); }
};

#include "kernels/api/conv.inc"

// bf16: f32 arithmetic, in kernels/cpu/bf16.cpp.
template <>
void conv2d_forward<bf16>(const Conv2dGeometry& g, const bf16* x, const bf16* w, const bf16* bias, bf16* y);
template <>
void conv2d_backward_input<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* w, bf16* dx);
template <>
void conv2d_backward_weight<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* x, bf16* dw, bf16* db);

}  // namespace frost::cpu
