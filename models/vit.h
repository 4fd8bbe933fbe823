// vit.h: timm's VisionTransformer (timm/models/vision_transformer.py) with timm's state_dict keys:
// patch_embed.proj, cls_token, reg_token, pos_embed, blocks.N.{norm1, attn.{qkv, proj}, ls1.gamma,
// norm2, mlp.{fc1, fc2}, ls2.gamma}, norm or fc_norm, head. Options follow timm's argument names
// (see ViTConfig); pooling is 'token' (class token) or 'avg' (mean of the non-prefix tokens).
#pragma once
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
  std::string global_pool = "token";  // 'token' | 'avg'
  int fc_norm = -1;                   // timm's None (-1): on exactly when global_pool is 'avg'
  double init_values = 0.0;           // LayerScale init; 0 (timm's None) = no LayerScale
  double drop_rate = 0.0, drop_path_rate = 0.0;
  double eps = 1e-6;  // timm.layers.LayerNorm's default

  // Reads timm's model_args over these defaults; unknown keys and bad values throw.
  void read(ArgReader& args);
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

class VisionTransformer : public Model {
 public:
  VisionTransformer(const std::string& name, const ViTConfig& config, uint64_t seed = 0);
  std::string kind() const override { return "VisionTransformer"; }
  Tensor forward_features(const Tensor& images) const override;  // (B, prefix + N, C), after norm
  Tensor forward_head(const Tensor& features) const override;
  Tensor adapt_checkpoint_tensor(const std::string& key, const Tensor& value) const override;
  bool ignores_checkpoint_key(const std::string& key) const override;

  int64_t num_prefix_tokens() const { return (config.class_token ? 1 : 0) + config.reg_tokens; }
  int64_t grid_h() const { return config.img_h / config.patch_size; }
  int64_t grid_w() const { return config.img_w / config.patch_size; }

  ViTConfig config;
  // Tokens that PEFT prompts put between the prefix tokens and the patches of the last block's
  // output; 'avg' pooling leaves them out.
  int64_t prompt_tokens = 0;
  Tensor cls_token, reg_token, pos_embed;             // (1, 1, C), (1, R, C), (1, embed_len, C)
  std::shared_ptr<Layer> patch_embed, norm, fc_norm;  // one of norm/fc_norm is null
  std::vector<std::shared_ptr<ViTBlock>> blocks;
};

}  // namespace frost::models
