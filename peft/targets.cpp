// targets.cpp: see targets.h.
#include "peft/targets.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <stdexcept>

#include "engine/layers.h"
#include "engine/safetensors.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

// std::regex (libstdc++) is recursive and overflows on huge repeat counts, so a pattern from a
// file is bounded before it is compiled: its length, its group nesting, its {m,n} counts and
// its numbers (a back-reference \2222222222222222222 overflows as well).
std::regex checked_regex(const std::string& pattern, const std::string& what) {
  constexpr size_t kMaxLength = 1024;
  constexpr int kMaxNesting = 32;
  constexpr long kMaxRepeat = 1000;
  auto refuse = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument(what + ": '" + pattern.substr(0, 80) + (pattern.size() > 80 ? "..." : "") + "' " + why);
  };
  if (pattern.size() > kMaxLength) throw refuse("is longer than " + std::to_string(kMaxLength) + " characters");
  int depth = 0;
  for (size_t i = 0, digits = 0; i < pattern.size(); ++i) {  // back-references (\2222...) overflow too
    digits = std::isdigit(static_cast<unsigned char>(pattern[i])) ? digits + 1 : 0;
    if (digits > 6) throw refuse("holds a number of more than 6 digits");
  }
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '(' && ++depth > kMaxNesting) {
      throw refuse("nests groups deeper than " + std::to_string(kMaxNesting));
    } else if (c == ')') {
      --depth;
    } else if (c == '{') {
      for (size_t j = i + 1; j < pattern.size() && (std::isdigit(static_cast<unsigned char>(pattern[j])) || pattern[j] == ',');
           ++j) {
        size_t k = j;
        while (k < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[k]))) ++k;
        if (k > j && (k - j > 4 || std::stol(pattern.substr(j, k - j)) > kMaxRepeat))
          throw refuse("repeats more than " + std::to_string(kMaxRepeat) + " times");
        j = k;
      }
    }
  }
  try {
    return std::regex(pattern);
  } catch (const std::regex_error&) {
    throw refuse("is not a valid regular expression");
  }
}

}  // namespace

bool matches_name(const std::string& path, const std::string& name) {
  if (path == name) return true;
  return path.size() > name.size() && path.compare(path.size() - name.size(), name.size(), name) == 0 &&
         path[path.size() - name.size() - 1] == '.';
}

bool matches_pattern_key(const std::string& path, const std::string& key) {
  return std::regex_match(path, checked_regex("(.*\\.)?(" + key + ")", "pattern key '" + key + "'"));
}

TargetSpec TargetSpec::from_json(const nlohmann::json& value, const std::string& field) {
  TargetSpec spec;
  if (value.is_null()) return spec;
  if (value.is_string()) {
    spec.pattern = value.get<std::string>();
    spec.kind = spec.pattern == "all-linear" ? Kind::all_linear : Kind::regex;
    if (spec.kind == Kind::regex) checked_regex(spec.pattern, field);
    return spec;
  }
  if (!value.is_array()) throw std::invalid_argument(field + " must be a list of module names or a string, got " + value.dump());
  for (const auto& v : value) {
    if (!v.is_string() || v.get<std::string>().empty())
      throw std::invalid_argument(field + " must hold non-empty strings, got " + v.dump());
    spec.names.push_back(v.get<std::string>());
  }
  spec.kind = spec.names.empty() ? Kind::none : Kind::names;
  return spec;
}

TargetSpec TargetSpec::from_option(const std::string& text, const std::string& field) {
  if (text == "all-linear") return from_json(text, field);
  if (text.rfind("re:", 0) == 0) {
    if (text.size() == 3) throw std::invalid_argument(field + ": 're:' needs a regular expression after it");
    return from_json(text.substr(3), field);
  }
  std::vector<std::string> names;
  size_t start = 0;
  for (size_t bar = text.find('|');; bar = text.find('|', start)) {
    names.push_back(text.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return from_json(names, field);
}

nlohmann::json TargetSpec::to_json() const {
  switch (kind) {
    case Kind::none:
      return nullptr;
    case Kind::names:
      return names;
    case Kind::regex:
    case Kind::all_linear:
      return pattern;
  }
  return nullptr;
}

bool TargetSpec::matches(const std::string& path) const {
  switch (kind) {
    case Kind::none:
      return false;
    case Kind::all_linear:
      return true;
    case Kind::regex:
      return std::regex_match(path, checked_regex(pattern, "target pattern"));
    case Kind::names:
      for (const std::string& n : names)
        if (matches_name(path, n)) return true;
      return false;
  }
  return false;
}

std::string TargetSpec::describe() const { return to_json().dump(); }

std::vector<std::pair<std::string, std::shared_ptr<Module>>> find_targets(const models::Model& model, const TargetQuery& q) {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::vector<std::string> unsupported, wrapped, examples;
  const bool all_linear = q.include.kind == TargetSpec::Kind::all_linear;
  for (const auto& [path, module] : outer_modules(model)) {
    const bool linear = bool(std::dynamic_pointer_cast<Linear>(module));
    const bool layer = linear || (q.convs && std::dynamic_pointer_cast<Conv2d>(module));
    if (layer && examples.size() < 6) examples.push_back(path);
    if (!q.include.matches(path) || q.exclude.matches(path)) continue;
    const std::vector<std::string> heads = model.classifier_paths();
    const bool is_head = std::find(heads.begin(), heads.end(), path) != heads.end();
    if (is_head && (!q.head || all_linear)) continue;  // HF peft: all-linear spares the head
    if (all_linear && !linear) continue;
    if (layer)
      out.emplace_back(path, module);
    else if (std::dynamic_pointer_cast<Wrapper>(module))
      wrapped.push_back(path + " (" + module->kind() + ")");
    else
      unsupported.push_back(path + " (" + module->kind() + ")");
  }
  const std::string kinds = q.convs ? "Linear or Conv2d" : "Linear";
  if (!wrapped.empty())
    throw std::invalid_argument(q.field + " " + q.include.describe() +
                                " are already wrapped by another method: " + list_names(wrapped));
  if (!unsupported.empty())
    throw std::invalid_argument(q.field + " " + q.include.describe() + " match modules " + q.method +
                                " cannot wrap: " + list_names(unsupported) + "; only " + kinds + " layers can be targets");
  if (out.empty())
    throw std::invalid_argument(q.field + " " + q.include.describe() + " match no " + kinds + " layer of " + model.architecture +
                                " (its layers are named like " + list_names(examples) + ")");
  return out;
}

}  // namespace frost::peft
