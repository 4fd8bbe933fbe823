// options.cpp: see options.h.
#include "peft/options.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace frost::peft {

std::vector<std::string> split_top_level(const std::string& text, char sep) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (char c : text) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == sep && depth == 0)
      out.emplace_back();
    else
      out.back() += c;
  }
  if (text.empty()) out.clear();
  return out;
}

std::string Options::get(const std::string& key, const std::string& fallback) {
  known_.push_back(key);
  auto it = method_.options.find(key);
  return it == method_.options.end() ? fallback : it->second;
}

std::string Options::choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed) {
  const std::string value = get(key, fallback);
  std::string list;
  for (const std::string& a : allowed) {
    if (a == value) return value;
    list += (list.empty() ? "" : " | ") + a;
  }
  throw std::invalid_argument(where() + key + "=" + value + " is not one of " + list);
}

double Options::number(const std::string& key, double fallback) {
  const std::string text = get(key, "");
  if (text.empty()) return fallback;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(v))
    throw std::invalid_argument(where() + key + "=" + text + " is not a finite number");
  return v;
}

double Options::probability(const std::string& key, double fallback) {
  const double v = number(key, fallback);
  if (v < 0 || v >= 1) throw std::invalid_argument(where() + key + "=" + get(key, "") + " must be in [0, 1)");
  return v;
}

int64_t Options::to_integer(const std::string& key, const std::string& text, int64_t min_value) const {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || v < min_value || v > kMaxOptionInteger)
    throw std::invalid_argument(where() + key + "=" + text + ": must be an integer in [" + std::to_string(min_value) + ", " +
                                std::to_string(kMaxOptionInteger) + "]");
  return v;
}

int64_t Options::integer(const std::string& key, int64_t fallback, int64_t min_value) {
  const std::string text = get(key, "");
  return text.empty() ? fallback : to_integer(key, text, min_value);
}

bool Options::flag(const std::string& key, bool fallback) {
  const std::string text = get(key, fallback ? "true" : "false");
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  throw std::invalid_argument(where() + key + " must be true or false, got '" + text + "'");
}

std::vector<int64_t> Options::per_block(const std::string& key, int64_t fallback, int64_t min_value, size_t blocks) {
  const std::string text = get(key, "");
  if (text.empty()) return std::vector<int64_t>(blocks, fallback);
  if (text.front() != '[') return std::vector<int64_t>(blocks, to_integer(key, text, min_value));
  if (text.back() != ']') throw std::invalid_argument(where() + key + "=" + text + ": a list must end with ']'");
  std::vector<int64_t> out;
  for (const std::string& part : split_top_level(text.substr(1, text.size() - 2), ','))
    out.push_back(to_integer(key, part, 0));  // 0: this block gets none
  if (out.size() != blocks)
    throw std::invalid_argument(where() + key + " lists " + std::to_string(out.size()) + " values but the model has " +
                                std::to_string(blocks) + " blocks (one value per block, 0 to skip one)");
  return out;
}

void Options::finish() const {
  for (const auto& [key, value] : method_.options) {
    bool ok = false;
    for (const std::string& k : known_) ok |= k == key;
    if (ok) continue;
    std::string list;
    std::vector<std::string> listed;
    for (const std::string& k : known_) {
      if (std::find(listed.begin(), listed.end(), k) != listed.end()) continue;
      listed.push_back(k);
      list += (list.empty() ? "" : ", ") + k;
    }
    throw std::invalid_argument(where() + "unknown key '" + key + "'" +
                                (list.empty() ? " (it takes none)" : " (known: " + list + ")"));
  }
}

}  // namespace frost::peft
