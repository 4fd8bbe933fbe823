// swin.h: timm's SwinTransformer (timm/models/swin_transformer.py, current NHWC layout) with
// timm's keys: patch_embed.{proj, norm}, layers.i.downsample.{norm, reduction} (i >= 1, at the
// start of the stage), layers.i.blocks.j.{norm1, attn.{relative_position_bias_table, qkv, proj},
// norm2, mlp.{fc1, fc2}}, norm, head.fc. Blocks with odd j shift their windows by window/2 and
// mask pairs of tokens that come from different image regions (-100, as timm); a stage whose
// resolution fits in one window uses that resolution as its window and never shifts. The
// relative-position index and the mask are computed here; checkpoints that carry them (older
// timm) have those keys ignored.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/args.h"
#include "models/model.h"
#include "models/transformer.h"

namespace frost::models {

struct SwinConfig {
  int64_t img_h = 224, img_w = 224, patch_size = 4, in_chans = 3, num_classes = 1000, window_size = 7;
  std::vector<int64_t> embed_dims = {96, 192, 384, 768};  // per stage (timm: embed_dim * 2^i)
  std::vector<int64_t> depths = {2, 2, 6, 2}, num_heads = {3, 6, 12, 24};
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_rate = 0.0, drop_path_rate = 0.1;  // timm's defaults
  double eps = 1e-5;                             // nn.LayerNorm

  void read(ArgReader& args);
  void validate() const;
};

// Window attention with a learned relative-position bias: table ((2w-1)^2, H), indexed per pair.
class WindowAttention : public Attention {
 public:
  WindowAttention(int64_t dim, int64_t heads, int64_t window, bool qkv_bias, uint64_t seed);
  std::string kind() const override { return "WindowAttention"; }
  Tensor relative_bias() const;  // (1, H, N, N), N = window^2
  Tensor relative_position_bias_table;
  IndexTable relative_position_index;  // (N * N), not in the state dict; its device tables made once
};

class SwinBlock : public Block {
 public:
  SwinBlock(const SwinConfig& c, int64_t dim, int64_t heads, int64_t res_h, int64_t res_w, int64_t shift, double drop_path,
            uint64_t seed);
  std::string kind() const override { return "SwinBlock"; }
  Tensor forward(const Tensor& x) const override;  // (B, H, W, C) -> (B, H, W, C)
  Tensor window_attention(const Tensor& x) const;  // shift, partition, attend, merge, unshift

  std::shared_ptr<Layer> norm1, norm2, mlp;
  std::shared_ptr<WindowAttention> attn;
  int64_t window, shift;
  Tensor attn_mask;  // (nW, 1, N, N) of 0 / -100, undefined without shift

 protected:
  void move_constants_to(Device device) override {
    if (attn_mask.defined()) attn_mask.move_storage_to(device);
  }
};

// timm's PatchMerging: 2x2 neighbours concatenated in (0,0), (1,0), (0,1), (1,1) order, LayerNorm
// over the 4C, then reduction Linear(4C, 2C) without bias.
class PatchMerging : public Layer {
 public:
  PatchMerging(int64_t dim, int64_t out_dim, double eps, uint64_t seed);
  std::string kind() const override { return "PatchMerging"; }
  Tensor forward(const Tensor& x) const override;  // (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), 2C)
  std::shared_ptr<Layer> norm, reduction;
};

class SwinTransformer : public Model {
 public:
  SwinTransformer(const std::string& name, const SwinConfig& config, uint64_t seed = 0);
  std::string kind() const override { return "SwinTransformer"; }
  Tensor forward_features(const Tensor& images) const override;  // (B, H', W', C'), after norm
  Tensor forward_head(const Tensor& features) const override;
  bool ignores_checkpoint_key(const std::string& key) const override;
  int64_t remap_checkpoint_keys(std::vector<std::string>& keys) const override;

  SwinConfig config;
  std::shared_ptr<Layer> patch_proj, patch_norm, norm;
  std::vector<std::shared_ptr<PatchMerging>> downsamples;  // null for stage 0
  std::vector<std::vector<std::shared_ptr<SwinBlock>>> stages;
};

}  // namespace frost::models
