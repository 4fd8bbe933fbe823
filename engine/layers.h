// layers.h: the replaceable leaf layers every model is built from: Linear, Conv2d and LayerNorm
// (last-dim or channels-first, timm's LayerNorm2d). Each owns `weight` and `bias` under those
// names, so a model's state_dict keys are the paths of its layers plus ".weight"/".bias".
#pragma once
#include <cstdint>

#include "engine/module.h"
#include "engine/ops.h"

namespace frost {

// y = x W^T + b, W (out, in); init uniform(-1/sqrt(in), 1/sqrt(in)) (nn.Linear's bound) from a
// seeded generator; models re-initialise or load it.
class Linear : public Layer {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, uint64_t seed, DType dtype = DType::f32);
  std::string kind() const override { return "Linear"; }
  Tensor forward(const Tensor& x) const override;  // (..., in) -> (..., out)
  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }
  Tensor weight, bias;  // (out, in), (out) or undefined
};

// weight (out, in/groups, k, k); same init rule as Linear with fan_in = in/groups * k * k.
class Conv2d : public Layer {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, const Conv2dOptions& options, bool bias, uint64_t seed);
  std::string kind() const override { return "Conv2d"; }
  Tensor forward(const Tensor& x) const override;  // (B, in, H, W) -> (B, out, H', W')
  Conv2dOptions options;
  Tensor weight, bias;
};

// Normalises over the last dim, or over channels of (B, C, H, W) when channels_first.
class LayerNorm : public Layer {
 public:
  LayerNorm(int64_t dim, double eps, bool channels_first = false);
  std::string kind() const override { return channels_first ? "LayerNorm2d" : "LayerNorm"; }
  Tensor forward(const Tensor& x) const override;
  Tensor weight, bias;  // (C), ones and zeros
  double eps;
  bool channels_first;
};

// In-place initialisers for freshly built layers (outside autograd).
void init_normal_(Tensor& t, double std, Generator& gen);  // timm's trunc_normal_(std) for std << 2
void init_uniform_(Tensor& t, double bound, Generator& gen);

// While one is alive on this thread, the initialisers above write zeros instead of drawing random
// values: for building a model only to read its shapes, or to overwrite every weight anyway.
class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace frost
