// vpt.cpp: Visual Prompt Tuning (Jia et al. 2022; KMnP/vpt src/models/vit_prompt/vit.py).
// ViT: p learned tokens go after the class (and register) tokens and before the patches, with no
// position embedding: [x_cls, dropout(P), patches].
//   shallow: inserted once, before block 0;
//   deep:    block 0 inserts P_0, every later block i replaces the previous block's prompt
//            outputs with its own fresh P_i (a per-block list of lengths may differ; 0 = none).
// Init uniform(-v, v), v = sqrt(6 / (3 * patch^2 + D)) (VPT's xavier_uniform); prompt dropout
// 0.1 (NOAH/OSU). The head reads the class token; 'avg' pooling leaves the prompts out.
// Swin and ConvNeXt get VPT's pixel-level variant for convolutional backbones ("prompt-pad",
// src/models/convnext.py): a learned border `tokens` pixels wide replaces the image's border
// before the first convolution; init uniform(0, 1) normalised with ImageNet's mean/std. Only
// mode=shallow applies there. ConvNeXt takes any input size, so the border is sized by img_size.
// Options: mode (shallow | deep), tokens (10, or a per-block list), dropout (0.1); pixel
// variant: img_size (224, ConvNeXt). Keys: "<block>.prompt.tokens" (1, p, D);
// "<first conv>.prompt_{top,bottom,left,right}".
#include <cmath>

#include "engine/autograd.h"
#include "models/vit.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

class PromptTokens : public models::TokenHook {
 public:
  PromptTokens(int64_t p, int64_t dim, int64_t prefix, int64_t replaces, double bound, double drop, DType dtype,
               std::shared_ptr<Generator> g, uint64_t seed)
      : prefix_(prefix), replaces_(replaces), drop_(drop), rng_(std::move(g)) {
    tokens = register_parameter("tokens", Tensor::empty({1, p, dim}, dtype));
    Generator gen(seed);
    init_uniform_(tokens, bound, gen);
  }
  std::string kind() const override { return "VisualPrompt"; }
  Tensor forward(const Tensor& x) const override {  // (B, N, C) -> (B, N - replaces + p, C)
    const int64_t B = x.size(0), N = x.size(1), p = tokens.size(1);
    Tensor t = tokens.expand({B, p, tokens.size(2)});
    if (is_training() && drop_ > 0) t = dropout(t, drop_, true, *rng_);
    const int64_t rest = prefix_ + replaces_;
    return cat({x.narrow(1, 0, prefix_), t, x.narrow(1, rest, N - rest)}, 1);
  }
  Tensor tokens;

 private:
  int64_t prefix_, replaces_;
  double drop_;
  std::shared_ptr<Generator> rng_;
};

class PromptPad : public Wrapper {
 public:
  PromptPad(std::shared_ptr<Layer> inner, int64_t p, int64_t h, int64_t w, uint64_t seed) : pad(p), img_h(h), img_w(w) {
    adopt(std::move(inner));
    const Tensor wt = weight_of(*innermost(base));
    const int64_t C = wt.size(1);
    Generator gen(seed);
    auto border = [&](const std::string& name, int64_t rows, int64_t cols) {
      Tensor t = register_parameter(name, Tensor::empty({1, C, rows, cols}, wt.dtype()));
      init_uniform_(t, 0.5, gen);  // uniform(0, 1) - 0.5, then normalised below
      const double mean[3] = {0.485, 0.456, 0.406}, stdv[3] = {0.229, 0.224, 0.225};
      std::vector<double> m, s;
      for (int64_t c = 0; c < C; ++c) {
        m.push_back((C == 3 ? mean[c] : 0.5) - 0.5);
        s.push_back(C == 3 ? stdv[c] : 0.25);
      }
      assign_(t, div(sub(t, Tensor::from_vector(m, {1, C, 1, 1}, wt.dtype())), Tensor::from_vector(s, {1, C, 1, 1}, wt.dtype())));
      return t;
    };
    top = border("prompt_top", p, w);
    bottom = border("prompt_bottom", p, w);
    left = border("prompt_left", h - 2 * p, p);
    right = border("prompt_right", h - 2 * p, p);
  }
  std::string kind() const override { return "PromptPad"; }
  Tensor forward(const Tensor& x) const override {
    if (x.dim() != 4 || x.size(2) != img_h || x.size(3) != img_w)
      throw std::invalid_argument("vpt (pixel prompts): input " + shape_str(x.shape()) +
                                  " does not match the prompt's image size " + std::to_string(img_h) + "x" +
                                  std::to_string(img_w) + " (set vpt:img_size=...)");
    const int64_t B = x.size(0), C = x.size(1), p = pad;
    auto ex = [&](const Tensor& t) { return t.expand({B, C, t.size(2), t.size(3)}); };
    const Tensor inner = x.narrow(2, p, img_h - 2 * p).narrow(3, p, img_w - 2 * p);
    const Tensor middle = cat({ex(left), inner, ex(right)}, 3);
    return base->forward(cat({ex(top), middle, ex(bottom)}, 2));
  }
  Tensor top, bottom, left, right;
  int64_t pad, img_h, img_w;
};

}  // namespace

void apply_vpt(MethodContext& ctx, Options& o) {
  const std::string mode = o.choice("mode", "shallow", {"shallow", "deep"});
  const double drop = o.probability("dropout", 0.1);
  auto* vit = dynamic_cast<models::VisionTransformer*>(&ctx.model);
  if (!vit) {  // pixel-level prompt pad on the first convolution
    const int64_t p = o.integer("tokens", 10, 1);
    const int64_t size = ctx.model.img_h > 0 ? ctx.model.img_h : o.integer("img_size", 224, 1);
    o.finish();
    if (mode == "deep") ctx.refuse("token prompts need a ViT; mode=shallow gives VPT's pixel-level prompt pad here");
    const int64_t h = ctx.model.img_h > 0 ? ctx.model.img_h : size, w = ctx.model.img_w > 0 ? ctx.model.img_w : size;
    if (2 * p >= std::min(h, w))
      throw std::invalid_argument(o.where() + "tokens=" + std::to_string(p) + " leaves no image inside the border");
    const std::string first = ctx.backbone == Backbone::swin ? "patch_embed.proj" : "stem.0";
    wrap_layer(ctx.model, first,
               [&](std::shared_ptr<Layer> l) { return std::make_shared<PromptPad>(l, p, h, w, ctx.next_seed()); });
    return;
  }
  const std::vector<int64_t> lengths = o.per_block("tokens", 10, 1, mode == "deep" ? ctx.blocks.size() : 1);
  o.finish();
  const int64_t D = vit->config.embed_dim, P = vit->config.patch_size;
  const double bound = std::sqrt(6.0 / double(3 * P * P + D));
  int64_t previous = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] == 0 && previous == 0) continue;
    // A block with 0 tokens still removes the previous block's prompts (deep replaces them).
    if (lengths[i] == 0)
      throw std::invalid_argument(o.where() +
                                  "tokens: a block without prompts after one with prompts is not supported; put 0s first");
    ctx.blocks[i].second->add_token_hook(
        "prompt", std::make_shared<PromptTokens>(lengths[i], D, vit->num_prefix_tokens(), previous, bound, drop,
                                                 vit->pos_embed.dtype(), ctx.model.rng, ctx.next_seed()));
    previous = lengths[i];
  }
  vit->prompt_tokens = previous;
}

}  // namespace frost::peft
