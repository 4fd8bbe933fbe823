// lst.cpp: Ladder Side-Tuning (Sung et al. 2022; ylsung/Ladder-Side-Tuning) on a ViT. A side
// transformer of width d = D / reduction (8) runs beside the frozen backbone; the backbone runs
// with no graph recorded at all (NoGradGuard), so none of its activations is kept for a
// backward. Ladder connections feed every block's output into the side network:
//   h = down_0(tokens entering block 0)
//   for block i: h = side_i(h);  h = mu_i h + (1 - mu_i) down_{i+1}(backbone block i output),
//                mu_i = sigmoid(alpha_i / T), alpha_i = 0 (mu = 0.5), T = 0.1
//   features = backbone features + up(norm(h))  ->  the model's own pooling, norm and head
// down_i: Linear(D, d, bias=False) (normal .02); side blocks: ViT blocks of width d with MLP 4d;
// up: Linear(d, D, bias=False), zero-initialised so the model starts as the frozen backbone.
// Swin and ConvNeXt change width per stage: refused. Options: reduction (8), temperature (0.1).
// Keys: "lst.down.{i}.weight", "lst.gates", "lst.blocks.{i}.*", "lst.norm.*", "lst.up.weight".
#include <stdexcept>

#include "engine/autograd.h"
#include "models/vit.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

class CaptureInput : public models::TokenHook {
 public:
  explicit CaptureInput(Tensor* slot) : slot_(slot) {}
  std::string kind() const override { return "LadderInput"; }
  Tensor forward(const Tensor& tokens) const override {
    *slot_ = tokens.detach();
    return tokens;
  }

 private:
  Tensor* slot_;
};

class LadderSide : public models::ForwardOverride {
 public:
  LadderSide(models::VisionTransformer& vit, const std::vector<std::pair<std::string, std::shared_ptr<models::Block>>>& blocks,
             int64_t reduction, double t, uint64_t seed)
      : temperature(t), outputs_(blocks.size()) {
    const int64_t D = vit.config.embed_dim, d = D / reduction, L = int64_t(blocks.size());
    if (d < 1 || D % reduction)
      throw std::invalid_argument("--peft lst: reduction " + std::to_string(reduction) + " does not divide the width " +
                                  std::to_string(D));
    int64_t heads = std::min(vit.config.num_heads, d);
    while (d % heads) --heads;
    models::ViTConfig side = vit.config;
    side.embed_dim = d;
    side.num_heads = heads;
    side.mlp_ratio = 4.0;
    side.init_values = 0.0;
    side.drop_path_rate = 0.0;
    Generator gen(seed);
    downs.resize(size_t(L + 1));
    for (int64_t i = 0; i <= L; ++i)
      downs[size_t(i)] = register_module("down." + std::to_string(i), std::make_shared<Linear>(D, d, false, seed + 1 + i));
    gates = register_parameter("gates", Tensor::zeros({L}, vit.pos_embed.dtype()));
    for (int64_t i = 0; i < L; ++i) {
      auto b =
          register_module("blocks." + std::to_string(i), std::make_shared<models::ViTBlock>(side, 0.0, seed + 100 * (i + 1)));
      b->rng = vit.rng;
      side_blocks.push_back(b);
    }
    norm = register_module("norm", std::make_shared<LayerNorm>(d, side.eps));
    up = register_module("up", std::make_shared<Linear>(d, D, false, seed + 7));
    models::init_timm_weights(*this, 0.02, gen, false);
    assign_(up->weight, Tensor::zeros(up->weight.shape(), up->weight.dtype()));
    blocks.front().second->add_token_hook("lst_input", std::make_shared<CaptureInput>(&input_));
    for (size_t i = 0; i < blocks.size(); ++i)
      blocks[i].second->add_tap([this, i](const Tensor& y) { outputs_[i] = y.detach(); });
  }
  std::string kind() const override { return "LadderSideNetwork"; }

  Tensor forward(const models::Model& model, const Tensor& images) const override {
    Tensor features;
    {
      NoGradGuard no_graph;  // the backbone: no nodes, nothing saved
      features = model.forward_features(images);
    }
    Tensor h = downs[0]->forward(input_);
    for (size_t i = 0; i < side_blocks.size(); ++i) {
      h = side_blocks[i]->forward(h);
      const Tensor mu = sigmoid(mul(gates.narrow(0, int64_t(i), 1), 1.0 / temperature));
      h = add(mul(h, mu), mul(downs[i + 1]->forward(outputs_[i]), add(neg(mu), 1.0)));
    }
    input_ = Tensor();
    for (Tensor& t : outputs_) t = Tensor();
    return model.forward_head(add(features, up->forward(norm->forward(h))));
  }

  std::vector<std::shared_ptr<Linear>> downs;
  std::vector<std::shared_ptr<models::ViTBlock>> side_blocks;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> up;
  Tensor gates;
  double temperature;

 private:
  mutable Tensor input_;
  mutable std::vector<Tensor> outputs_;
};

}  // namespace

void apply_lst(MethodContext& ctx, Options& o) {
  const int64_t reduction = o.integer("reduction", 8, 1);
  const double t = o.number("temperature", 0.1);
  o.finish();
  auto* vit = dynamic_cast<models::VisionTransformer*>(&ctx.model);
  if (!vit)
    ctx.refuse("the side network needs one width across blocks to ladder into (ViT); this backbone changes width per stage");
  if (t <= 0) throw std::invalid_argument(o.where() + "temperature must be positive");
  ctx.model.set_forward_override("lst", std::make_shared<LadderSide>(*vit, ctx.blocks, reduction, t, ctx.next_seed()));
}

}  // namespace frost::peft
