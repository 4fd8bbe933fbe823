// lora.cpp: see lora.h.
#include "peft/lora.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/json_file.h"
#include "engine/safetensors.h"
#include "peft/method.h"
#include "peft/options.h"

namespace frost::peft {

namespace {

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw std::invalid_argument(origin + ": " + what);
}

}  // namespace

LoraConfig LoraConfig::from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) bad(origin, "adapter config must be a JSON object");
  LoraConfig c;
  auto field = [&](const char* key) -> const nlohmann::json* {
    return j.contains(key) && !j.at(key).is_null() ? &j.at(key) : nullptr;
  };
  const JsonFields fields(j, origin);
  auto number = [&](const char* key, double fallback) { return fields.number(key, fallback, -1e6, 1e6); };
  auto flag = [&](const char* key) {
    const nlohmann::json* v = field(key);
    if (!v) return false;
    if (!v->is_boolean()) bad(origin, std::string("'") + key + "' must be true or false, got " + v->dump());
    return v->get<bool>();
  };
  if (const auto* t = field("peft_type"); t && (!t->is_string() || t->get<std::string>() != "LORA"))
    bad(origin, "peft_type " + t->dump() + " is not supported here (expected \"LORA\")");
  c.r = fields.integer("r", 8, 1, kMaxOptionInteger);
  c.lora_alpha = number("lora_alpha", 8);
  c.lora_dropout = number("lora_dropout", 0);
  if (c.lora_dropout < 0 || c.lora_dropout >= 1) bad(origin, "'lora_dropout' must be in [0, 1)");
  try {
    c.target_modules = TargetSpec::from_json(field("target_modules") ? j.at("target_modules") : nlohmann::json(), "target_modules");
    c.exclude_modules = TargetSpec::from_json(field("exclude_modules") ? j.at("exclude_modules") : nlohmann::json(), "exclude_modules");
  } catch (const std::invalid_argument& e) {
    bad(origin, e.what());
  }
  if (c.target_modules.empty()) bad(origin, "'target_modules' is missing (peft has no default targets for timm models)");
  if (const auto* m = field("modules_to_save")) {
    if (!m->is_array()) bad(origin, "'modules_to_save' must be a list of module names");
    for (const auto& v : *m) {
      if (!v.is_string()) bad(origin, "'modules_to_save' must hold strings, got " + v.dump());
      c.modules_to_save.push_back(v.get<std::string>());
    }
  }
  if (const auto* b = field("bias")) {
    c.bias = b->is_string() ? b->get<std::string>() : "";
    if (c.bias != "none" && c.bias != "all" && c.bias != "lora_only")
      bad(origin, "'bias' must be \"none\", \"all\" or \"lora_only\", got " + b->dump());
  }
  c.use_rslora = flag("use_rslora");
  c.lora_bias = flag("lora_bias");
  c.use_dora = flag("use_dora");
  if (flag("fan_in_fan_out")) bad(origin, "fan_in_fan_out is for GPT-2's Conv1D; timm models use Linear (set it to false)");
  for (const char* unsupported : {"layers_to_transform", "layers_pattern", "layer_replication", "target_parameters"})
    if (const auto* v = field(unsupported); v && !(v->is_array() && v->empty()))
      bad(origin, std::string("'") + unsupported + "' is not supported");
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    const auto* p = field(key);
    if (!p) continue;
    if (!p->is_object()) bad(origin, std::string("'") + key + "' must be an object");
    for (const auto& [k, v] : p->items()) {
      if (!v.is_number()) bad(origin, std::string("'") + key + "' entry '" + k + "' must be a number");
      if (std::string(key) == "rank_pattern") {
        c.rank_pattern[k] = JsonFields(*p, origin + ": rank_pattern").integer(k, 1, kMaxOptionInteger);
      } else {
        c.alpha_pattern[k] = JsonFields(*p, origin + ": alpha_pattern").number(k, -1e6, 1e6);
      }
    }
  }
  return c;
}

nlohmann::json LoraConfig::to_json() const {
  nlohmann::json j = {{"peft_type", "LORA"},         {"task_type", nullptr},
                      {"r", r},                      {"lora_alpha", lora_alpha},
                      {"lora_dropout", lora_dropout}, {"target_modules", target_modules.to_json()},
                      {"exclude_modules", exclude_modules.to_json()}, {"modules_to_save", nullptr},
                      {"bias", bias},                {"use_rslora", use_rslora},
                      {"use_dora", use_dora},           {"fan_in_fan_out", false},
                      {"lora_bias", lora_bias},      {"init_lora_weights", true},
                      {"inference_mode", true},      {"rank_pattern", rank_pattern},
                      {"alpha_pattern", alpha_pattern}, {"base_model_name_or_path", nullptr},
                      {"revision", nullptr}};
  if (!modules_to_save.empty()) j["modules_to_save"] = modules_to_save;
  return j;
}

int64_t LoraConfig::rank_for(const std::string& path) const {
  for (const auto& [key, value] : rank_pattern)
    if (matches_pattern_key(path, key)) return value;
  return r;
}

double LoraConfig::alpha_for(const std::string& path) const {
  for (const auto& [key, value] : alpha_pattern)
    if (matches_pattern_key(path, key)) return value;
  return lora_alpha;
}

namespace {

Tensor maybe_dropout(const Tensor& x, double p, bool training, const std::shared_ptr<Generator>& rng) {
  return training && p > 0 ? frost::dropout(x, p, true, *rng) : x;
}

void zero_(Tensor& t) {
  NoGradGuard no_grad;
  copy_into(t, Tensor::zeros(t.shape(), t.dtype()));
}

}  // namespace

void LoraLayer::init(std::shared_ptr<Layer> base_layer, std::shared_ptr<Layer> a, std::shared_ptr<Layer> b, double s,
                     double p, std::shared_ptr<Generator> g) {
  scaling = s;
  dropout = p;
  rng = std::move(g);
  adopt(std::move(base_layer));  // weight, bias: the base's own tensors, frozen
  base_weight = weight_of(*base);
  lora_A = register_module("lora_A", std::move(a));
  lora_B = register_module("lora_B", std::move(b));
  for (NamedTensor& t : lora_B->named_parameters()) zero_(t.tensor);
}

Tensor LoraLayer::forward(const Tensor& x) const {
  // The common case, a plain Linear base with no dropout, DoRA or LoRA bias: one fused op.
  const auto* plain = dynamic_cast<const Linear*>(base.get());
  const auto* down = dynamic_cast<const Linear*>(lora_A.get());
  const auto* up = dynamic_cast<const Linear*>(lora_B.get());
  if (plain && down && up && plain->kind() == "Linear" && !magnitude.defined() && !up->bias.defined() &&
      (dropout == 0.0 || !is_training()))
    return linear_low_rank(x, plain->weight, plain->bias, down->weight, up->weight, scaling);
  const Tensor dropped = maybe_dropout(x, dropout, is_training(), rng);
  if (magnitude.defined()) return dora_forward(*this, dropped, base->forward(x));
  const Tensor update = lora_B->forward(lora_A->forward(dropped));
  return add(base->forward(x), mul(update, scaling));
}

Tensor LoraLayer::delta_weight() const {
  const Tensor a = lora_A->named_parameters()[0].tensor, b = lora_B->named_parameters()[0].tensor;
  return mul(matmul(b.reshape({b.size(0), b.size(1)}), a.reshape({a.size(0), -1})), scaling).reshape(base_weight.shape());
}

void LoraLayer::fold(Layer& plain) const {
  Tensor w = weight_of(plain);
  Tensor merged = add(w, delta_weight().to(w.dtype()));
  if (magnitude.defined()) {
    Shape per_row(size_t(w.dim()), 1);
    per_row[0] = w.size(0);
    merged = mul(merged, dora_row_scale(*this).reshape(per_row));
  }
  assign_(w, merged);
  const auto& b_params = lora_B->own_parameters();
  for (const NamedTensor& p : b_params)
    if (p.name == "bias") {
      Tensor bias = bias_of(plain);
      if (!bias.defined()) throw std::invalid_argument("LoRA bias cannot merge into a layer without bias");
      assign_(bias, add(bias, mul(p.tensor, scaling)));
    }
}

LoraLinear::LoraLinear(std::shared_ptr<Linear> b, int64_t r, double s, double p, bool lora_bias, std::shared_ptr<Generator> g,
                       uint64_t seed) {
  auto a = std::make_shared<Linear>(b->in_features(), r, false, seed);  // nn.Linear's init = kaiming-uniform(a=sqrt 5)
  auto up = std::make_shared<Linear>(r, b->out_features(), lora_bias, seed + 1);
  init(std::move(b), std::move(a), std::move(up), s, p, std::move(g));
}

LoraConv2d::LoraConv2d(std::shared_ptr<Conv2d> b, int64_t r, double s, double p, bool lora_bias, std::shared_ptr<Generator> g,
                       uint64_t seed) {
  Conv2dOptions a_options = b->options;
  a_options.groups = 1;
  auto a = std::make_shared<Conv2d>(b->weight.size(1), r, b->weight.size(2), a_options, false, seed);
  auto up = std::make_shared<Conv2d>(r, b->weight.size(0), 1, Conv2dOptions{}, lora_bias, seed + 1);
  init(std::move(b), std::move(a), std::move(up), s, p, std::move(g));
}

AppliedAdapter apply_lora(models::Model& model, const LoraConfig& config, uint64_t seed, bool freeze) {
  // Find every target first (wrapping changes the module tree).
  const auto targets = find_targets(model, {config.target_modules, config.exclude_modules, true, "LoRA target_modules", "LoRA"});
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
                                    std::to_string(conv->options.groups) + "); peft cannot merge those, so frost does not wrap them");
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
  if (!ctx.model.classifier.empty() && ctx.model.find(ctx.model.classifier)) c.modules_to_save = {ctx.model.classifier};
  // Per-block ranks (r=[8,0,4,...]) become peft's rank_pattern and exclude_modules.
  bool uniform = true;
  for (int64_t r : ranks) uniform &= r == c.r;
  if (!uniform) {
    c.exclude_modules.kind = TargetSpec::Kind::names;
    for (const auto& [path, module] : ctx.model.named_modules()) {
      const int64_t b = ctx.block_of(path);
      if (b < 0 || !c.target_modules.matches(path) || !std::dynamic_pointer_cast<Layer>(module)) continue;
      if (ranks[size_t(b)] == 0) c.exclude_modules.names.push_back(path);
      else if (ranks[size_t(b)] != c.r) c.rank_pattern[path] = ranks[size_t(b)];
    }
    if (c.exclude_modules.names.empty()) c.exclude_modules.kind = TargetSpec::Kind::none;
  }
  o.finish();
  return c;
}

void apply_lora_method(MethodContext& ctx, Options& o) {
  const LoraConfig c = lora_config_from_options(ctx, o, false);
  ctx.lora_adapter = apply_lora(ctx.model, c, ctx.next_seed(), /*freeze=*/false);
  ctx.lora = c;
  ctx.has_lora = true;
}

void apply_dora(MethodContext& ctx, Options& o) {
  const LoraConfig c = lora_config_from_options(ctx, o, true);
  ctx.lora_adapter = apply_lora(ctx.model, c, ctx.next_seed(), /*freeze=*/false);
  ctx.lora = c;
  ctx.has_lora = true;
}

}  // namespace frost::peft
