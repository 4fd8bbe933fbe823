// ops_low_rank.cpp: a linear layer with a low-rank update in one op (LoRA's hot path),
//   y = x W^T + b + s (x A^T) B^T,   A (r, in), B (out, r), h = x A^T (R, r)
// computed as three GEMMs into one output (the bias rows, then x W^T, then s h B^T accumulate
// onto them), so the update costs no extra pass over y: no scaled copy, no sum of two outputs.
//   dh = s g B           (R, r)     when A or x needs a gradient
//   dB = s g^T h         (out, r)   saves h
//   dA = dh^T x          (r, in)    saves x
//   dx = g W + dh A      (R, in)    saves W, A (one GEMM accumulating onto the other)
//   dW = g^T x, db = sum_rows g     (a frozen base, LoRA's usual case, costs neither)
// Equal, up to rounding, to add(linear(x, W, b), mul(linear(linear(x, A), B), s)).
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/gemm_call.h"
#include "engine/ops.h"
#include "engine/profile.h"

namespace frost {

namespace {

struct LowRankLinearBackward : Node {
  Tensor x, h, weight, a, b;  // x (R, in), h (R, r)
  Shape x_shape;
  double scale;
  LowRankLinearBackward(Shape xs, double s) : Node("linear_low_rank"), x_shape(std::move(xs)), scale(s) {}
  std::vector<Tensor> backward(const Tensor& g_in) override {
    const Tensor g = g_in.reshape({-1, g_in.size(-1)}).contiguous();  // (R, out)
    const int64_t R = g.size(0), out = g.size(1), in = x_shape.back(), r = b.size(1);
    Tensor gx, gw, gb, ga, gbb, dh;
    if (needs(0) || needs(3)) {
      dh = Tensor::empty({R, r}, g.dtype(), g.device());
      gemm_into(dh, R, r, out, scale, plain(g), plain(b), 0.0);
    }
    if (needs(4)) {
      gbb = Tensor::empty({out, r}, g.dtype(), g.device());
      gemm_into(gbb, out, r, R, scale, transposed(g), plain(h), 0.0);
    }
    if (needs(3)) {
      ga = Tensor::empty({r, in}, g.dtype(), g.device());
      gemm_into(ga, r, in, R, 1.0, transposed(dh), plain(x), 0.0);
    }
    if (needs(0)) {
      gx = Tensor::empty({R, in}, g.dtype(), g.device());
      gemm_into(gx, R, in, out, 1.0, plain(g), plain(weight), 0.0);
      gemm_into(gx, R, in, r, 1.0, plain(dh), plain(a), 1.0);
      gx = gx.reshape(x_shape);
    }
    if (needs(1)) {
      gw = Tensor::empty({out, in}, g.dtype(), g.device());
      gemm_into(gw, out, in, R, 1.0, transposed(g), plain(x), 0.0);
    }
    if (needs(2)) gb = sum(g, {0});
    return {gx, gw, gb, ga, gbb};
  }
  double backward_flops() const override {
    const double R = double(shape_numel(x_shape)) / double(x_shape.back()), in = double(x_shape.back());
    const double out = double(shape_numel(output_shape)) / R, r = double(b.defined() ? b.size(1) : 0);
    const double low = (needs(0) || needs(3) ? R * out * r : 0) + (needs(4) ? R * out * r : 0) + (needs(3) ? R * r * in : 0) +
                       (needs(0) ? R * out * in + R * r * in : 0);
    return 2.0 * (low + (needs(1) ? R * out * in : 0));
  }
  void release_saved() override { x = h = weight = a = b = Tensor(); }
};

}  // namespace

Tensor linear_low_rank(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, const Tensor& a_in, const Tensor& b_in,
                       double scale) {
  profile::Scope scope("linear_low_rank", {&x_in, &weight_in, &bias_in, &a_in, &b_in});
  const DType dt = promote_float_operands("linear_low_rank", {&x_in, &weight_in, &bias_in, &a_in, &b_in});
  const Tensor x = cast_to(x_in, dt), weight = cast_to(weight_in, dt), bias = cast_to(bias_in, dt);
  const Tensor a_cast = cast_to(a_in, dt), b_cast = cast_to(b_in, dt);
  const Tensor a = a_cast.detach().contiguous(), b = b_cast.detach().contiguous();
  if (weight.dim() != 2 || x.dim() < 1 || x.size(-1) != weight.size(1))
    throw std::invalid_argument("linear_low_rank: input " + x.describe() + " does not match weight " + weight.describe() +
                                " (expected (..., in) and (out, in))");
  const int64_t in = weight.size(1), out = weight.size(0);
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != in || b.size(0) != out || b.size(1) != a.size(0))
    throw std::invalid_argument("linear_low_rank: factors A " + a.describe() + " and B " + b.describe() + " do not fit weight " +
                                weight.describe() + " (expected (r, in) and (out, r))");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out))
    throw std::invalid_argument("linear_low_rank: bias " + bias.describe() + " does not match weight " + weight.describe());
  const Tensor x2 = x.detach().reshape({-1, in}), w = weight.detach();  // (R, in); strided views are read in place
  const int64_t R = x2.size(0), r = a.size(0);
  scope.add_flops(2.0 * double(R) * (double(in) * double(out) + double(r) * double(in + out)));
  Tensor h = Tensor::empty({R, r}, dt, x.device());
  gemm_into(h, R, r, in, 1.0, plain(x2), transposed(a), 0.0);
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape, dt, x.device());
  Tensor y2 = y.reshape({R, out});
  gemm_into(y2, R, out, in, 1.0, plain(x2), transposed(w), 0.0, bias.defined() ? bias.detach().contiguous() : Tensor());
  gemm_into(y2, R, out, r, scale, plain(h), transposed(b), 1.0);
  if (auto node = record<LowRankLinearBackward>({&x, &weight, &bias, &a_cast, &b_cast}, x.shape(), scale)) {
    if (node->needs(1) || node->needs(3)) node->x = x2;
    if (node->needs(4)) node->h = h;
    if (node->needs(0)) node->weight = w;
    if (node->needs(0)) node->a = a;
    node->b = b;  // its rank sizes dh; it is a parameter, resident anyway
    attach(y, node);
  }
  return y;
}

}  // namespace frost
