// vit.h: timm's VisionTransformer (timm/models/vision_transformer.py) and DeiT's distilled variant
// (timm/models/deit.py, VisionTransformerDistilled) with timm's state_dict keys: patch_embed.proj,
// cls_token, dist_token, reg_token, pos_embed, norm_pre, blocks.N.{norm1, attn.{qkv, proj},
// ls1.gamma, norm2, mlp.{fc1, fc2}, ls2.gamma}, norm or fc_norm, head, head_dist. Options follow
// timm's argument names (see ViTConfig); pooling is 'token' (class token) or 'avg' (mean of the
// non-prefix tokens). The variants timm's entrypoints make of it: CLIP image towers (pre_norm,
// LayerNorm eps 1e-5, patch embedding without bias, quick_gelu for the OpenAI weights), DINOv2
// (LayerScale, patch 14, register tokens without position embeddings), DeiT (distillation token
// and head; logits are the mean of both heads, as timm's forward when not distilled_training),
// DeiT-III (LayerScale, no_embed_class), MAE's fine-tuning (global_pool 'avg' with fc_norm).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/args.h"
#include "models/model.h"
#include "models/transformer.h"

namespace frost::models {

struct ViTConfig {
  int64_t img_h = 224, img_w = 224, patch_size = 16, in_chans = 3, num_classes = 1000;
  int64_t embed_dim = 768, depth = 12, num_heads = 12, reg_tokens = 0;
  double mlp_ratio = 4.0;
  bool qkv_bias = true, class_token = true, no_embed_class = false;
  bool pre_norm = false;      // norm_pre after the position embeddings (CLIP); the patch conv then has no bias
  bool final_norm = true;     // norm (or fc_norm) before the head
  bool abs_pos_embed = true;  // timm's pos_embed 'learn' (true) or 'none' (BEiT's use_abs_pos_emb)
  bool distilled = false;     // DeiT: dist_token and head_dist (a model arg of the deit_* names only)
  Activation act_layer = Activation::gelu;
  std::string global_pool = "token";  // 'token' | 'avg'
  int fc_norm = -1;                   // timm's None (-1): on exactly when global_pool is 'avg'
  double init_values = 0.0;           // LayerScale init; 0 (timm's None) = no LayerScale
  double drop_rate = 0.0, drop_path_rate = 0.0;
  double eps = 1e-6;  // timm.layers.LayerNorm's default

  // Reads timm's model_args over these defaults; unknown keys and bad values throw. `distilled` is
  // read only when `accepts_distilled` (timm's deit entrypoints take it, the vit ones do not).
  void read(ArgReader& args, bool accepts_distilled = false);
  void validate() const;  // throws naming the field
};

class ViTBlock : public Block {
 public:
  ViTBlock(const ViTConfig& c, double drop_path, uint64_t seed);
  std::string kind() const override { return "ViTBlock"; }
  Tensor forward(const Tensor& x) const override;  // (B, N, C) -> (B, N, C)

  std::shared_ptr<Layer> norm1, norm2, ls1, ls2, mlp;  // ls1/ls2 null without LayerScale
  std::shared_ptr<Attention> attn;
};

// Makes block i (drop-path rate dpr, seed): how a variant with other blocks (BEiT) reuses the rest.
using BlockMaker = std::function<std::shared_ptr<Block>(int64_t i, double dpr, uint64_t seed)>;

class VisionTransformer : public Model {
 public:
  VisionTransformer(const std::string& name, const ViTConfig& config, uint64_t seed = 0);
  // With `make_block` building the blocks (null: ViTBlock).
  VisionTransformer(const std::string& name, const ViTConfig& config, uint64_t seed, const BlockMaker& make_block);
  std::string kind() const override { return "VisionTransformer"; }
  Tensor forward_features(const Tensor& images) const override;  // (B, prefix + N, C), after norm
  Tensor forward_head(const Tensor& features) const override;
  Tensor adapt_checkpoint_tensor(const std::string& key, const Tensor& value) const override;
  bool ignores_checkpoint_key(const std::string& key) const override;

  int64_t num_prefix_tokens() const { return (config.class_token ? 1 : 0) + (config.distilled ? 1 : 0) + config.reg_tokens; }
  int64_t grid_h() const { return config.img_h / config.patch_size; }
  int64_t grid_w() const { return config.img_w / config.patch_size; }

  ViTConfig config;
  // Tokens that PEFT prompts put between the prefix tokens and the patches of the last block's
  // output; 'avg' pooling leaves them out.
  int64_t prompt_tokens = 0;
  Tensor cls_token, dist_token, reg_token, pos_embed;           // (1, 1, C), (1, 1, C), (1, R, C), (1, embed_len, C) or none
  std::shared_ptr<Layer> patch_embed, norm_pre, norm, fc_norm;  // null when the config has none
  std::shared_ptr<Layer> head_dist;                             // DeiT's distillation head, null otherwise
  std::vector<std::shared_ptr<Block>> blocks;
};

}  // namespace frost::models
