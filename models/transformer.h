// transformer.h: the transformer pieces ViT and Swin share, written as timm writes them so that their
// parameter paths are timm's: Attention (qkv, proj), Mlp (fc1, GELU, fc2) and LayerScale (gamma).
// qkv, proj, fc1 and fc2 are slots (see Module::replace), so a PEFT method can wrap any of them.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/layers.h"

namespace frost::models {

// Extra key/value rows that attention prepends to every sequence's keys and values (prefix
// tuning). Queries are unchanged, so the output keeps its token count.
class KVRows : public Module {
 public:
  virtual std::pair<Tensor, Tensor> rows() const = 0;  // keys (H, L, D), values (H, L, D)
};

// timm's Attention: qkv(x) rows are [q | k | v], each head-major with D contiguous; softmax of
// q k^T / sqrt(D) (+ bias), times v, heads concatenated, then proj.
class Attention : public Module {
 public:
  Attention(int64_t dim, int64_t heads, bool qkv_bias, uint64_t seed);
  std::string kind() const override { return "Attention"; }
  // x (B, N, C); bias broadcastable to (B, H, N, N) or undefined -> (B, N, C)
  Tensor forward(const Tensor& x, const Tensor& bias = Tensor()) const;
  void add_prefix(const std::string& name, std::shared_ptr<KVRows> rows);

  std::shared_ptr<Layer> qkv, proj;
  int64_t heads;

 private:
  std::vector<std::shared_ptr<KVRows>> prefixes_;
};

// timm's Mlp: fc2(GELU(fc1(x))), GELU in the exact erf form.
class Mlp : public Layer {
 public:
  Mlp(int64_t dim, int64_t hidden, uint64_t seed);
  std::string kind() const override { return "Mlp"; }
  Tensor forward(const Tensor& x) const override;
  std::shared_ptr<Layer> fc1, fc2;
};

// timm's LayerScale: x * gamma, gamma (C) initialised to init_values.
class LayerScale : public Layer {
 public:
  LayerScale(int64_t dim, double init_values);
  std::string kind() const override { return "LayerScale"; }
  Tensor forward(const Tensor& x) const override { return mul(x, gamma); }
  Tensor gamma;
};

// Re-initialises every Linear (and Conv2d when `convs`) below `root` as timm does: weights
// trunc_normal(0, std) (std << 2, so a plain normal), biases zero; LayerNorms keep ones/zeros.
void init_timm_weights(Module& root, double std, Generator& gen, bool convs);

}  // namespace frost::models
