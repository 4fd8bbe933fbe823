// ssf.cpp: SSF, Scaling & Shifting your Features (Lian et al. 2022; dongzelian/SSF): after every
// Linear, Conv2d and LayerNorm of the backbone except the head, y = gamma * layer(x) + beta per
// output channel, gamma ~ N(1, .02), beta ~ N(0, .02) (init_ssf_scale_shift). On ViT-B that is
// the patch embedding, norm1, qkv, proj, norm2, fc1, fc2 and the final norm: 2 * 102,912.
// A layer without a bias (Swin's downsample.reduction) gets the scale alone, so that every SSF
// folds into timm's keys: W' = diag(gamma) W, b' = gamma * b + beta (a LayerNorm's affine alike).
// Keys: "<layer>.ssf_scale", "<layer>.ssf_shift".
#include "engine/autograd.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

bool channels_first(const Layer& plain) {
  if (dynamic_cast<const Conv2d*>(&plain)) return true;
  if (auto* n = dynamic_cast<const LayerNorm*>(&plain)) return n->channels_first;
  return false;
}

Tensor per_channel(const Tensor& v, bool first) { return first ? v.reshape({v.size(0), 1, 1}) : v; }

class SsfLayer : public Wrapper {
 public:
  SsfLayer(std::shared_ptr<Layer> inner, Generator& gen) {
    adopt(std::move(inner));
    Layer& plain = *innermost(base);
    const Tensor w = weight_of(plain);
    first_ = channels_first(plain);
    const int64_t c = w.size(0);
    scale = register_parameter("ssf_scale", Tensor::empty({c}, w.dtype()));
    init_normal_(scale, 0.02, gen);
    assign_(scale, add(scale, 1.0));
    if (bias_of(plain).defined()) {
      shift = register_parameter("ssf_shift", Tensor::empty({c}, w.dtype()));
      init_normal_(shift, 0.02, gen);
    }
  }
  std::string kind() const override { return "SSF"; }
  Tensor forward(const Tensor& x) const override {
    Tensor y = mul(base->forward(x), per_channel(scale, first_));
    return shift.defined() ? add(y, per_channel(shift, first_)) : y;
  }
  void fold(Layer& plain) const override {
    const Tensor w = weight_of(plain), b = bias_of(plain);
    Shape rows(size_t(w.dim()), 1);
    rows[0] = w.size(0);
    assign_(w, mul(w, scale.reshape(rows)));
    if (b.defined()) assign_(b, shift.defined() ? add(mul(b, scale), shift) : mul(b, scale));
  }
  Tensor scale, shift;

 private:
  bool first_ = false;
};

}  // namespace

void apply_ssf(MethodContext& ctx, Options& o) {
  o.finish();
  std::vector<std::string> targets;
  for (const auto& [path, module] : outer_modules(ctx.model)) {
    const std::vector<std::string> heads = ctx.model.classifier_paths();
    if (std::find(heads.begin(), heads.end(), path) != heads.end()) continue;
    auto layer = std::dynamic_pointer_cast<Layer>(module);
    if (!layer) continue;
    const std::shared_ptr<Layer> plain = innermost(layer);
    if (std::dynamic_pointer_cast<Linear>(plain) || std::dynamic_pointer_cast<Conv2d>(plain) ||
        std::dynamic_pointer_cast<LayerNorm>(plain))
      targets.push_back(path);
  }
  Generator gen(ctx.next_seed());
  for (const std::string& path : targets)
    wrap_layer(ctx.model, path, [&](std::shared_ptr<Layer> current) { return std::make_shared<SsfLayer>(current, gen); });
}

}  // namespace frost::peft
