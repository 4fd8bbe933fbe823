// targets.h: which modules a PEFT method applies to, by HF peft's rules (peft/tuners/tuners_utils.py
// check_target_module_exists): a list of names matches a module whose dotted path equals a name or
// ends with "." + name; a single string is a regular expression the whole path must match;
// "all-linear" is every Linear except the classifier. Methods share this so a spec means the same
// thing everywhere.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"

namespace frost::peft {

struct TargetSpec {
  enum class Kind { none, names, regex, all_linear } kind = Kind::none;
  std::vector<std::string> names;  // Kind::names
  std::string pattern;             // Kind::regex

  // From peft's JSON form: null, a list of strings, or a string (regex or "all-linear").
  static TargetSpec from_json(const nlohmann::json& value, const std::string& field);
  // From a --peft option: "attn.qkv|mlp.fc1" (names), "all-linear", or "re:<regex>".
  static TargetSpec from_option(const std::string& text, const std::string& field);
  nlohmann::json to_json() const;
  bool empty() const { return kind == Kind::none; }
  // all_linear answers true here; the caller restricts it to Linear layers and skips the head.
  bool matches(const std::string& module_path) const;
  std::string describe() const;  // for messages: ["qkv", "fc1"] or r".*\.fc\d"
};

// What a method asks of the model's layers: the one matcher every method uses.
struct TargetQuery {
  TargetSpec include, exclude;
  bool convs = false;  // Conv2d layers are targets too (LoRA), not only Linear
  bool head = false;   // the classifier head may be a target when named (LoRA, as HF peft); never for all-linear
  std::string field;   // how messages name the setting: "LoRA target_modules", "--peft krona: targets"
  std::string method;  // who would wrap them: "LoRA", "krona"
};

// The plain or wrapped layers among the model's outer modules (never inside another method's
// wrapper) that `q` selects, in model order; the classifier head only when q.head allows it. Throws naming
// q.field when a selected module is not a Linear (or Conv2d), when one is wrapped already, or when
// nothing is selected (listing some of the model's layer names).
std::vector<std::pair<std::string, std::shared_ptr<Module>>> find_targets(const models::Model& model, const TargetQuery& q);

// peft's suffix rule alone: path == name or path ends with "." + name.
bool matches_name(const std::string& module_path, const std::string& name);

// peft's rank_pattern / alpha_pattern keys: the path matches "(.*\.)?(key)" as a whole.
bool matches_pattern_key(const std::string& module_path, const std::string& key);

}  // namespace frost::peft
