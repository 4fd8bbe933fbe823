// cli.cpp: Flags, --device and JSON flag parsing, and the relative error benchmarks and tests compare by.
#include "tools/cli.h"

#include "engine/json_file.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace frost::cli {

Flags::Flags(std::string command, const std::vector<std::string>& args, std::vector<std::string> allowed,
             std::vector<std::string> switches)
    : command_(std::move(command)), allowed_(std::move(allowed)) {
  auto expected = [&] {
    std::string list;
    for (const std::string& a : allowed_) list += (list.empty() ? "--" : ", --") + a;
    return list.empty() ? std::string("no flags") : list;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0)
      throw std::invalid_argument(command_ + ": unexpected argument '" + arg + "' (expected " + expected() + ")");
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
      value = "1";
    } else {
      if (i + 1 >= args.size()) throw std::invalid_argument(command_ + ": flag --" + name + " needs a value");
      value = args[++i];
    }
    if (std::find(allowed_.begin(), allowed_.end(), name) == allowed_.end())
      throw std::invalid_argument(command_ + ": unknown flag --" + name + " (expected " + expected() + ")");
    values_[name] = value;
  }
}

std::string Flags::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Flags::require(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::invalid_argument(command_ + ": flag --" + name + " is required");
  return it->second;
}

namespace {
// Parses all of `text` with `parse` (std::stoll / std::stod style) or throws naming the flag.
template <typename T, typename Parse>
T parse_whole(const std::string& command, const std::string& name, const std::string& text, Parse parse, const char* what) {
  size_t used = 0;
  T v{};
  try {
    v = parse(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty())
    throw std::invalid_argument(command + ": flag --" + name + ": '" + text + "' is not " + what);
  return v;
}
}  // namespace

int64_t Flags::get_int(const std::string& name, int64_t fallback, int64_t min_value) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const int64_t v = parse_whole<int64_t>(
      command_, name, it->second, [](const std::string& t, size_t* used) { return std::stoll(t, used); }, "an integer");
  if (v < min_value)
    throw std::invalid_argument(command_ + ": flag --" + name + " must be >= " + std::to_string(min_value) + ", got " +
                                it->second);
  return v;
}

double Flags::get_double(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  return parse_whole<double>(
      command_, name, it->second, [](const std::string& t, size_t* used) { return std::stod(t, used); }, "a number");
}

double relative_error(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  if (x.size() != y.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) return INFINITY;
    num += (x[i] - y[i]) * (x[i] - y[i]);
    den += y[i] * y[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

Device parse_device_flag(const std::string& value) {
  Device device;
  try {
    device = Device::parse(value);
    if (!device.is_cpu()) allocator_for(device);  // throws: no CUDA backend, or no such device
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("--device ") + value + ": " + e.what());
  }
  select_device(device);
  return device;
}

DType parse_precision_flag(const std::string& value) {
  if (value == "f32") return DType::f32;
  if (value == "bf16") return DType::bf16;
  throw std::invalid_argument("--precision " + value + ": expected f32 or bf16");
}

nlohmann::json parse_json_flag(const Flags& flags, const std::string& command, const std::string& name) {
  if (!flags.has(name)) return nlohmann::json::object();
  try {
    return parse_json(flags.get(name, "{}"), "flag --" + name);
  } catch (const std::exception& e) {
    throw std::invalid_argument(command + ": " + e.what());
  }
}

}  // namespace frost::cli
