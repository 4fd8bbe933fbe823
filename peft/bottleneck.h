// bottleneck.h: the down-project, nonlinearity, up-project module adapters share, and the
// layout helper for branch outputs: ViT/Swin branches are channels-last, a ConvNeXt branch is
// (B, C, H, W), so a channels-last module runs on it through a permute.
#pragma once
#include <memory>
#include <string>

#include "engine/layers.h"
#include "peft/method.h"

namespace frost::peft {

enum class Activation { gelu, quick_gelu, relu };
Activation parse_activation(Options& o, const std::string& fallback);
Tensor activate(const Tensor& x, Activation a);

// up(dropout(act(down(x)))) * scale. down: `down_init` "xavier" (bias 0) or "kaiming"
// (nn.Linear's default, bias 0); up: zeros, so the module starts at 0. The owner (a hook)
// registers `down` and `up` as its own children and passes its training flag.
struct Bottleneck {
  Bottleneck(int64_t dim, int64_t hidden, Activation act, double dropout, double scale, const std::string& down_init,
             std::shared_ptr<Generator> rng, uint64_t seed);
  void register_in(Module& owner) const;
  Tensor forward(const Tensor& x, bool training) const;  // (..., dim) -> (..., dim)
  std::shared_ptr<Linear> down, up;
  Activation act;
  double dropout, scale;
  std::shared_ptr<Generator> rng;
};

// A bottleneck on a block branch: sequential (on the branch output y: y + B(y), the adapter)
// or parallel (on the branch input x: branch(x) + B(x), AdaptFormer). Its down/up are its children.
class BottleneckHook : public models::BranchHook {
 public:
  BottleneckHook(Bottleneck b, bool channels_first, bool parallel, std::string kind);
  std::string kind() const override { return kind_; }
  Tensor forward(const Tensor& x, const models::BranchFn& branch) const override;
  Bottleneck bottleneck;

 private:
  bool channels_first_, parallel_;
  std::string kind_;
};

// f applied over the channels of `x`: directly when channels-last, through a permute of
// (B, C, H, W) otherwise.
template <typename F>
Tensor on_channels(const Tensor& x, bool channels_first, F f) {
  if (!channels_first) return f(x);
  return f(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

}  // namespace frost::peft
