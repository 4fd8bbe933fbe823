// spec.cpp: see spec.h.
#include "peft/spec.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "engine/safetensors.h"
#include "peft/adapter.h"

namespace frost::peft {

namespace {

std::vector<std::string> split_on(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!text.empty() && text.back() == sep) out.push_back("");
  return out;
}

// Reads typed options out of a method's map; leftover keys are an error listing the known ones.
class Options {
 public:
  Options(const MethodSpec& m) : method_(m) {}
  std::string get(const std::string& key, const std::string& fallback) {
    known_.push_back(key);
    auto it = method_.options.find(key);
    return it == method_.options.end() ? fallback : it->second;
  }
  double number(const std::string& key, double fallback) {
    const std::string text = get(key, "");
    if (text.empty()) return fallback;
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size()) throw std::invalid_argument("--peft " + method_.name + ": " + key + "=" + text + " is not a number");
    return v;
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t min_value) {
    const double v = number(key, double(fallback));
    if (v != double(int64_t(v)) || v < double(min_value))
      throw std::invalid_argument("--peft " + method_.name + ": " + key + " must be an integer >= " + std::to_string(min_value));
    return int64_t(v);
  }
  bool flag(const std::string& key, bool fallback) {
    const std::string text = get(key, fallback ? "true" : "false");
    if (text == "true" || text == "1") return true;
    if (text == "false" || text == "0") return false;
    throw std::invalid_argument("--peft " + method_.name + ": " + key + " must be true or false, got '" + text + "'");
  }
  void finish() const {
    for (const auto& [key, value] : method_.options) {
      bool ok = false;
      for (const std::string& k : known_) ok |= k == key;
      if (ok) continue;
      std::string list;
      for (const std::string& k : known_) list += (list.empty() ? "" : ", ") + k;
      throw std::invalid_argument("--peft " + method_.name + ": unknown key '" + key + "'" +
                                  (list.empty() ? " (it takes none)" : " (known: " + list + ")"));
    }
  }

 private:
  const MethodSpec& method_;
  std::vector<std::string> known_;
};

void make_head_trainable(models::Model& model) {
  if (auto head = model.find(model.classifier)) head->set_requires_grad(true);
}

}  // namespace

std::vector<MethodSpec> parse_spec(const std::string& spec) {
  if (spec.empty()) throw std::invalid_argument("--peft: empty spec (e.g. full, linear, lora:r=8,targets=attn.qkv)");
  std::vector<MethodSpec> out;
  for (const std::string& part : split_on(spec, '+')) {
    MethodSpec m;
    const size_t colon = part.find(':');
    m.name = part.substr(0, colon);
    if (m.name.empty()) throw std::invalid_argument("--peft '" + spec + "': a method name is empty");
    if (colon != std::string::npos)
      for (const std::string& kv : split_on(part.substr(colon + 1), ',')) {
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size())
          throw std::invalid_argument("--peft " + m.name + ": '" + kv + "' is not key=value");
        if (!m.options.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second)
          throw std::invalid_argument("--peft " + m.name + ": key '" + kv.substr(0, eq) + "' given twice");
      }
    for (const MethodSpec& earlier : out)
      if (earlier.name == m.name) throw std::invalid_argument("--peft '" + spec + "': method '" + m.name + "' appears twice");
    out.push_back(std::move(m));
  }
  return out;
}

std::string format_spec(const std::vector<MethodSpec>& methods) {
  std::string out;
  for (const MethodSpec& m : methods) {
    out += (out.empty() ? "" : "+") + m.name;
    std::string opts;
    for (const auto& [k, v] : m.options) opts += (opts.empty() ? ":" : ",") + k + "=" + v;
    out += opts;
  }
  return out;
}

AppliedSpec apply_spec(models::Model& model, const std::string& spec, uint64_t seed) {
  const std::vector<MethodSpec> methods = parse_spec(spec);
  AppliedSpec applied;
  applied.spec = format_spec(methods);
  const bool full = methods.size() == 1 && methods[0].name == "full";
  model.set_requires_grad(full);
  for (const MethodSpec& m : methods) {
    Options o(m);
    if (m.name == "full" || m.name == "linear") {
      if (methods.size() > 1) throw std::invalid_argument("--peft: '" + m.name + "' cannot be combined with other methods");
    } else if (m.name == "lora") {
      LoraConfig c;
      c.r = o.integer("r", 8, 1);
      c.lora_alpha = o.number("alpha", double(c.r));
      c.lora_dropout = o.number("dropout", 0.0);
      c.use_rslora = o.flag("rslora", false);
      const std::string targets = o.get("targets", "attn.qkv");
      c.target_modules = TargetSpec::from_json(split_on(targets, '|'), "--peft lora targets");
      if (!model.classifier.empty() && model.find(model.classifier)) c.modules_to_save = {model.classifier};
      o.finish();
      applied.lora_tensors = apply_lora(model, c, seed);
      applied.lora = c;
      applied.has_lora = true;
    } else {
      throw std::invalid_argument("--peft: unknown method '" + m.name + "' (available: full, linear, lora)");
    }
    o.finish();
  }
  make_head_trainable(model);
  applied.trainable = model.trainable_parameters();
  return applied;
}

void save_spec_adapter(const std::string& dir, const AppliedSpec& applied) {
  namespace fs = std::filesystem;
  if (applied.has_lora) {
    save_adapter(dir, applied.lora, applied.lora_tensors);
    return;
  }
  fs::create_directories(dir);
  save_safetensors((fs::path(dir) / "adapter.safetensors").string(), applied.trainable, {{"peft", applied.spec}});
  const std::string json = (fs::path(dir) / "frost_peft.json").string();
  {
    std::ofstream out(json + ".tmp");
    out << nlohmann::json{{"peft", applied.spec}}.dump(2) << "\n";
    if (!out) throw std::runtime_error(json + ": cannot write");
  }
  fs::rename(json + ".tmp", json);
}

}  // namespace frost::peft
