// lora.h: LoRA (Hu et al.) in HF peft's form (peft/tuners/lora/layer.py):
//   y = base(x) + scaling * lora_B(lora_A(dropout(x))),  scaling = lora_alpha / r
//   (use_rslora: lora_alpha / sqrt(r)); A (r, in) kaiming-uniform(a=sqrt 5), B (out, r) zeros, so
//   a fresh adapter is a no-op. Conv2d: A is a conv with the base's kernel/stride/padding, B 1x1.
// The wrapper keeps the base layer's parameters under their own names (weight, bias: frozen) and
// adds lora_A.weight and lora_B.weight, so the model's keys stay timm's and the adapter's are
// peft's ("<module>.lora_A.weight"). Merge: W += scaling * B A.
// DoRA (use_dora, peft/tuners/lora/dora.py) adds lora_magnitude_vector m (out), initialised to
// the row norms of W: W' = m / ||W + s B A||_row * (W + s B A), the norm detached (dora.cpp).
#pragma once
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/layers.h"
#include "models/model.h"
#include "peft/targets.h"
#include "peft/wrapper.h"

namespace frost::peft {

struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8.0, lora_dropout = 0.0;
  TargetSpec target_modules, exclude_modules;
  std::vector<std::string> modules_to_save;
  std::string bias = "none";  // "none" | "all" | "lora_only"
  bool use_rslora = false, lora_bias = false, use_dora = false;
  std::map<std::string, int64_t> rank_pattern;
  std::map<std::string, double> alpha_pattern;

  // peft's adapter_config.json; unknown fields are ignored (as peft does), unsupported settings
  // throw naming the field. `origin` (the file) prefixes every message.
  static LoraConfig from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;
  int64_t rank_for(const std::string& module_path) const;
  double alpha_for(const std::string& module_path) const;
};

// y = base(x) + scaling * lora_B(lora_A(dropout(x))) around a Linear or a Conv2d base; the two
// differ only in how A and B are built (LoraLinear, LoraConv2d below).
class LoraLayer : public Wrapper {
 public:
  Tensor forward(const Tensor& x) const override;
  // scaling * B A reshaped to the base weight's shape: (out, in) or (out, in, kh, kw).
  Tensor delta_weight() const;
  void fold(Layer& plain) const override;
  // DoRA: adds the magnitude vector, initialised to ||W||_row (dora.cpp).
  void enable_dora();

  std::shared_ptr<Layer> lora_A, lora_B;
  Tensor base_weight, magnitude;  // magnitude (out): DoRA only
  double scaling = 1.0, dropout = 0.0;
  std::shared_ptr<Generator> rng;

 protected:
  // Registers the base's weight/bias (frozen) under their own names and A, B; zeroes B.
  void init(std::shared_ptr<Layer> base_layer, std::shared_ptr<Layer> a, std::shared_ptr<Layer> b, double s, double p,
            std::shared_ptr<Generator> g);
};

class LoraLinear : public LoraLayer {
 public:  // A: Linear(in, r) kaiming-uniform(a=sqrt 5), B: Linear(r, out) zeros
  LoraLinear(std::shared_ptr<Linear> base, int64_t r, double scaling, double dropout, bool lora_bias,
             std::shared_ptr<Generator> rng, uint64_t seed);
  std::string kind() const override { return "LoraLinear"; }
};

class LoraConv2d : public LoraLayer {
 public:  // A: the base's kernel, stride and padding, in -> r; B: 1x1, r -> out
  LoraConv2d(std::shared_ptr<Conv2d> base, int64_t r, double scaling, double dropout, bool lora_bias,
             std::shared_ptr<Generator> rng, uint64_t seed);
  std::string kind() const override { return "LoraConv2d"; }
};

// What applying an adapter did: the wrapped modules and every trainable tensor with its key in
// peft's adapter file ("base_model.model.<module>.lora_A.weight", "base_model.model.head.weight").
struct AppliedAdapter {
  std::vector<std::string> lora_modules, saved_modules;
  std::vector<NamedTensor> adapter_tensors;  // keys as in adapter_model.safetensors
  std::vector<std::string> model_keys;       // the same tensors' keys in the model's state dict
  std::vector<bool> is_lora;                 // per tensor: a LoRA factor (vs. a saved base tensor)
};

inline const char* kPeftPrefix = "base_model.model.";

// Freezes the model, wraps every target (Linear or groups-1 Conv2d) with a fresh LoRA, and makes
// the modules_to_save (and biases, for bias != "none") trainable. Throws when a target matches
// nothing or matches a module LoRA cannot wrap, naming it.
// With freeze = false the rest of the model keeps its trainable flags (a --peft combination).
AppliedAdapter apply_lora_config(models::Model& model, const LoraConfig& config, uint64_t seed = 0, bool freeze = true);

// DoRA's forward for a LoRA layer with a magnitude (dora.cpp): x the (dropped-out) input.
Tensor dora_forward(const LoraLayer& layer, const Tensor& x, const Tensor& base_out);
// m / ||W + scaling B A||_row (out): the norm has no graph (DoRA detaches it), m has its own.
Tensor dora_row_scale(const LoraLayer& layer);

}  // namespace frost::peft
