// vit.cpp: see vit.h. Initialisation follows timm's init_weights_vit_timm (Linear weights
// normal(0, .02) and zero biases, pos_embed normal(.02), class/register tokens normal(1e-6));
// loading a checkpoint replaces it.
#include "models/vit.h"

#include <cmath>
#include <stdexcept>

#include "engine/autograd.h"
#include "models/pos_embed.h"

namespace frost::models {

void ViTConfig::read(ArgReader& a, bool accepts_distilled) {
  a.get_image_size("img_size", img_h, img_w);
  patch_size = a.get_int("patch_size", patch_size);
  in_chans = a.get_int("in_chans", in_chans);
  num_classes = a.get_int("num_classes", num_classes, 0);
  embed_dim = a.get_int("embed_dim", embed_dim);
  depth = a.get_int("depth", depth);
  num_heads = a.get_int("num_heads", num_heads);
  mlp_ratio = a.get_double("mlp_ratio", mlp_ratio, 0.0, 64.0);
  qkv_bias = a.get_bool("qkv_bias", qkv_bias);
  class_token = a.get_bool("class_token", class_token);
  no_embed_class = a.get_bool("no_embed_class", no_embed_class);
  reg_tokens = a.get_int("reg_tokens", reg_tokens, 0);
  global_pool = a.get_string("global_pool", global_pool, {"token", "avg"});
  if (a.has("fc_norm") && !a.is_null("fc_norm")) fc_norm = a.get_bool("fc_norm", false) ? 1 : 0;
  if (a.has("init_values") && !a.is_null("init_values")) init_values = a.get_double("init_values", 0.0);
  drop_rate = a.get_double("drop_rate", drop_rate, 0.0, 1.0);
  drop_path_rate = a.get_double("drop_path_rate", drop_path_rate, 0.0, 1.0);
  pre_norm = a.get_bool("pre_norm", pre_norm);
  abs_pos_embed = a.get_string("pos_embed", abs_pos_embed ? "learn" : "none", {"learn", "none"}) == "learn";
  final_norm = a.get_bool("final_norm", final_norm);
  act_layer = parse_activation(a.get_string("act_layer", activation_names()[size_t(act_layer)], activation_names()));
  if (accepts_distilled) distilled = a.get_bool("distilled", distilled);
}

void ViTConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("ViT config: " + what); };
  for (auto [v, name] : {std::pair{img_h, "img_size"},
                         {img_w, "img_size"},
                         {patch_size, "patch_size"},
                         {in_chans, "in_chans"},
                         {embed_dim, "embed_dim"},
                         {depth, "depth"},
                         {num_heads, "num_heads"}})
    if (v <= 0) fail(std::string(name) + " must be positive, got " + std::to_string(v));
  if (img_h % patch_size || img_w % patch_size)
    fail("img_size " + std::to_string(img_h) + (img_h == img_w ? std::string() : std::string("x") + std::to_string(img_w)) +
         " is not a multiple of patch_size " + std::to_string(patch_size));
  if (embed_dim % num_heads)
    fail("embed_dim " + std::to_string(embed_dim) + " is not a multiple of num_heads " + std::to_string(num_heads));
  if (!class_token && global_pool == "token") fail("global_pool 'token' needs class_token");
  if (distilled && (!class_token || global_pool != "token")) fail("distilled needs class_token and global_pool 'token'");
  if (mlp_ratio <= 0) fail("mlp_ratio must be positive");
  for (double p : {drop_rate, drop_path_rate})
    if (p < 0 || p >= 1) fail("drop rates must be in [0, 1)");
}

ViTBlock::ViTBlock(const ViTConfig& c, double dpr, uint64_t seed) {
  drop_path_rate = dpr;
  const int64_t C = width = c.embed_dim;
  norm1 = std::make_shared<LayerNorm>(C, c.eps);
  attn = std::make_shared<Attention>(C, c.num_heads, c.qkv_bias, seed + 10);
  norm2 = std::make_shared<LayerNorm>(C, c.eps);
  mlp = std::make_shared<Mlp>(C, int64_t(double(C) * c.mlp_ratio), seed + 20, c.act_layer);
  register_slot("norm1", norm1);
  register_slot("attn", attn);
  if (c.init_values != 0.0) {
    ls1 = std::make_shared<LayerScale>(C, c.init_values);
    register_slot("ls1", ls1);
  }
  register_slot("norm2", norm2);
  register_slot("mlp", mlp);
  if (c.init_values != 0.0) {
    ls2 = std::make_shared<LayerScale>(C, c.init_values);
    register_slot("ls2", ls2);
  }
}

Tensor ViTBlock::forward(const Tensor& input) const {
  Tensor x = apply_token_hooks(input);
  x = add(x, run_branch(Branch::attention, x, [this](const Tensor& h) {
            Tensor y = attn->forward(norm1->forward(h));
            return drop_path(ls1 ? ls1->forward(y) : y);
          }));
  x = add(x, run_branch(Branch::mlp, x, [this](const Tensor& h) {
            Tensor y = mlp->forward(norm2->forward(h));
            return drop_path(ls2 ? ls2->forward(y) : y);
          }));
  return run_taps(x);
}

VisionTransformer::VisionTransformer(const std::string& name, const ViTConfig& c, uint64_t seed)
    : VisionTransformer(name, c, seed, nullptr) {}

VisionTransformer::VisionTransformer(const std::string& name, const ViTConfig& c, uint64_t seed, const BlockMaker& make_block)
    : config(c) {
  config.validate();
  architecture = name;
  in_chans = config.in_chans;
  img_h = config.img_h;
  img_w = config.img_w;
  num_classes = config.num_classes;
  head_drop_rate = config.drop_rate;
  num_features = config.embed_dim;
  Generator gen(seed);
  const int64_t C = config.embed_dim, P = config.patch_size;
  patch_embed = std::make_shared<Conv2d>(config.in_chans, C, P, Conv2dOptions{P, P, 0, 0, 1}, !config.pre_norm, seed + 1);
  register_slot("patch_embed.proj", patch_embed);
  if (config.class_token) {
    cls_token = register_parameter("cls_token", Tensor::empty({1, 1, C}));
    init_normal_(cls_token, 1e-6, gen);
  }
  if (config.distilled) {
    dist_token = register_parameter("dist_token", Tensor::empty({1, 1, C}));
    init_normal_(dist_token, 0.02, gen);
  }
  if (config.reg_tokens > 0) {
    reg_token = register_parameter("reg_token", Tensor::empty({1, config.reg_tokens, C}));
    init_normal_(reg_token, 1e-6, gen);
  }
  const int64_t patches = grid_h() * grid_w();
  if (config.abs_pos_embed) {
    pos_embed =
        register_parameter("pos_embed", Tensor::empty({1, patches + (config.no_embed_class ? 0 : num_prefix_tokens()), C}));
    init_normal_(pos_embed, 0.02, gen);
  }
  if (config.pre_norm) {
    norm_pre = std::make_shared<LayerNorm>(C, config.eps);
    register_slot("norm_pre", norm_pre);
  }
  const std::vector<double> dpr = drop_path_schedule(config.drop_path_rate, config.depth);
  for (int64_t i = 0; i < config.depth; ++i) {
    const double rate = dpr[size_t(i)];
    const uint64_t block_seed = seed + 100 * uint64_t(i + 1);
    std::shared_ptr<Block> block =
        make_block ? make_block(i, rate, block_seed) : std::make_shared<ViTBlock>(config, rate, block_seed);
    blocks.push_back(register_module("blocks." + std::to_string(i), block));
  }
  const bool use_fc_norm = config.fc_norm < 0 ? config.global_pool == "avg" : config.fc_norm == 1;
  if (config.final_norm && !use_fc_norm) {
    norm = std::make_shared<LayerNorm>(C, config.eps);
    register_slot("norm", norm);
  } else if (config.final_norm) {
    fc_norm = std::make_shared<LayerNorm>(C, config.eps);
    register_slot("fc_norm", fc_norm);
  }
  add_classifier("head", seed + 7);
  if (config.distilled) head_dist = add_extra_classifier("head_dist", seed + 8);
  finish_construction(gen, /*init_convs=*/false);
}

Tensor VisionTransformer::forward_features(const Tensor& images) const {
  const int64_t B = images.size(0), C = config.embed_dim;
  Tensor x = patch_embed->forward(images).flatten(2).transpose(1, 2);  // (B, N, C), row-major grid order
  std::vector<Tensor> prefix;
  if (cls_token.defined()) prefix.push_back(cls_token.expand({B, 1, C}));
  if (dist_token.defined()) prefix.push_back(dist_token.expand({B, 1, C}));
  if (reg_token.defined()) prefix.push_back(reg_token.expand({B, config.reg_tokens, C}));
  if (pos_embed.defined() && config.no_embed_class) x = add(x, pos_embed);  // the prefix tokens get no position
  if (!prefix.empty()) {
    prefix.push_back(x);
    x = cat(prefix, 1);
  }
  if (pos_embed.defined() && !config.no_embed_class) x = add(x, pos_embed);
  if (norm_pre) x = norm_pre->forward(x);
  for (const auto& block : blocks) x = block->forward(x);
  return norm ? norm->forward(x) : x;
}

Tensor VisionTransformer::forward_head(const Tensor& features) const {
  const int64_t skip = num_prefix_tokens() + prompt_tokens;
  Tensor x = config.global_pool == "token" ? features.narrow(1, 0, 1).squeeze(1)
                                           : mean(features.narrow(1, skip, features.size(1) - skip), {1});
  if (fc_norm) x = fc_norm->forward(x);
  if (!config.distilled) return classify(x);
  const Tensor dist = features.narrow(1, 1, 1).squeeze(1);             // the distillation token's output
  return mul(add(classify(x, head), classify(dist, head_dist)), 0.5);  // timm: no head dropout here
}

bool VisionTransformer::ignores_checkpoint_key(const std::string& key) const {
  return key.rfind("pre_logits.", 0) == 0;  // timm's checkpoint_filter_fn drops these too
}

Tensor VisionTransformer::adapt_checkpoint_tensor(const std::string& key, const Tensor& value) const {
  if (key != "pos_embed" || !pos_embed.defined() || value.shape() == pos_embed.shape()) return value;
  const int64_t prefix = config.no_embed_class ? 0 : num_prefix_tokens();
  if (value.dim() != 3 || value.size(0) != 1 || value.size(2) != config.embed_dim || value.size(1) <= prefix)
    return value;  // not resamplable: the loader reports the shape mismatch
  const int64_t old_n = value.size(1) - prefix, old_side = int64_t(std::llround(std::sqrt(double(old_n))));
  if (old_side * old_side != old_n) return value;  // timm assumes a square old grid too
  return resample_abs_pos_embed(value, grid_h(), grid_w(), old_side, old_side, prefix);
}

}  // namespace frost::models
