// ops_norm.cpp: layer norm over the last dim, and over channels of NCHW (permute, norm, permute
// back, as timm's LayerNorm2d does).
//   dx needs x, mean, rstd and w;  dw needs x, mean, rstd;  db needs nothing.
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/norm.h"

namespace frost {

namespace {

struct LayerNormBackward : Node {
  Tensor x, mean, rstd, weight;  // x as (rows, C)
  Shape x_shape;
  LayerNormBackward(Shape s) : Node("layer_norm"), x_shape(std::move(s)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const int64_t C = x_shape.back();
    const Tensor gc = g.contiguous();
    const int64_t rows = gc.numel() / C;
    Tensor dx, dw, db;
    if (!needs(0) && !needs(1)) return {dx, dw, sum(gc.reshape({rows, C}), {0})};  // bias only
    if (needs(0)) dx = Tensor::empty(x_shape, g.dtype(), g.device());
    if (needs(1)) dw = Tensor::empty({C}, g.dtype(), g.device());
    if (needs(2)) db = Tensor::empty({C}, g.dtype(), g.device());
    dispatch_float(g.dtype(), "layer_norm", [&](auto tag) {
      using T = decltype(tag);
      auto ptr = [](const Tensor& t) { return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr; };
      auto stat = [](const Tensor& t) { return static_cast<const acc_t<T>*>(t.raw_data()); };
      FROST_KERNEL(gc, layer_norm_backward<T>)
      (ptr(gc), ptr(x), stat(mean), stat(rstd), ptr(weight), rows, C, ptr(dx), ptr(dw), ptr(db));
    });
    return {dx, dw, db};
  }
  void release_saved() override { x = mean = rstd = weight = Tensor(); }
};

}  // namespace

Tensor layer_norm(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, double eps) {
  profile::Scope scope("layer_norm", {&x_in, &weight_in, &bias_in});
  const DType dt = promote_float_operands("layer_norm", {&x_in, &weight_in, &bias_in});
  const Tensor x = cast_to(x_in, dt), weight = cast_to(weight_in, dt), bias = cast_to(bias_in, dt);
  if (x.dim() < 1) throw std::invalid_argument("layer_norm: input must have a last dim");
  const int64_t C = x.size(-1);
  for (const Tensor* p : {&weight, &bias})
    if (p->defined() && (p->dim() != 1 || p->size(0) != C))
      throw std::invalid_argument("layer_norm: parameter " + p->describe() + " does not match input " + x.describe());
  const Tensor xc = x.detach().contiguous();
  const int64_t rows = x.numel() / std::max<int64_t>(C, 1);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const DType stat_type = dt == DType::bf16 ? DType::f32 : dt;  // statistics stay f32 under bf16
  Tensor mean_t = Tensor::empty({rows}, stat_type, x.device()), rstd_t = Tensor::empty({rows}, stat_type, x.device());
  const Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
  const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    auto ptr = [](const Tensor& t) { return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr; };
    auto stat = [](const Tensor& t) { return static_cast<acc_t<T>*>(t.raw_data()); };
    FROST_KERNEL(out, layer_norm_forward<T>)(ptr(xc), ptr(wc), ptr(bc), rows, C, eps, ptr(out), stat(mean_t), stat(rstd_t));
  });
  if (auto node = record<LayerNormBackward>({&x, &weight, &bias}, x.shape())) {
    if (node->needs(0) || node->needs(1)) {
      node->x = xc;
      node->mean = mean_t;
      node->rstd = rstd_t;
    }
    if (node->needs(0)) node->weight = wc;
    attach(out, node);
  }
  return out;
}

Tensor layer_norm_channels_first(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  if (x.dim() != 4) throw std::invalid_argument("layer_norm_channels_first: expected (B, C, H, W), got " + x.describe());
  return layer_norm(x.permute({0, 2, 3, 1}), weight, bias, eps).permute({0, 3, 1, 2});
}

}  // namespace frost
