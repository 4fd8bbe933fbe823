// convpass.cpp: Convpass, convolutional bypasses (Jie & Deng 2022; JieShibo/PETL-ViT
// convpass/vtab/convpass.py), parallel to attention and to the MLP and fed with the branch's
// LayerNorm output:
//   x + drop_path(attn(norm1 x)) + s * cp(norm1 x);   x + drop_path(mlp(norm2 x)) + s * cp(norm2 x)
//   cp(z) = up(dropout(quick_gelu(conv3x3(quick_gelu(down(z))))))
// ViT: the patch tokens form the (grid_h, grid_w) map the 3x3 conv runs over; the tokens before
// them (class, register, prompts) are convolved alone as 1x1 maps, where only the centre tap acts.
// Swin: the whole (H, W) map (Convpass_swin). down xavier (bias 0), up zero: a no-op at init.
// The conv starts as the identity on its centre tap (ViT, JIE's default) or xavier (Swin's
// default). ConvNeXt has no pre-norm token branch: refused.
// Options: dim (8, or a per-block list), scale (1), dropout (0.1), conv_init (identity | xavier).
// Keys: "<block>.convpass_attn.{down,conv,up}.*", "<block>.convpass_mlp.*".
#include <cmath>

#include "engine/autograd.h"
#include "models/vit.h"
#include "peft/bottleneck.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

class Convpass : public models::BranchHook {
 public:
  Convpass(const models::Block* block, std::string norm, int64_t C, int64_t d, double s, double p, bool identity, int64_t gh,
           int64_t gw, std::shared_ptr<Generator> g, uint64_t seed)
      : block_(block), norm_(std::move(norm)), scale(s), drop(p), grid_h(gh), grid_w(gw), rng(std::move(g)) {
    Generator gen(seed);
    down = register_module("down", std::make_shared<Linear>(C, d, true, seed));
    conv = register_module("conv", std::make_shared<Conv2d>(d, d, 3, Conv2dOptions{1, 1, 1, 1, 1}, true, seed + 1));
    up = register_module("up", std::make_shared<Linear>(d, C, true, seed + 2));
    const DType dt = down->weight.dtype();
    init_uniform_(down->weight, std::sqrt(6.0 / double(C + d)), gen);
    assign_(down->bias, Tensor::zeros({d}, dt));
    assign_(conv->bias, Tensor::zeros({d}, dt));
    if (identity) {
      Tensor w = Tensor::zeros({d, d, 3, 3}, dt);
      for (int64_t i = 0; i < d; ++i)
        copy_into(w.narrow(0, i, 1).narrow(1, i, 1).narrow(2, 1, 1).narrow(3, 1, 1), Tensor::ones({1, 1, 1, 1}, dt));
      assign_(conv->weight, w);
    } else {
      init_uniform_(conv->weight, std::sqrt(6.0 / double(d * 9 + d * 9)), gen);
    }
    assign_(up->weight, Tensor::zeros({C, d}, dt));
    assign_(up->bias, Tensor::zeros({C}, dt));
  }
  std::string kind() const override { return "Convpass"; }

  Tensor forward(const Tensor& x, const models::BranchFn& branch) const override {
    auto norm = std::dynamic_pointer_cast<Layer>(block_->find(norm_));
    return add(branch(x), bypass(norm->forward(x)));
  }

 private:
  Tensor spatial_conv(const Tensor& h) const {  // (B, H, W, d) -> (B, H, W, d)
    return conv->forward(h.permute({0, 3, 1, 2})).permute({0, 2, 3, 1});
  }
  Tensor bypass(const Tensor& z) const {
    Tensor h = quick_gelu(down->forward(z));
    if (grid_h > 0) {  // ViT tokens (B, N, d): prefix tokens as 1x1 maps, patches as the grid
      const int64_t B = h.size(0), N = h.size(1), d = h.size(2), P = grid_h * grid_w, prefix = N - P;
      Tensor patches = spatial_conv(h.narrow(1, prefix, P).reshape({B, grid_h, grid_w, d})).reshape({B, P, d});
      if (prefix > 0) {
        const Tensor centre = conv->weight.narrow(2, 1, 1).narrow(3, 1, 1).reshape({d, d});
        patches = cat({linear(h.narrow(1, 0, prefix), centre, conv->bias), patches}, 1);
      }
      h = patches;
    } else {  // Swin (B, H, W, d)
      h = spatial_conv(h);
    }
    h = quick_gelu(h);
    if (is_training() && drop > 0) h = dropout(h, drop, true, *rng);
    return mul(up->forward(h), scale);
  }

  const models::Block* block_;
  std::string norm_;
  double scale, drop;
  int64_t grid_h, grid_w;
  std::shared_ptr<Generator> rng;
  std::shared_ptr<Linear> down, up;
  std::shared_ptr<Conv2d> conv;
};

}  // namespace

void apply_convpass(MethodContext& ctx, Options& o) {
  const std::vector<int64_t> dims = o.per_block("dim", 8, 1, ctx.blocks.size());
  const double scale = o.number("scale", 1.0), drop = o.probability("dropout", 0.1);
  const std::string init = o.choice("conv_init", ctx.backbone == Backbone::vit ? "identity" : "xavier", {"identity", "xavier"});
  o.finish();
  if (ctx.backbone == Backbone::convnext)
    ctx.refuse("Convpass runs beside pre-norm attention and MLP branches on a token map; a ConvNeXt block has neither");
  int64_t gh = 0, gw = 0;
  if (auto* vit = dynamic_cast<models::VisionTransformer*>(&ctx.model)) {
    gh = vit->grid_h();
    gw = vit->grid_w();
  }
  for (size_t i = 0; i < ctx.blocks.size(); ++i) {
    if (dims[i] == 0) continue;
    auto& block = ctx.blocks[i].second;
    const int64_t C = ctx.block_dim(i);
    for (auto [branch, name, norm] : {std::tuple{models::Branch::attention, "convpass_attn", "norm1"},
                                      std::tuple{models::Branch::mlp, "convpass_mlp", "norm2"}})
      block->wrap_branch(branch, name,
                         std::make_shared<Convpass>(block.get(), norm, C, dims[i], scale, drop, init == "identity", gh, gw,
                                                    ctx.model.rng, ctx.next_seed()));
  }
}

}  // namespace frost::peft
