// args.cpp: see args.h.
#include "models/args.h"

#include <cmath>
#include <stdexcept>

namespace frost::models {

ArgReader::ArgReader(std::string model, const nlohmann::json& args) : model_(std::move(model)), args_(args) {
  if (args_.is_null()) args_ = nlohmann::json::object();
  if (!args_.is_object())
    throw std::invalid_argument(model_ + ": model args must be a JSON object, got " + args.dump());
}

void ArgReader::bad(const std::string& key, const std::string& expected) const {
  throw std::invalid_argument(model_ + ": model arg '" + key + "' must be " + expected + ", got " + args_.at(key).dump());
}

bool ArgReader::has(const std::string& key) {
  known_.insert(key);
  return args_.contains(key);
}

bool ArgReader::is_null(const std::string& key) const { return args_.contains(key) && args_.at(key).is_null(); }

int64_t ArgReader::get_int(const std::string& key, int64_t fallback, int64_t min_value) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = args_.at(key);
  if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()))
    bad(key, "an integer");
  const int64_t x = v.get<int64_t>();
  if (x < min_value) bad(key, "an integer >= " + std::to_string(min_value));
  return x;
}

double ArgReader::get_double(const std::string& key, double fallback) {
  if (!has(key)) return fallback;
  if (!args_.at(key).is_number()) bad(key, "a number");
  return args_.at(key).get<double>();
}

bool ArgReader::get_bool(const std::string& key, bool fallback) {
  if (!has(key)) return fallback;
  if (!args_.at(key).is_boolean()) bad(key, "true or false");
  return args_.at(key).get<bool>();
}

std::string ArgReader::get_string(const std::string& key, const std::string& fallback,
                                  const std::vector<std::string>& choices) {
  if (!has(key)) return fallback;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "'" : ", '") + c + "'";
  if (!args_.at(key).is_string()) bad(key, "one of " + list);
  const std::string v = args_.at(key).get<std::string>();
  for (const std::string& c : choices)
    if (v == c) return v;
  bad(key, "one of " + list);
}

std::vector<int64_t> ArgReader::get_int_list(const std::string& key, const std::vector<int64_t>& fallback,
                                             int64_t min_value) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = args_.at(key);
  const std::string expected = "an integer >= " + std::to_string(min_value) + " or a list of them";
  std::vector<int64_t> out;
  if (v.is_number_integer()) out.push_back(v.get<int64_t>());
  else if (v.is_array() && !v.empty()) {
    for (const auto& e : v) {
      if (!e.is_number_integer()) bad(key, expected);
      out.push_back(e.get<int64_t>());
    }
  } else bad(key, expected);
  for (int64_t x : out)
    if (x < min_value) bad(key, expected);
  return out;
}

void ArgReader::get_image_size(const std::string& key, int64_t& h, int64_t& w) {
  const std::vector<int64_t> size = get_int_list(key, {h, w});
  if (size.size() > 2) bad(key, "an integer or [height, width]");
  h = size.front();
  w = size.back();
}

void ArgReader::finish() const {
  std::string unknown;
  for (const auto& item : args_.items())
    if (!known_.count(item.key())) unknown += (unknown.empty() ? "'" : ", '") + item.key() + "'";
  if (unknown.empty()) return;
  std::string accepted;
  for (const std::string& k : known_) accepted += (accepted.empty() ? "" : ", ") + k;
  throw std::invalid_argument(model_ + ": unknown model arg " + unknown + " (accepted: " + accepted + ")");
}

}  // namespace frost::models
