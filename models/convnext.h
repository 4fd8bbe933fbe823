// convnext.h: timm's ConvNeXt (timm/models/convnext.py, conv_mlp=False) with timm's keys:
// stem.{0 (conv k4 s4), 1 (LayerNorm2d)}, stages.i.downsample.{0 (LayerNorm2d), 1 (conv k2 s2)}
// for i >= 1, stages.i.blocks.j.{gamma, conv_dw (7x7 depthwise), norm, mlp.{fc1, fc2}},
// head.{norm, fc}. A block is x + gamma * mlp(norm(conv_dw(x))) with norm and mlp channels-last;
// that whole residual branch is the block's `mlp` branch for PEFT hooks.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/args.h"
#include "models/model.h"
#include "models/transformer.h"

namespace frost::models {

struct ConvNeXtConfig {
  int64_t in_chans = 3, num_classes = 1000;
  std::vector<int64_t> depths = {3, 3, 9, 3}, dims = {96, 192, 384, 768};
  double ls_init_value = 1e-6;  // 0 (timm's None): no layer scale, no gamma keys
  double drop_rate = 0.0, drop_path_rate = 0.0;
  double eps = 1e-6;

  void read(ArgReader& args);
  void validate() const;
};

class ConvNeXtBlock : public Block {
 public:
  ConvNeXtBlock(const ConvNeXtConfig& c, int64_t dim, double drop_path, uint64_t seed);
  std::string kind() const override { return "ConvNeXtBlock"; }
  bool has_branch(Branch branch) const override { return branch == Branch::mlp; }
  Tensor forward(const Tensor& x) const override;  // (B, C, H, W) -> (B, C, H, W)

  Tensor gamma;  // (C) or undefined
  std::shared_ptr<Layer> conv_dw, norm, mlp;
};

class ConvNeXt : public Model {
 public:
  ConvNeXt(const std::string& name, const ConvNeXtConfig& config, uint64_t seed = 0);
  std::string kind() const override { return "ConvNeXt"; }
  Tensor forward_features(const Tensor& images) const override;  // (B, C', H', W')
  Tensor forward_head(const Tensor& features) const override;
  int64_t remap_checkpoint_keys(std::vector<std::string>& keys) const override;

  ConvNeXtConfig config;
  std::shared_ptr<Layer> stem_conv, stem_norm, head_norm;
  std::vector<std::shared_ptr<Layer>> down_norms, down_convs;  // null for stage 0
  std::vector<std::vector<std::shared_ptr<ConvNeXtBlock>>> stages;
};

}  // namespace frost::models
