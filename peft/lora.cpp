// lora.cpp: applying LoRA to a model (peft/tuners/lora/model.py): every target wrapped, the
// modules_to_save and biases made trainable, each tensor recorded under its key in peft's file;
// and the `lora` / `dora` methods of the spec language, whose options become a LoraConfig.
#include <cmath>
#include <set>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/safetensors.h"
#include "peft/lora.h"
#include "peft/lora_folder.h"
#include "peft/method.h"
#include "peft/options.h"

namespace frost::peft {

AppliedAdapter apply_lora_config(models::Model& model, const LoraConfig& config, uint64_t seed, bool freeze) {
  // Find every target first (wrapping changes the module tree).
  const auto targets =
      find_targets(model, {config.target_modules, config.exclude_modules, true, true, "LoRA target_modules", "LoRA"});
  if (freeze) model.set_requires_grad(false);
  AppliedAdapter applied;
  auto record = [&](const std::string& key, const Tensor& t, bool lora) {
    applied.adapter_tensors.push_back({kPeftPrefix + key, t});
    applied.model_keys.push_back(key);
    applied.is_lora.push_back(lora);
  };
  uint64_t n = 0;
  for (const auto& [path, module] : targets) {
    const int64_t r = config.rank_for(path);
    const double alpha = config.alpha_for(path);
    const double scaling = config.use_rslora ? alpha / std::sqrt(double(r)) : alpha / double(r);
    const uint64_t s = seed + 7919 * (++n);
    std::shared_ptr<LoraLayer> wrapper;
    if (auto linear = std::dynamic_pointer_cast<Linear>(module)) {
      wrapper = std::make_shared<LoraLinear>(linear, r, scaling, config.lora_dropout, config.lora_bias, model.rng, s);
    } else {
      auto conv = std::dynamic_pointer_cast<Conv2d>(module);
      if (conv->options.groups != 1)
        throw std::invalid_argument("LoRA target '" + path + "' is a grouped convolution (groups " +
                                    std::to_string(conv->options.groups) +
                                    "); peft cannot merge those, so frost does not wrap them");
      wrapper = std::make_shared<LoraConv2d>(conv, r, scaling, config.lora_dropout, config.lora_bias, model.rng, s);
    }
    if (config.use_dora) wrapper->enable_dora();
    model.replace(path, wrapper);
    applied.lora_modules.push_back(path);
    for (const NamedTensor& p : wrapper->named_parameters())
      if (p.name.rfind("lora_", 0) == 0) record(path + "." + p.name, p.tensor, true);
  }
  // modules_to_save: fully trainable, saved under their own keys.
  std::set<std::string> saved_keys;
  for (const std::string& name : config.modules_to_save) {
    bool found = false;
    for (const auto& [path, module] : model.named_modules()) {
      if (!matches_name(path, name)) continue;
      found = true;
      applied.saved_modules.push_back(path);
      for (NamedTensor& p : module->named_parameters())
        if (saved_keys.insert(path + "." + p.name).second) record(path + "." + p.name, p.tensor, false);
    }
    if (!found) throw std::invalid_argument("LoRA modules_to_save '" + name + "' matches no module of " + model.architecture);
  }
  if (config.bias != "none")
    for (const NamedTensor& p : model.named_parameters()) {
      const bool is_bias = p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
      if (!is_bias || saved_keys.count(p.name) || p.name.find(".lora_") != std::string::npos) continue;
      bool in_lora = false;
      for (const std::string& m : applied.lora_modules) in_lora |= p.name == m + ".bias";
      if (config.bias == "all" || in_lora) {
        saved_keys.insert(p.name);
        record(p.name, p.tensor, false);
      }
    }
  for (NamedTensor& t : applied.adapter_tensors) t.tensor.set_requires_grad(true);
  return applied;
}

// ---- the `lora` and `dora` methods of the spec language ----

LoraConfig lora_config_from_options(MethodContext& ctx, Options& o, bool dora) {
  LoraConfig c;
  const std::string targets = o.get("targets", "attn.qkv");
  c.target_modules = TargetSpec::from_option(targets, o.where() + "targets");
  const std::vector<int64_t> ranks = o.per_block("r", 8, 1, ctx.blocks.size());
  c.r = 0;
  for (int64_t r : ranks) c.r = std::max(c.r, r);
  if (c.r == 0) throw std::invalid_argument(o.where() + "every block has r=0: nothing to train");
  c.lora_alpha = o.number("alpha", double(c.r));
  c.lora_dropout = o.probability("dropout", 0.0);
  c.use_rslora = o.flag("rslora", false);
  c.use_dora = dora;
  for (const std::string& path : ctx.model.classifier_paths())
    if (!path.empty() && ctx.model.find(path)) c.modules_to_save.push_back(path);
  // Per-block ranks (r=[8,0,4,...]) become peft's rank_pattern and exclude_modules.
  bool uniform = true;
  for (int64_t r : ranks) uniform &= r == c.r;
  if (!uniform) {
    c.exclude_modules.kind = TargetSpec::Kind::names;
    for (const auto& [path, module] : ctx.model.named_modules()) {
      const int64_t b = ctx.block_of(path);
      if (b < 0 || !c.target_modules.matches(path) || !std::dynamic_pointer_cast<Layer>(module)) continue;
      if (ranks[size_t(b)] == 0)
        c.exclude_modules.names.push_back(path);
      else if (ranks[size_t(b)] != c.r)
        c.rank_pattern[path] = ranks[size_t(b)];
    }
    if (c.exclude_modules.names.empty()) c.exclude_modules.kind = TargetSpec::Kind::none;
  }
  o.finish();
  return c;
}

namespace {
void apply_lora_or_dora(MethodContext& ctx, Options& o, bool dora) {
  auto state = std::make_shared<LoraState>();
  state->config = lora_config_from_options(ctx, o, dora);
  state->adapter = apply_lora_config(ctx.model, state->config, ctx.next_seed(), /*freeze=*/false);
  ctx.state = std::move(state);
}
}  // namespace

void apply_lora(MethodContext& ctx, Options& o) { apply_lora_or_dora(ctx, o, false); }
void apply_dora(MethodContext& ctx, Options& o) { apply_lora_or_dora(ctx, o, true); }

}  // namespace frost::peft
