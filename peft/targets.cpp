// targets.cpp: see targets.h.
#include "peft/targets.h"

#include <regex>
#include <stdexcept>

namespace frost::peft {

bool matches_name(const std::string& path, const std::string& name) {
  if (path == name) return true;
  return path.size() > name.size() && path.compare(path.size() - name.size(), name.size(), name) == 0 &&
         path[path.size() - name.size() - 1] == '.';
}

bool matches_pattern_key(const std::string& path, const std::string& key) {
  try {
    return std::regex_match(path, std::regex("(.*\\.)?(" + key + ")"));
  } catch (const std::regex_error&) {
    throw std::invalid_argument("pattern key '" + key + "' is not a valid regular expression");
  }
}

TargetSpec TargetSpec::from_json(const nlohmann::json& value, const std::string& field) {
  TargetSpec spec;
  if (value.is_null()) return spec;
  if (value.is_string()) {
    spec.pattern = value.get<std::string>();
    spec.kind = spec.pattern == "all-linear" ? Kind::all_linear : Kind::regex;
    if (spec.kind == Kind::regex) {
      try {
        std::regex check(spec.pattern);
      } catch (const std::regex_error& e) {
        throw std::invalid_argument(field + ": '" + spec.pattern + "' is not a valid regular expression");
      }
    }
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
  for (size_t bar = text.find('|'); ; bar = text.find('|', start)) {
    names.push_back(text.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return from_json(names, field);
}

nlohmann::json TargetSpec::to_json() const {
  switch (kind) {
    case Kind::none: return nullptr;
    case Kind::names: return names;
    case Kind::regex:
    case Kind::all_linear: return pattern;
  }
  return nullptr;
}

bool TargetSpec::matches(const std::string& path) const {
  switch (kind) {
    case Kind::none: return false;
    case Kind::all_linear: return true;
    case Kind::regex: return std::regex_match(path, std::regex(pattern));
    case Kind::names:
      for (const std::string& n : names)
        if (matches_name(path, n)) return true;
      return false;
  }
  return false;
}

std::string TargetSpec::describe() const { return to_json().dump(); }

}  // namespace frost::peft
