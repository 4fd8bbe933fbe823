// vit.h: timm's VisionTransformer (class-token pooling, pre-norm blocks, no LayerScale), built from
// the engine's ops with timm's state_dict names, so a timm checkpoint loads by name and matches
// timm's values. This is frost's built-in model; the other backbones, the registry of timm names
// and the remaining ViT options (avg pooling, fc_norm, pos-embed resampling) follow in models/.
#pragma once
#include <memory>
#include <vector>

#include "engine/module.h"
#include "engine/ops.h"

namespace frost::models {

struct ViTConfig {
  int64_t img_size = 224, patch_size = 16, in_chans = 3, num_classes = 1000;
  int64_t embed_dim = 768, depth = 12, num_heads = 12;
  double mlp_ratio = 4.0;
  double eps = 1e-6;  // timm.layers.LayerNorm's default
  void validate() const;  // throws naming the field
};

// x + attn(norm1(x)), then + mlp(norm2(x)); attention: qkv rows are [q | k | v], head-major.
class ViTBlock : public Module {
 public:
  ViTBlock(int64_t dim, int64_t heads, int64_t hidden, double eps, uint64_t seed);
  Tensor forward(const Tensor& x) const;  // (B, N, C) -> (B, N, C)
  Tensor attention(const Tensor& x) const;
  Tensor mlp(const Tensor& x) const;

  Tensor norm1_weight, norm1_bias, norm2_weight, norm2_bias;
  std::shared_ptr<Linear> qkv, proj, fc1, fc2;
  int64_t heads;
  double eps;
};

class VisionTransformer : public Module {
 public:
  explicit VisionTransformer(const ViTConfig& config, uint64_t seed = 0);
  Tensor forward(const Tensor& images) const;           // (B, 3, H, W) -> (B, num_classes)
  Tensor forward_features(const Tensor& images) const;  // -> (B, N + 1, C), after the final norm

  ViTConfig config;
  Tensor patch_weight, patch_bias, cls_token, pos_embed, norm_weight, norm_bias;
  std::vector<std::shared_ptr<ViTBlock>> blocks;
  std::shared_ptr<Linear> head;
};

}  // namespace frost::models
