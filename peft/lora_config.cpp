// lora_config.cpp: LoraConfig, HF peft's adapter_config.json for LoRA and DoRA (peft/tuners/lora/
// config.py): read with every unsupported setting refused by name, written as peft writes it, and
// the per-module rank and alpha of rank_pattern / alpha_pattern.
#include <stdexcept>

#include "engine/json_file.h"
#include "peft/lora.h"
#include "peft/options.h"

namespace frost::peft {

namespace {

[[noreturn]] void bad(const std::string& origin, const std::string& what) { throw std::invalid_argument(origin + ": " + what); }

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
    c.target_modules =
        TargetSpec::from_json(field("target_modules") ? j.at("target_modules") : nlohmann::json(), "target_modules");
    c.exclude_modules =
        TargetSpec::from_json(field("exclude_modules") ? j.at("exclude_modules") : nlohmann::json(), "exclude_modules");
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
  nlohmann::json j = {{"peft_type", "LORA"},
                      {"task_type", nullptr},
                      {"r", r},
                      {"lora_alpha", lora_alpha},
                      {"lora_dropout", lora_dropout},
                      {"target_modules", target_modules.to_json()},
                      {"exclude_modules", exclude_modules.to_json()},
                      {"modules_to_save", nullptr},
                      {"bias", bias},
                      {"use_rslora", use_rslora},
                      {"use_dora", use_dora},
                      {"fan_in_fan_out", false},
                      {"lora_bias", lora_bias},
                      {"init_lora_weights", true},
                      {"inference_mode", true},
                      {"rank_pattern", rank_pattern},
                      {"alpha_pattern", alpha_pattern},
                      {"base_model_name_or_path", nullptr},
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

}  // namespace frost::peft
