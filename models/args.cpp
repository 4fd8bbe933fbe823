// args.cpp: see args.h.
#include "models/args.h"

#include <cmath>
#include <stdexcept>

namespace frost::models {

ArgReader::ArgReader(std::string model, const nlohmann::json& args) : model_(std::move(model)), args_(args) {
  if (args_.is_null()) args_ = nlohmann::json::object();
  if (!args_.is_object()) throw std::invalid_argument(model_ + ": model args must be a JSON object, got " + args.dump());
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
  const int64_t max_value = key == "num_classes" ? kMaxClasses : kMaxSize;
  const std::string expected = "an integer in [" + std::to_string(min_value) + ", " + std::to_string(max_value) + "]";
  const nlohmann::json& v = args_.at(key);
  if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())) bad(key, expected);
  const double d = v.get<double>();  // compared as a double first: 1e300 must not reach an int64 cast
  if (d < double(min_value) || d > double(max_value)) bad(key, expected);
  return v.is_number_float() ? int64_t(d) : v.get<int64_t>();
}

double ArgReader::get_double(const std::string& key, double fallback, double min_value, double max_value) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = args_.at(key);
  if (!v.is_number() || !(v.get<double>() >= min_value && v.get<double>() <= max_value))
    bad(key, "a number in [" + nlohmann::json(min_value).dump() + ", " + nlohmann::json(max_value).dump() + "]");
  return v.get<double>();
}

bool ArgReader::get_bool(const std::string& key, bool fallback) {
  if (!has(key)) return fallback;
  if (!args_.at(key).is_boolean()) bad(key, "true or false");
  return args_.at(key).get<bool>();
}

std::string ArgReader::get_string(const std::string& key, const std::string& fallback, const std::vector<std::string>& choices) {
  if (!has(key)) return fallback;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "'" : ", '") + c + "'";
  if (!args_.at(key).is_string()) bad(key, "one of " + list);
  const std::string v = args_.at(key).get<std::string>();
  for (const std::string& c : choices)
    if (v == c) return v;
  bad(key, "one of " + list);
}

std::vector<int64_t> ArgReader::get_int_list(const std::string& key, const std::vector<int64_t>& fallback, int64_t min_value) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = args_.at(key);
  const std::string expected =
      "an integer in [" + std::to_string(min_value) + ", " + std::to_string(kMaxSize) + "] or a list of them";
  if (v.is_array() && (v.empty() || v.size() > size_t(kMaxSize))) bad(key, expected);
  std::vector<int64_t> out;
  for (const nlohmann::json& e : v.is_array() ? v : nlohmann::json::array({v})) {
    if (!e.is_number_integer() || e.get<double>() < double(min_value) || e.get<double>() > double(kMaxSize)) bad(key, expected);
    out.push_back(e.get<int64_t>());
  }
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
