// json_file.cpp: see json_file.h. Strict parsing is two passes: a SAX pass that builds nothing
// and stops at the first duplicate key, excess depth or syntax error, then nlohmann's own parse.
#include "engine/json_file.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <vector>

#include "engine/files.h"

namespace frost {

namespace {

using json = nlohmann::json;

// "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> "at line 1, column 2: ...".
std::string readable(const std::string& what) {
  std::string s = what;
  if (s.rfind("[json.exception.", 0) == 0 && s.find(']') != std::string::npos) s = s.substr(s.find(']') + 2);
  if (s.rfind("parse error ", 0) == 0) s = s.substr(12);
  return s;
}

std::string shortest(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

class StrictSax {
 public:
  std::string error;
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) {
    keys_.emplace_back();
    return enter();
  }
  bool key(json::string_t& k) {
    if (keys_.back().insert(k).second) return true;
    error = "key '" + k + "' appears twice in one object";
    return false;
  }
  bool end_object() {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    keys_.emplace_back();  // arrays hold no keys; one stack keeps the depth count simple
    return enter();
  }
  bool end_array() { return end_object(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error = readable(e.what());
    return false;
  }

 private:
  bool enter() {
    if (++depth_ <= kMaxJsonDepth) return true;
    error = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  std::vector<std::set<std::string>> keys_;
  int depth_ = 0;
};

}  // namespace

json parse_json(const char* begin, const char* end, const std::string& origin) {
  StrictSax sax;
  if (!json::sax_parse(begin, end, &sax)) throw std::runtime_error(origin + ": not valid JSON " + sax.error);
  try {
    return json::parse(begin, end);
  } catch (const std::exception& e) {  // not expected after the SAX pass; named all the same
    throw std::runtime_error(origin + ": not valid JSON " + readable(e.what()));
  }
}

json read_json_file(const std::string& path, const std::string& hint_when_missing) {
  std::string text;
  try {
    text = read_text_file(path, kMaxJsonFileBytes, "a JSON file");
  } catch (const std::runtime_error&) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw std::runtime_error(path + ": cannot open (" + hint_when_missing + ")");
    throw;
  }
  return parse_json(text, path);
}

void write_json_file(const std::string& path, const json& value) { write_file_atomic(path, value.dump(2) + "\n"); }

JsonFields::JsonFields(const json& object, std::string origin) : object_(object), origin_(std::move(origin)) {
  if (!object_.is_object())
    throw std::runtime_error(origin_ + ": expected a JSON object, got " + std::string(object_.type_name()));
}

void JsonFields::fail(const std::string& key, const std::string& what) const {
  throw std::runtime_error(origin_ + ": '" + key + "' " + what);
}

bool JsonFields::has(const std::string& key) const { return object_.contains(key) && !object_.at(key).is_null(); }

const json& JsonFields::at(const std::string& key) const {
  if (!has(key)) fail(key, "is missing");
  return object_.at(key);
}

int64_t JsonFields::integer(const std::string& key, int64_t min, int64_t max) const {
  const json& v = at(key);
  const std::string range = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(max)) fail(key, "must be " + range + ", got " + v.dump());
    return int64_t(u);
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i < min || i > max) fail(key, "must be " + range + ", got " + v.dump());
    return i;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) != d || d < double(min) || d > double(max)) fail(key, "must be " + range + ", got " + v.dump());
    return int64_t(d);
  }
  fail(key, "must be " + range + ", got " + v.dump());
}

int64_t JsonFields::integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) const {
  return has(key) ? integer(key, min, max) : fallback;
}

double JsonFields::number(const std::string& key, double min, double max) const {
  const json& v = at(key);
  if (!v.is_number()) fail(key, "must be a number, got " + v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < min || d > max)
    fail(key, "must be a finite number in [" + shortest(min) + ", " + shortest(max) + "], got " + v.dump());
  return d;
}

double JsonFields::number(const std::string& key, double fallback, double min, double max) const {
  return has(key) ? number(key, min, max) : fallback;
}

bool JsonFields::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const json& v = at(key);
  if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string JsonFields::string(const std::string& key) const {
  const json& v = at(key);
  if (!v.is_string()) fail(key, "must be a string, got " + v.dump());
  return v.get<std::string>();
}

uint64_t JsonFields::decimal_u64(const std::string& key) const {
  const std::string s = string(key);
  uint64_t value = 0;
  bool ok = !s.empty() && s.size() <= 20;
  for (char c : s) {
    if (c < '0' || c > '9' || value > (UINT64_MAX - uint64_t(c - '0')) / 10) ok = false;
    if (!ok) break;
    value = value * 10 + uint64_t(c - '0');
  }
  if (!ok) fail(key, "must be a decimal unsigned 64-bit integer, got \"" + s + "\"");
  return value;
}

}  // namespace frost
