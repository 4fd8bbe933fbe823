// json_file.h: JSON as frost reads it from files (adapter configs, split lists, checkpoint and
// safetensors headers) and writes it. Parsing is strict where nlohmann is lenient: a key given
// twice in one object is an error (nlohmann keeps the last), nesting deeper than kMaxJsonDepth
// is refused before any value is built (a file of brackets cannot cost gigabytes), and errors read
// "<origin>: not valid JSON at line L, column C: <what>". JsonFields reads an object's keys with
// their types and ranges checked, each error naming the origin and the key.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace frost {

constexpr int kMaxJsonDepth = 64;
constexpr uint64_t kMaxJsonFileBytes = uint64_t(64) << 20;  // configs and split lists

// `text` as JSON, strictly (see above); `origin` names it in errors.
nlohmann::json parse_json(const char* begin, const char* end, const std::string& origin);
inline nlohmann::json parse_json(const std::string& text, const std::string& origin) {
  return parse_json(text.data(), text.data() + text.size(), origin);
}

// A regular file of at most kMaxJsonFileBytes, parsed strictly. A missing file reads
// "<path>: cannot open (<hint>)".
nlohmann::json read_json_file(const std::string& path, const std::string& hint_when_missing);
// Writes `value` (indented) through AtomicFile: every write and the close checked, fsynced, renamed.
void write_json_file(const std::string& path, const nlohmann::json& value);

// Typed access to one JSON object's keys. A key that is absent or null counts as absent.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string origin);  // throws unless an object
  bool has(const std::string& key) const;
  const nlohmann::json& at(const std::string& key) const;  // throws naming the missing key
  // An integer in [min, max]; an integral float (3.0) counts, 1e300 or 2.5 do not.
  int64_t integer(const std::string& key, int64_t min, int64_t max) const;
  int64_t integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) const;
  // A finite number in [min, max].
  double number(const std::string& key, double min, double max) const;
  double number(const std::string& key, double fallback, double min, double max) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key) const;
  uint64_t decimal_u64(const std::string& key) const;  // a string of decimal digits (64-bit seeds)
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

 private:
  nlohmann::json object_;  // a copy: callers may pass a temporary
  std::string origin_;
};

}  // namespace frost
