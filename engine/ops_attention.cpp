// ops_attention.cpp: scaled dot-product attention with an optional additive bias.
// Saves P = softmax(S) whenever anything needs a gradient, plus q only for dk, k only for dq,
// v for dq/dk/dbias (they need dS = P (dO v^T - rowsum)). dbias = dS summed to the bias's shape.
#include <cmath>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/attention.h"

namespace frost {

namespace {

struct AttentionBackward : Node {
  cpu::AttentionGeometry geometry;
  Shape bias_shape;
  Tensor q, k, v, probs;
  AttentionBackward(const cpu::AttentionGeometry& g, Shape bs)
      : Node("scaled_dot_product_attention"), geometry(g), bias_shape(std::move(bs)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const cpu::AttentionGeometry& G = geometry;
    const Tensor gc = g.contiguous();
    Tensor dq, dk, dv, dscores;
    if (needs(0)) dq = Tensor::empty({G.batch, G.heads, G.queries, G.head_dim}, g.dtype(), g.device());
    if (needs(1)) dk = Tensor::empty({G.batch, G.heads, G.keys, G.head_dim}, g.dtype(), g.device());
    if (needs(2)) dv = Tensor::empty({G.batch, G.heads, G.keys, G.value_dim}, g.dtype(), g.device());
    if (needs(3)) dscores = Tensor::empty({G.batch, G.heads, G.queries, G.keys}, g.dtype(), g.device());
    dispatch_float(g.dtype(), "scaled_dot_product_attention", [&](auto tag) {
      using T = decltype(tag);
      auto ptr = [](const Tensor& t) { return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr; };
      FROST_KERNEL(gc, attention_backward<T>)(G, ptr(gc), ptr(q), ptr(k), ptr(v), ptr(probs), ptr(dq), ptr(dk),
                                 ptr(dv), ptr(dscores));
    });
    Tensor dbias = dscores.defined() ? sum_to_shape(dscores, bias_shape) : Tensor();
    return {dq, dk, dv, dbias};
  }
  // dO v^T and P^T dO always; dS q (dk) and dS k (dq) where needed: 2 to 4 GEMMs of the forward's size.
  double backward_flops() const override { return geometry.flops() * (1.0 + 0.5 * (double(needs(0)) + double(needs(1)))); }
  void release_saved() override { q = k = v = probs = Tensor(); }
};

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                    const Tensor& bias_in, double scale) {
  profile::Scope scope("scaled_dot_product_attention", {&q_in, &k_in, &v_in, &bias_in});
  const char* op = "scaled_dot_product_attention";
  const DType dt = promote_float_operands(op, {&q_in, &k_in, &v_in, &bias_in});  // an f32 bias table meets bf16
  const Tensor q = cast_to(q_in, dt), k = cast_to(k_in, dt), v = cast_to(v_in, dt), bias = cast_to(bias_in, dt);
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
    throw std::invalid_argument(std::string(op) + ": q, k, v must be (B, H, N, D); got " +
                                q.describe() + ", " + k.describe() + ", " + v.describe());
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3), M = k.size(2);
  if (k.size(0) != B || k.size(1) != H || k.size(3) != D || v.size(0) != B || v.size(1) != H ||
      v.size(2) != M)
    throw std::invalid_argument(std::string(op) + ": shapes do not agree: q " + q.describe() +
                                ", k " + k.describe() + ", v " + v.describe());
  cpu::AttentionGeometry g{B, H, N, M, D, v.size(3), scale > 0 ? scale : 1.0 / std::sqrt(double(D))};
  scope.add_flops(g.flops());
  Tensor bias_view;
  if (bias.defined()) {
    if (bias.dim() > 4)
      throw std::invalid_argument(std::string(op) + ": bias " + bias.describe() + " has more than 4 dims");
    broadcast_shapes(bias.shape(), {B, H, N, M}, op);
    bias_view = bias.detach().expand({B, H, N, M});
    g.bias = bias_view.raw_data();
    for (int i = 0; i < 4; ++i) g.bias_strides[i] = bias_view.strides()[i];
  }
  const Tensor qc = q.detach().contiguous(), kc = k.detach().contiguous(), vc = v.detach().contiguous();
  Tensor out = Tensor::empty({B, H, N, g.value_dim}, q.dtype(), q.device());
  Tensor probs = Tensor::empty({B, H, N, M}, q.dtype(), q.device());
  dispatch_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, attention_forward<T>)(g, static_cast<const T*>(qc.raw_data()), static_cast<const T*>(kc.raw_data()),
                              static_cast<const T*>(vc.raw_data()), static_cast<T*>(out.raw_data()),
                              static_cast<T*>(probs.raw_data()));
  });
  g.bias = nullptr;  // the backward never reads the bias itself
  if (auto node = record<AttentionBackward>({&q, &k, &v, &bias}, g, bias.defined() ? bias.shape() : Shape{})) {
    const bool dq = node->needs(0), dk = node->needs(1), dbias = node->needs(3);
    node->probs = probs;
    if (dk) node->q = qc;
    if (dq) node->k = kc;
    if (dq || dk || dbias) node->v = vc;
    attach(out, node);
  }
  return out;
}

}  // namespace frost
