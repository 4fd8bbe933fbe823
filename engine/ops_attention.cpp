// ops_attention.cpp: scaled dot-product attention with an optional additive bias, on separate
// q, k, v or on a fused projection's packed qkv.
// Saves P = softmax(S) whenever anything needs a gradient, plus q only for dk, k only for dq,
// v for dq/dk/dbias (they need dS = P (dO v^T - rowsum)). dbias = dS summed to the bias's shape.
// The packed form reads q, k, v where the projection wrote them and writes its output with the
// heads side by side, so neither direction copies: d(qkv) is one buffer the kernel fills.
#include <cmath>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/attention.h"

namespace frost {

namespace {

const char* const kOp = "scaled_dot_product_attention";

// Points g at the bias, broadcast to (B, H, N, M); returns the view that holds the data.
Tensor bind_bias(cpu::AttentionGeometry& g, const Tensor& bias, const char* op) {
  if (!bias.defined()) return Tensor();
  if (bias.dim() > 4) throw std::invalid_argument(std::string(op) + ": bias " + bias.describe() + " has more than 4 dims");
  broadcast_shapes(bias.shape(), {g.batch, g.heads, g.queries, g.keys}, op);
  Tensor view = bias.detach().expand({g.batch, g.heads, g.queries, g.keys});
  g.bias = view.raw_data();
  for (int i = 0; i < 4; ++i) g.bias_strides[i] = view.strides()[i];
  return view;
}

// q, k, v point at the operands' first elements (inside one packed qkv, or three tensors).
void run_forward(const cpu::AttentionGeometry& g, const void* q, const void* k, const void* v, Tensor& out, Tensor& probs) {
  dispatch_float(out.dtype(), kOp, [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, attention_forward<T>)
    (g, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(out.raw_data()),
     static_cast<T*>(probs.raw_data()));
  });
}

// Part i (0: q, 1: k, 2: v) of a packed (B, N, 3 C) qkv or its gradient; null for an undefined t.
char* qkv_part(const Tensor& t, int64_t i, int64_t C) {
  return t.defined() ? static_cast<char*>(t.raw_data()) + i * C * int64_t(dtype_size(t.dtype())) : nullptr;
}

// Pointers into the saved operands and the gradient buffers (null where not wanted).
struct BackwardBuffers {
  const void *dout, *q, *k, *v, *probs;
  void *dq, *dk, *dv, *dscores;
};

void run_backward(const cpu::AttentionGeometry& g, const Tensor& like, const BackwardBuffers& b) {
  dispatch_float(like.dtype(), kOp, [&](auto tag) {
    using T = decltype(tag);
    auto in = [](const void* p) { return static_cast<const T*>(p); };
    auto out = [](void* p) { return static_cast<T*>(p); };
    FROST_KERNEL(like, attention_backward<T>)
    (g, in(b.dout), in(b.q), in(b.k), in(b.v), in(b.probs), out(b.dq), out(b.dk), out(b.dv), out(b.dscores));
  });
}

void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// dO v^T and P^T dO always; dS q (dk) and dS k (dq) where needed: 2 to 4 GEMMs of the forward's size.
double attention_backward_flops(const cpu::AttentionGeometry& g, bool dq, bool dk) {
  return g.flops() * (1.0 + 0.5 * (double(dq) + double(dk)));
}

struct AttentionBackward : Node {
  cpu::AttentionGeometry geometry;
  Shape bias_shape;
  Tensor q, k, v, probs;
  AttentionBackward(const cpu::AttentionGeometry& g, Shape bs) : Node(kOp), geometry(g), bias_shape(std::move(bs)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const cpu::AttentionGeometry& G = geometry;
    const Tensor gc = g.contiguous();
    Tensor dq, dk, dv, dscores;
    if (needs(0)) dq = Tensor::empty({G.batch, G.heads, G.queries, G.head_dim}, g.dtype(), g.device());
    if (needs(1)) dk = Tensor::empty({G.batch, G.heads, G.keys, G.head_dim}, g.dtype(), g.device());
    if (needs(2)) dv = Tensor::empty({G.batch, G.heads, G.keys, G.value_dim}, g.dtype(), g.device());
    if (needs(3)) dscores = Tensor::empty({G.batch, G.heads, G.queries, G.keys}, g.dtype(), g.device());
    run_backward(G, gc,
                 {gc.raw_data(), data_or_null(q), data_or_null(k), data_or_null(v), probs.raw_data(), data_or_null(dq),
                  data_or_null(dk), data_or_null(dv), data_or_null(dscores)});
    Tensor dbias = dscores.defined() ? sum_to_shape(dscores, bias_shape) : Tensor();
    return {dq, dk, dv, dbias};
  }
  double backward_flops() const override { return attention_backward_flops(geometry, needs(0), needs(1)); }
  void release_saved() override { q = k = v = probs = Tensor(); }
};

// Inputs: qkv (B, N, 3 H D), bias. The geometry's layouts place q, k, v inside qkv.
struct PackedAttentionBackward : Node {
  cpu::AttentionGeometry geometry;
  Shape bias_shape;
  Tensor qkv, probs;
  PackedAttentionBackward(const cpu::AttentionGeometry& g, Shape bs) : Node(kOp), geometry(g), bias_shape(std::move(bs)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const cpu::AttentionGeometry& G = geometry;
    const Tensor gc = g.contiguous();  // (B, N, H Dv): out's layout
    Tensor dqkv, dscores;
    if (needs(0)) dqkv = Tensor::empty(qkv.shape(), g.dtype(), g.device());  // q, k, v parts: every element written
    if (needs(1)) dscores = Tensor::empty({G.batch, G.heads, G.queries, G.keys}, g.dtype(), g.device());
    const int64_t C = G.heads * G.head_dim;
    auto part = [C](const Tensor& t, int64_t i) { return qkv_part(t, i, C); };
    const bool any = dqkv.defined() || dscores.defined();  // dbias needs dS, which reads q, k, v
    run_backward(G, gc,
                 {gc.raw_data(), any ? part(qkv, 0) : nullptr, any ? part(qkv, 1) : nullptr, part(qkv, 2), probs.raw_data(),
                  part(dqkv, 0), part(dqkv, 1), part(dqkv, 2), data_or_null(dscores)});
    Tensor dbias = dscores.defined() ? sum_to_shape(dscores, bias_shape) : Tensor();
    return {dqkv, dbias};
  }
  double backward_flops() const override { return attention_backward_flops(geometry, needs(0), needs(0)); }
  void release_saved() override { qkv = probs = Tensor(); }
};

// The packed form through views and the general op: for devices and dtypes whose kernels read
// contiguous operands only, and the definition the packed kernel is tested against.
Tensor packed_attention_composite(const Tensor& qkv, int64_t heads, const Tensor& bias, double scale) {
  const int64_t B = qkv.size(0), N = qkv.size(1), C = qkv.size(2) / 3, D = C / heads;
  const Tensor parts = qkv.reshape({B, N, 3, heads, D}).permute({2, 0, 3, 1, 4});  // (3, B, H, N, D)
  const Tensor q = parts.narrow(0, 0, 1).squeeze(0), k = parts.narrow(0, 1, 1).squeeze(0), v = parts.narrow(0, 2, 1).squeeze(0);
  return scaled_dot_product_attention(q, k, v, bias, scale).transpose(1, 2).reshape({B, N, C});
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& bias_in,
                                    double scale) {
  profile::Scope scope(kOp, {&q_in, &k_in, &v_in, &bias_in});
  const char* op = kOp;
  const DType dt = promote_float_operands(op, {&q_in, &k_in, &v_in, &bias_in});  // an f32 bias table meets bf16
  const Tensor q = cast_to(q_in, dt), k = cast_to(k_in, dt), v = cast_to(v_in, dt), bias = cast_to(bias_in, dt);
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
    throw std::invalid_argument(std::string(op) + ": q, k, v must be (B, H, N, D); got " + q.describe() + ", " + k.describe() +
                                ", " + v.describe());
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3), M = k.size(2);
  if (k.size(0) != B || k.size(1) != H || k.size(3) != D || v.size(0) != B || v.size(1) != H || v.size(2) != M)
    throw std::invalid_argument(std::string(op) + ": shapes do not agree: q " + q.describe() + ", k " + k.describe() + ", v " +
                                v.describe());
  cpu::AttentionGeometry g{B, H, N, M, D, v.size(3), scale > 0 ? scale : 1.0 / std::sqrt(double(D))};
  scope.add_flops(g.flops());
  const Tensor bias_view = bind_bias(g, bias, op);
  const Tensor qc = q.detach().contiguous(), kc = k.detach().contiguous(), vc = v.detach().contiguous();
  Tensor out = Tensor::empty({B, H, N, g.value_dim}, q.dtype(), q.device());
  Tensor probs = Tensor::empty({B, H, N, M}, q.dtype(), q.device());
  run_forward(g, qc.raw_data(), kc.raw_data(), vc.raw_data(), out, probs);
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

Tensor packed_qkv_attention(const Tensor& qkv_in, int64_t heads, const Tensor& bias_in, double scale) {
  const char* op = "packed_qkv_attention";
  if (qkv_in.dim() != 3 || heads <= 0 || qkv_in.size(2) % (3 * heads) != 0)
    throw std::invalid_argument(std::string(op) + ": qkv " + qkv_in.describe() + " is not (B, N, 3 x " + std::to_string(heads) +
                                " heads x head_dim)");
  const DType dt = promote_float_operands(op, {&qkv_in, &bias_in});
  if (qkv_in.device().is_cuda() || dt == DType::bf16) return packed_attention_composite(qkv_in, heads, bias_in, scale);
  profile::Scope scope(kOp, {&qkv_in, &bias_in});
  const Tensor qkv_cast = cast_to(qkv_in, dt), bias = cast_to(bias_in, dt);
  const Tensor qkv = qkv_cast.detach().contiguous();
  const int64_t B = qkv.size(0), N = qkv.size(1), C = qkv.size(2) / 3, D = C / heads;
  cpu::AttentionGeometry g{B, heads, N, N, D, D, scale > 0 ? scale : 1.0 / std::sqrt(double(D))};
  g.q_rows = g.k_rows = g.v_rows = {N * 3 * C, D, 3 * C};  // (B, N, 3, H, D): q at 0, k at C, v at 2C
  g.out_rows = {N * C, D, C};                              // (B, N, H, D)
  scope.add_flops(g.flops());
  const Tensor bias_view = bind_bias(g, bias, op);
  Tensor out = Tensor::empty({B, N, C}, qkv.dtype(), qkv.device());
  Tensor probs = Tensor::empty({B, heads, N, N}, qkv.dtype(), qkv.device());
  run_forward(g, qkv_part(qkv, 0, C), qkv_part(qkv, 1, C), qkv_part(qkv, 2, C), out, probs);
  g.bias = nullptr;
  if (auto node = record<PackedAttentionBackward>({&qkv_cast, &bias}, g, bias.defined() ? bias.shape() : Shape{})) {
    node->probs = probs;
    node->qkv = qkv;
    attach(out, node);
  }
  return out;
}

}  // namespace frost
