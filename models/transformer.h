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
  // The packed projections (B, N, 3C), q/v biases included.
  Tensor project_qkv(const Tensor& x) const;
  void add_prefix(const std::string& name, std::shared_ptr<KVRows> rows);
  // BEiT's attention: qkv has no bias of its own; q_bias and v_bias (C each, zero-initialised) are
  // added to the q and v thirds of its output (k gets none). Call on an Attention built without
  // qkv_bias.
  void use_qv_bias();

  std::shared_ptr<Layer> qkv, proj;
  Tensor q_bias, v_bias;  // undefined unless use_qv_bias()
  int64_t dim, heads;

 private:
  std::vector<std::shared_ptr<KVRows>> prefixes_;
};

// timm's activation names (act_layer): "gelu" (the exact erf form, timm's default), "gelu_tanh",
// "quick_gelu" (x * sigmoid(1.702 x), OpenAI CLIP's).
enum class Activation { gelu, gelu_tanh, quick_gelu };
const std::vector<std::string>& activation_names();  // in enum order
Activation parse_activation(const std::string& name);
Tensor activate(Activation act, const Tensor& x);

// timm's Mlp: fc2(act(fc1(x))).
class Mlp : public Layer {
 public:
  Mlp(int64_t dim, int64_t hidden, uint64_t seed, Activation act = Activation::gelu);
  std::string kind() const override { return "Mlp"; }
  Tensor forward(const Tensor& x) const override;
  std::shared_ptr<Layer> fc1, fc2;
  Activation act;
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
