// ops_conv.cpp: conv2d over NCHW.
//   dx = conv_transpose(g, W)   saves W, only if x needs grad
//   dW = sum_b g col(x)^T       saves x, only if W needs grad (a frozen conv keeps no activation)
//   db = sum_{b,h,w} g          saves nothing
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/conv.h"

namespace frost {

namespace {

struct Conv2dBackward : Node {
  cpu::Conv2dGeometry geometry;
  Tensor x, weight;
  explicit Conv2dBackward(const cpu::Conv2dGeometry& g) : Node("conv2d"), geometry(g) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const Tensor gc = g.contiguous();
    const cpu::Conv2dGeometry& G = geometry;
    Tensor dx, dw, db;
    if (needs(0)) dx = Tensor::empty({G.batch, G.in_channels, G.height, G.width}, g.dtype(), g.device());
    if (needs(1)) dw = Tensor::empty({G.out_channels, G.in_channels / G.groups, G.kernel_h, G.kernel_w}, g.dtype(), g.device());
    if (needs(2)) db = Tensor::empty({G.out_channels}, g.dtype(), g.device());
    dispatch_float(g.dtype(), "conv2d", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = static_cast<const T*>(gc.raw_data());
      if (dx.defined()) FROST_KERNEL(gc, conv2d_backward_input<T>)
      (G, pg, static_cast<const T*>(weight.raw_data()), static_cast<T*>(dx.raw_data()));
      if (dw.defined() || db.defined()) FROST_KERNEL(gc, conv2d_backward_weight<T>)
      (G, pg, x.defined() ? static_cast<const T*>(x.raw_data()) : nullptr,
       dw.defined() ? static_cast<T*>(dw.raw_data()) : nullptr, db.defined() ? static_cast<T*>(db.raw_data()) : nullptr);
    });
    return {dx, dw, db};
  }
  double backward_flops() const override { return geometry.flops() * (double(needs(0)) + double(needs(1))); }
  void release_saved() override { x = weight = Tensor(); }
};

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, const Conv2dOptions& o) {
  profile::Scope scope("conv2d", {&x_in, &weight_in, &bias_in});
  const DType dt = promote_float_operands("conv2d", {&x_in, &weight_in, &bias_in});  // mixed precision: bf16
  const Tensor x = cast_to(x_in, dt), weight = cast_to(weight_in, dt), bias = cast_to(bias_in, dt);
  if (x.dim() != 4 || weight.dim() != 4)
    throw std::invalid_argument("conv2d: expected input (B, C, H, W) and weight (Cout, Cin/groups, kh, kw), got " + x.describe() +
                                " and " + weight.describe());
  if (o.groups < 1 || o.stride_h < 1 || o.stride_w < 1 || o.pad_h < 0 || o.pad_w < 0)
    throw std::invalid_argument("conv2d: stride and groups must be >= 1 and padding >= 0");
  cpu::Conv2dGeometry g{x.size(0),      x.size(1),  x.size(2),  x.size(3), weight.size(0), weight.size(2),
                        weight.size(3), o.stride_h, o.stride_w, o.pad_h,   o.pad_w,        o.groups};
  if (g.in_channels % g.groups || g.out_channels % g.groups || weight.size(1) != g.in_channels / g.groups)
    throw std::invalid_argument("conv2d: weight " + weight.describe() + " does not fit input " + x.describe() +
                                " with groups=" + std::to_string(g.groups));
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != g.out_channels))
    throw std::invalid_argument("conv2d: bias " + bias.describe() + " does not match weight " + weight.describe());
  if (g.out_height() < 1 || g.out_width() < 1)
    throw std::invalid_argument("conv2d: kernel " + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) +
                                " is larger than padded input " + x.describe());
  scope.add_flops(g.flops());
  const Tensor xc = x.detach().contiguous(), wc = weight.detach().contiguous();
  const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = Tensor::empty({g.batch, g.out_channels, g.out_height(), g.out_width()}, x.dtype(), x.device());
  dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, conv2d_forward<T>)
    (g, static_cast<const T*>(xc.raw_data()), static_cast<const T*>(wc.raw_data()),
     bc.defined() ? static_cast<const T*>(bc.raw_data()) : nullptr, static_cast<T*>(out.raw_data()));
  });
  if (auto node = record<Conv2dBackward>({&x, &weight, &bias}, g)) {
    if (node->needs(0)) node->weight = wc;
    if (node->needs(1)) node->x = xc;
    attach(out, node);
  }
  return out;
}

}  // namespace frost
