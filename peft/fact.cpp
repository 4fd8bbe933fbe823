// fact.cpp: FacT, Factor-Tuning (Jie & Deng 2023; JieShibo/PETL-ViT FacT/fact_tt.py, fact_tk.py).
// Every weight increment of a ViT (q, k, v, o, fc1, fc2 of every block) is a slice of one
// tensor factorised with factors shared by the whole network: U = FacTu (r, D) and V = FacTv
// (D, r, zero-initialised, so FacT starts as a no-op), and per-slice cores:
//   tt: Sigma_q, Sigma_k, Sigma_v, Sigma_o (r, r), Sigma_fc1 (4r, r), Sigma_fc2 (r, 4r) per block,
//       nn.Linear's init; params 2 D r + 12 L r^2.
//   tk: Sigma = C x_3 P[:, slice]: one core C (r, r, r) and P (r, 12 L), both xavier; a block's
//       12 slices are q, k, v, o, fc1 x 4, fc2 x 4; params 2 D r + r^3 + 12 L r.
// Forward (s = scale, dp = dropout on the r-wide path):
//   qkv += s [V dp(Sq U x), V dp(Sk U x), V dp(Sv U x)];  proj += s V dp(So U x)
//   fc1 += s V(dp(S1 U x) viewed (4, r)) viewed (4D);     fc2 += s V dp(S2 (U (x viewed (4, D))) viewed 4r)
// Merge: each wrapper's increment is linear in x, so delta(I) = dW^T and W += dW.
// FacT needs one width across blocks and an MLP of 4 D: ViT only.
#include <cmath>

#include "engine/autograd.h"
#include "models/vit.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

Tensor maybe_dropout(const Tensor& x, double p, bool training, Generator& gen) {
  return training && p > 0 ? dropout(x, p, true, gen) : x;
}

// The shared factors, registered once at the model root as "fact".
class FactShared : public Module {
 public:
  FactShared(int64_t dim, int64_t r, int64_t layers, bool tk, DType dtype, Generator& gen) : rank(r), tensor_kind(tk) {
    u = register_parameter("FacTu", Tensor::empty({r, dim}, dtype));
    init_uniform_(u, 1.0 / std::sqrt(double(dim)), gen);
    v = register_parameter("FacTv", Tensor::zeros({dim, r}, dtype));
    if (tk) {
      c = register_parameter("FacTc", Tensor::empty({r, r, r}, dtype));
      init_uniform_(c, std::sqrt(6.0 / double(r * r + r * r)), gen);  // xavier on (r, r, r): fans r*r
      p = register_parameter("FacTp", Tensor::empty({r, 12 * layers}, dtype));
      init_uniform_(p, std::sqrt(6.0 / double(r + 12 * layers)), gen);
    }
  }
  std::string kind() const override { return "FacT"; }
  // tk: the r x r core of slices [first, first + n), stacked along dim 0 -> (n r, r).
  Tensor slices(int64_t first, int64_t n) const {
    const Tensor core = matmul(c.reshape({rank * rank, rank}), p.narrow(1, first, n));  // (r r, n)
    return core.reshape({rank, rank, n}).permute({2, 0, 1}).reshape({n * rank, rank});
  }
  int64_t rank;
  bool tensor_kind;
  Tensor u, v, c, p;
  double scale = 1.0, drop = 0.0;
};

enum class Op { qkv, proj, fc1, fc2 };

class FactLinear : public Wrapper {
 public:
  FactLinear(std::shared_ptr<Layer> inner, std::shared_ptr<FactShared> shared, Op op, int64_t layer,
             std::shared_ptr<Generator> rng, uint64_t seed)
      : shared_(std::move(shared)), op_(op), layer_(layer), rng_(std::move(rng)) {
    adopt(std::move(inner));
    const int64_t r = shared_->rank;
    if (shared_->tensor_kind) return;
    Generator gen(seed);
    auto core = [&](const std::string& name, int64_t out, int64_t in) {
      Tensor t = register_parameter(name, Tensor::empty({out, in}, shared_->u.dtype()));
      init_uniform_(t, 1.0 / std::sqrt(double(in)), gen);  // nn.Linear(in, out, bias=False)
      return t;
    };
    if (op == Op::qkv) {
      sigma = core("q_FacTs", r, r);
      sigma_k = core("k_FacTs", r, r);
      sigma_v = core("v_FacTs", r, r);
    } else if (op == Op::proj) {
      sigma = core("proj_FacTs", r, r);
    } else if (op == Op::fc1) {
      sigma = core("fc1_FacTs", 4 * r, r);
    } else {
      sigma = core("fc2_FacTs", r, 4 * r);
    }
  }
  std::string kind() const override { return "FacT"; }
  Tensor forward(const Tensor& x) const override { return add(base->forward(x), delta(x)); }
  // The increment alone: s * dW x (linear in x).
  Tensor delta(const Tensor& x) const {
    const FactShared& f = *shared_;
    const int64_t r = f.rank, first = 12 * layer_;
    auto dp = [&](const Tensor& t) { return maybe_dropout(t, f.drop, is_training(), *rng_); };
    auto core = [&](int64_t slice, const Tensor& tt) { return f.tensor_kind ? f.slices(first + slice, 1) : tt; };
    Tensor out;
    if (op_ == Op::qkv || op_ == Op::proj) {
      const Tensor ux = linear(x, f.u);
      if (op_ == Op::proj) {
        out = linear(dp(linear(ux, core(3, sigma))), f.v);
      } else {
        out = cat({linear(dp(linear(ux, core(0, sigma))), f.v), linear(dp(linear(ux, core(1, sigma_k))), f.v),
                   linear(dp(linear(ux, core(2, sigma_v))), f.v)},
                  -1);
      }
    } else if (op_ == Op::fc1) {
      const Tensor s1 = f.tensor_kind ? f.slices(first + 4, 4) : sigma;  // (4r, r)
      Shape four = x.shape();
      four.back() = 4;
      four.push_back(r);
      Tensor h = linear(dp(linear(linear(x, f.u), s1)).reshape(four), f.v);  // (..., 4, D)
      Shape flat = x.shape();
      flat.back() = 4 * x.size(-1);
      out = h.reshape(flat);
    } else {
      const Tensor s2 = f.tensor_kind ? f.slices(first + 8, 4).reshape({4, r, r}).permute({1, 0, 2}).reshape({r, 4 * r}) : sigma;
      Shape four = x.shape();
      four.back() = 4;
      four.push_back(x.size(-1) / 4);
      Shape flat = x.shape();
      flat.back() = 4 * r;
      out = linear(dp(linear(linear(x.reshape(four), f.u).reshape(flat), s2)), f.v);
    }
    return mul(out, f.scale);
  }
  void fold(Layer& plain) const override {
    const Tensor w = weight_of(plain);
    assign_(w, add(w, delta(eye(w.size(1), w.dtype())).transpose(0, 1)));
  }
  Tensor sigma, sigma_k, sigma_v;

 private:
  std::shared_ptr<FactShared> shared_;
  Op op_;
  int64_t layer_;
  std::shared_ptr<Generator> rng_;
};

}  // namespace

void apply_fact(MethodContext& ctx, Options& o) {
  const std::string mode = o.choice("mode", "tt", {"tt", "tk"});
  const int64_t r = o.integer("r", mode == "tt" ? 8 : 16, 1);
  const double scale = o.number("scale", 1.0), drop = o.probability("dropout", 0.1);
  o.finish();
  auto* vit = dynamic_cast<models::VisionTransformer*>(&ctx.model);
  if (!vit) ctx.refuse("FacT shares one factor pair across the network, which needs one width in every block (ViT)");
  const int64_t D = vit->config.embed_dim, L = int64_t(ctx.blocks.size());
  if (int64_t(double(D) * vit->config.mlp_ratio) != 4 * D) ctx.refuse("FacT's fc1/fc2 slices need mlp_ratio 4");
  Generator gen(ctx.next_seed());
  auto shared = std::make_shared<FactShared>(D, r, L, mode == "tk", vit->pos_embed.dtype(), gen);
  shared->scale = scale;
  shared->drop = drop;
  ctx.model.register_module("fact", shared);
  for (int64_t i = 0; i < L; ++i) {
    const std::string b = ctx.blocks[size_t(i)].first + ".";
    for (auto [name, op_] :
         {std::pair{"attn.qkv", Op::qkv}, {"attn.proj", Op::proj}, {"mlp.fc1", Op::fc1}, {"mlp.fc2", Op::fc2}}) {
      const Op op = op_;  // a structured binding cannot be captured by every compiler yet
      wrap_layer(ctx.model, b + name, [&](std::shared_ptr<Layer> l) {
        return std::make_shared<FactLinear>(l, shared, op, i, ctx.model.rng, ctx.next_seed());
      });
    }
  }
}

}  // namespace frost::peft
