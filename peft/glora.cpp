// glora.cpp: GLoRA (Chavan et al. 2023; Arnav0400/ViT-Slim GLoRA/layer.py) with one fixed
// configuration instead of the evolutionary search: HF peft's GLoRAConfig defaults, A and B
// LoRA-r, C LoRA-r, D and E scalars:
//   W' = W + W * A + B,   b' = b + b * D + E + W C
//   A = Ad Au, B = Bd Bu (out, r)(r, in); C = Cd Cu (in, r)(r, 1); Ad, Bd, Cd = 0, the up
//   factors xavier-uniform, D = E = 0 -> W' = W and b' = b at init.
// On a Linear without bias only A and B exist (b' would need a key timm does not have).
// Merge writes W' and b'. Options: targets (default all-linear), r (default 8).
#include <cmath>

#include "engine/autograd.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

class GloraLinear : public Wrapper {
 public:
  GloraLinear(std::shared_ptr<Layer> inner, int64_t r, uint64_t seed) {
    adopt(std::move(inner));
    const Tensor w = weight_of(*base);
    const int64_t out = w.size(0), in = w.size(1);
    Generator gen(seed);
    auto factor = [&](const std::string& name, int64_t rows, int64_t cols, bool xavier) {
      Tensor t = register_parameter(name, Tensor::zeros({rows, cols}, w.dtype()));
      if (xavier) init_uniform_(t, std::sqrt(6.0 / double(rows + cols)), gen);
      return t;
    };
    ad = factor("glora_Ad", out, r, false);
    au = factor("glora_Au", r, in, true);
    bd = factor("glora_Bd", out, r, false);
    bu = factor("glora_Bu", r, in, true);
    if (bias_of(*base).defined()) {
      cd = factor("glora_Cd", in, r, false);
      cu = factor("glora_Cu", r, 1, true);
      d = register_parameter("glora_D", Tensor::zeros({1}, w.dtype()));
      e = register_parameter("glora_E", Tensor::zeros({1}, w.dtype()));
    }
  }
  std::string kind() const override { return "GLoRA"; }
  std::pair<Tensor, Tensor> effective() const {
    const Tensor w = weight_of(*base), b = bias_of(*base);
    const Tensor w2 = add(add(w, mul(w, matmul(ad, au))), matmul(bd, bu));
    if (!b.defined()) return {w2, Tensor()};
    const Tensor wc = matmul(w, matmul(cd, cu)).reshape({w.size(0)});
    return {w2, add(add(add(b, mul(b, d)), e), wc)};
  }
  Tensor forward(const Tensor& x) const override {
    auto [w, b] = effective();
    return linear(x, w, b);
  }
  void fold(Layer& plain) const override {
    auto [w, b] = effective();
    assign_(weight_of(plain), w);
    if (b.defined()) assign_(bias_of(plain), b);
  }
  Tensor ad, au, bd, bu, cd, cu, d, e;
};

}  // namespace

void apply_glora(MethodContext& ctx, Options& o) {
  const std::string targets = o.get("targets", "all-linear");
  const int64_t r = o.integer("r", 8, 1);
  o.finish();
  for (const std::string& path : find_targets(ctx, o, targets, false))
    wrap_layer(ctx.model, path, [&](std::shared_ptr<Layer> l) { return std::make_shared<GloraLinear>(l, r, ctx.next_seed()); });
}

}  // namespace frost::peft
