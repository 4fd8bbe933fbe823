// options.h: typed reading of one method's `key=value` options from a --peft spec, with the
// errors every method shares: bad numbers, unknown keys (listing the known ones), and per-layer
// lists (`dim=[8,8,0,...]`, NOAH style) whose length must equal the backbone's block count.
// Integers (ranks, bottleneck widths, token counts) are at most kMaxOptionInteger, so a spec
// (typed, or read from an adapter folder or a checkpoint) cannot ask for gigabytes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace frost::peft {

constexpr int64_t kMaxOptionInteger = 4096;

struct MethodSpec {
  std::string name;
  std::map<std::string, std::string> options;  // in the order of the map (sorted)
};

// Splits on `sep` outside square brackets; a trailing separator gives an empty last part.
std::vector<std::string> split_top_level(const std::string& text, char sep);

class Options {
 public:
  explicit Options(const MethodSpec& m) : method_(m) {}
  const std::string& method() const { return method_.name; }
  bool has(const std::string& key) const { return method_.options.count(key) > 0; }
  std::string get(const std::string& key, const std::string& fallback);
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed);
  double number(const std::string& key, double fallback);
  double probability(const std::string& key, double fallback);  // a dropout rate in [0, 1)
  int64_t integer(const std::string& key, int64_t fallback, int64_t min_value);
  bool flag(const std::string& key, bool fallback);
  // One integer per block: a single value for all, or a list `[a,b,...]` of exactly `blocks` values.
  std::vector<int64_t> per_block(const std::string& key, int64_t fallback, int64_t min_value, size_t blocks);
  // Throws for any key no getter asked for.
  void finish() const;
  // "--peft NAME: " for messages.
  std::string where() const { return "--peft " + method_.name + ": "; }

 private:
  int64_t to_integer(const std::string& key, const std::string& text, int64_t min_value) const;
  const MethodSpec& method_;
  std::vector<std::string> known_;
};

}  // namespace frost::peft
