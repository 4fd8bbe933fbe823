// krona.cpp: KronA (Edalati et al. 2022), in HF peft's LoKr form without the low-rank option:
//   y = base(x) + s * (A kron B) x,   A = lokr_w1 (a_o, a_i), B = lokr_w2 (b_o, b_i)
// with a_o b_o = out and a_i b_i = in, each pair the factorisation of the dim closest to its
// square root with a <= b (peft's factorization(dim, -1): 768 = 24 x 32, 2304 = 48 x 48).
// (A kron B) x is computed as A X B^T with X = x reshaped (a_i, b_i): the Kronecker product is
// never built in the forward. Init w1 = 0, w2 kaiming-uniform: the adapter starts as a no-op.
// Merge: W += s * kron(A, B). Options: targets (default attn.qkv), scale (default 1).
#include <cmath>

#include "engine/autograd.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

std::pair<int64_t, int64_t> factorize(int64_t dim) {
  int64_t a = int64_t(std::sqrt(double(dim)));
  while (a > 1 && dim % a) --a;
  return {a, dim / a};
}

class KronaLinear : public Wrapper {
 public:
  KronaLinear(std::shared_ptr<Layer> inner, double s, uint64_t seed) : scale(s) {
    adopt(std::move(inner));
    const Tensor w = weight_of(*base);
    std::tie(ao, bo) = factorize(w.size(0));
    std::tie(ai, bi) = factorize(w.size(1));
    w1 = register_parameter("lokr_w1", Tensor::zeros({ao, ai}, w.dtype()));
    w2 = register_parameter("lokr_w2", Tensor::empty({bo, bi}, w.dtype()));
    Generator gen(seed);
    init_uniform_(w2, 1.0 / std::sqrt(double(bi)), gen);  // kaiming_uniform(a=sqrt 5)
  }
  std::string kind() const override { return "KronA"; }
  Tensor forward(const Tensor& x) const override {
    Shape s = x.shape();
    s.back() = ai;
    s.push_back(bi);
    const Tensor ax = matmul(w1, x.reshape(s));  // (..., a_o, b_i)
    Tensor y = matmul(ax, w2.transpose(0, 1));   // (..., a_o, b_o)
    Shape out = x.shape();
    out.back() = ao * bo;
    return add(base->forward(x), mul(y.reshape(out), scale));
  }
  Tensor delta_weight() const {  // s * kron(A, B): (a_o b_o, a_i b_i)
    return mul(mul(w1.reshape({ao, 1, ai, 1}), w2.reshape({1, bo, 1, bi})).reshape({ao * bo, ai * bi}), scale);
  }
  void fold(Layer& plain) const override {
    const Tensor w = weight_of(plain);
    assign_(w, add(w, delta_weight()));
  }
  Tensor w1, w2;
  double scale;
  int64_t ao = 1, ai = 1, bo = 1, bi = 1;
};

}  // namespace

void apply_krona(MethodContext& ctx, Options& o) {
  const std::string targets = o.get("targets", "attn.qkv");
  const double scale = o.number("scale", 1.0);
  o.finish();
  for (const std::string& path : find_targets(ctx, o, targets, false))
    wrap_layer(ctx.model, path,
               [&](std::shared_ptr<Layer> l) { return std::make_shared<KronaLinear>(l, scale, ctx.next_seed()); });
}

}  // namespace frost::peft
