// args.h: reading timm's model_args (a JSON object with timm's keyword names) into a config.
// Every key must be consumed: an unknown key, or a value of the wrong type, is an error naming
// the model, the key and what was expected (and, for unknown keys, the keys the model accepts).
// Integers are bounded before anything is built from them: sizes by kMaxSize, num_classes by
// kMaxClasses (model args also arrive from checkpoint files).
#pragma once
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace frost::models {

constexpr int64_t kMaxSize = 65536;       // any width, depth, image or patch size
constexpr int64_t kMaxClasses = 1 << 20;  // a classifier head

class ArgReader {
 public:
  ArgReader(std::string model, const nlohmann::json& args);  // args: an object or null
  int64_t get_int(const std::string& key, int64_t fallback, int64_t min_value = 1);
  double get_double(const std::string& key, double fallback, double min_value = -1e6, double max_value = 1e6);
  bool get_bool(const std::string& key, bool fallback);
  std::string get_string(const std::string& key, const std::string& fallback, const std::vector<std::string>& choices);
  // An int or a list of ints (timm accepts both for img_size-like and per-stage arguments).
  std::vector<int64_t> get_int_list(const std::string& key, const std::vector<int64_t>& fallback, int64_t min_value = 1);
  // timm's img_size: an integer or [height, width]; updates h and w when given.
  void get_image_size(const std::string& key, int64_t& h, int64_t& w);
  bool has(const std::string& key);  // marks the key as known
  bool is_null(const std::string& key) const;
  // Throws when a key was never asked for.
  void finish() const;

 private:
  [[noreturn]] void bad(const std::string& key, const std::string& expected) const;
  std::string model_;
  nlohmann::json args_;
  std::set<std::string> known_;
};

}  // namespace frost::models
