// beit.h: timm's Beit (timm/models/beit.py): a ViT whose attention has a learned relative-position
// bias (per block, or one shared by all blocks) and separate q/v biases, with timm's keys:
// patch_embed.proj, cls_token, pos_embed (only with use_abs_pos_emb), rel_pos_bias.* (shared),
// blocks.N.{norm1, attn.{qkv, q_bias, v_bias, relative_position_bias_table, proj}, gamma_1, norm2,
// mlp.{fc1, fc2}, gamma_2}, norm or fc_norm, head. Pooling is the mean of the patch tokens with
// fc_norm ('avg', timm's default) or the class token. It is a VisionTransformer with other blocks,
// so every hook point and every ViT method (prompts, prefixes, adapters, LoRA on attn.qkv with the
// q/v biases left as they are) applies unchanged.
//
// The relative-position table has (2 Gh - 1)(2 Gw - 1) + 3 rows for a Gh x Gw patch grid: one per
// patch offset, then class-to-patch, patch-to-class and class-to-class. Tokens a PEFT method puts
// between the class token and the patches (prompts) get no bias, like attention prefixes.
#pragma once
#include <memory>
#include <string>

#include "models/args.h"
#include "models/vit.h"

namespace frost::models {

struct BeitConfig {
  ViTConfig vit;  // the shared fields, read under BEiT's names (global_pool 'avg', eps 1e-6)
  bool use_rel_pos_bias = false, use_shared_rel_pos_bias = false;
  double head_init_scale = 0.001;  // a new head's weights are scaled by this (timm's init)

  BeitConfig();
  void read(ArgReader& args);
};

// A relative-position bias table over a Gh x Gw grid plus the class token, and its index.
struct RelativeBiasTable {
  RelativeBiasTable(int64_t grid_h, int64_t grid_w, int64_t heads);
  // (1, H, T, T) for T tokens: the class token, T - 1 - Gh Gw unbiased (prompt) tokens, the patches.
  Tensor bias(const Tensor& table, int64_t tokens) const;
  int64_t rows() const { return (2 * grid_h - 1) * (2 * grid_w - 1) + 3; }

  int64_t grid_h, grid_w, heads;
  IndexTable index;  // ((Gh Gw + 1)^2), timm's gen_relative_position_index
};

// The table shared by all blocks (use_shared_rel_pos_bias): rel_pos_bias.relative_position_bias_table.
class SharedRelativeBias : public Module {
 public:
  SharedRelativeBias(int64_t grid_h, int64_t grid_w, int64_t heads);
  std::string kind() const override { return "RelativePositionBias"; }
  Tensor bias(int64_t tokens) const { return table.bias(relative_position_bias_table, tokens); }
  Tensor relative_position_bias_table;  // (rows, H), zero-initialised
  RelativeBiasTable table;
};

class BeitAttention : public Attention {
 public:
  BeitAttention(int64_t dim, int64_t heads, bool qkv_bias, int64_t grid_h, int64_t grid_w, bool rel_pos_bias, uint64_t seed);
  std::string kind() const override { return "BeitAttention"; }
  // This block's bias for T tokens (undefined without a table), plus `shared` when defined.
  Tensor relative_bias(int64_t tokens, const Tensor& shared) const;
  Tensor relative_position_bias_table;  // (rows, H) or undefined
  RelativeBiasTable table;
};

class BeitBlock : public Block {
 public:
  BeitBlock(const BeitConfig& c, double drop_path, uint64_t seed, std::shared_ptr<const SharedRelativeBias> shared);
  std::string kind() const override { return "BeitBlock"; }
  Tensor forward(const Tensor& x) const override;  // (B, N, C) -> (B, N, C)

  std::shared_ptr<Layer> norm1, norm2, mlp;
  std::shared_ptr<BeitAttention> attn;
  Tensor gamma_1, gamma_2;  // LayerScale (C), undefined without init_values

 private:
  std::shared_ptr<const SharedRelativeBias> shared_;
};

class Beit : public VisionTransformer {
 public:
  Beit(const std::string& name, const BeitConfig& config, uint64_t seed = 0);
  std::string kind() const override { return "Beit"; }
  bool ignores_checkpoint_key(const std::string& key) const override;

  BeitConfig beit;
  std::shared_ptr<SharedRelativeBias> rel_pos_bias;  // null unless use_shared_rel_pos_bias

 private:
  Beit(const std::string& name, const BeitConfig& config, uint64_t seed, std::shared_ptr<SharedRelativeBias> shared);
};

}  // namespace frost::models
