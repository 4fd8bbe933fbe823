// cli.cpp: Flags, --device and JSON flag parsing, and the relative error benchmarks and tests compare by.
#include "tools/cli.h"

#include "engine/json_file.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace frost::cli {

namespace {

std::string flag_usage(const FlagSpec& f) { return "--" + f.name + (f.value.empty() ? "" : " " + f.value); }

// `text` broken at spaces into lines of at most `columns` characters, the ones after the first
// indented by `indent` (the first starts there already); ends with a newline.
std::string wrapped(const std::string& text, size_t indent, size_t columns) {
  const size_t room = columns > indent + 20 ? columns - indent : 20;
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > room) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line + "\n";
}

}  // namespace

std::string usage_text(const CommandSpec& spec) {
  std::string line = "usage: " + spec.name, out;
  const size_t indent = line.size() + 1;
  auto add = [&](const std::string& item) {
    if (line.size() + 1 + item.size() > 100) {
      out += line + "\n";
      line = std::string(indent, ' ') + item;
    } else {
      line += " " + item;
    }
  };
  for (const FlagSpec& f : spec.flags) {
    std::string item = f.required ? "" : "[";
    item += flag_usage(f);
    add(f.required ? item : item + "]");
  }
  if (!spec.positional.empty()) add(spec.positional);
  return out + line + "\n";
}

std::string help_text(const CommandSpec& spec) {
  std::string out = spec.name + ": " + spec.summary + "\n\n" + usage_text(spec);
  if (!spec.flags.empty()) out += "\nflags:\n";
  size_t width = 0;
  for (const FlagSpec& f : spec.flags) width = std::max(width, flag_usage(f).size());
  for (const FlagSpec& f : spec.flags) {
    const std::string left = flag_usage(f);
    std::string text = f.help;
    if (f.required) text += " (required)";
    if (!f.default_value.empty()) text += " (default: " + f.default_value + ")";
    out += "  " + left + std::string(width - left.size() + 2, ' ') + wrapped(text, width + 4, 100);
  }
  out += "  -h, --help" + std::string(width > 10 ? width - 8 : 2, ' ') + "this help\n";
  if (!spec.details.empty()) out += "\n" + spec.details + "\n";
  if (!spec.examples.empty()) out += "\nexamples:\n";
  for (const std::string& e : spec.examples) out += "  " + e + "\n";
  return out;
}

std::vector<FlagSpec> with_flags(std::vector<FlagSpec> flags, const std::vector<FlagSpec>& more) {
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

Flags::Flags(const CommandSpec& spec, const std::vector<std::string>& args) : spec_(spec) {
  auto fail = [&](const std::string& message) { throw UsageError(spec_.name + ": " + message, usage_text(spec_)); };
  auto find = [&](const std::string& name) -> const FlagSpec* {
    for (const FlagSpec& f : spec_.flags)
      if (f.name == name) return &f;
    return nullptr;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") throw HelpRequested(help_text(spec_));
    if (arg.rfind("--", 0) != 0) {
      if (spec_.positional.empty() || (arg.size() > 1 && arg[0] == '-')) fail("unexpected argument '" + arg + "'");
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* f = find(name);
    if (!f) fail("unknown flag --" + name);
    if (eq == std::string::npos) {
      if (f->value.empty())
        value.push_back('1');
      else if (i + 1 >= args.size())
        fail("flag --" + name + " needs a value (" + f->value + ")");
      else
        value = args[++i];
    } else if (f->value.empty()) {
      fail("flag --" + name + " takes no value");
    }
    values_[name] = value;
  }
}

const FlagSpec& Flags::flag(const std::string& name) const {
  for (const FlagSpec& f : spec_.flags)
    if (f.name == name) return f;
  throw std::logic_error(spec_.name + ": reads flag --" + name + ", which its spec does not list");
}

bool Flags::has(const std::string& name) const {
  flag(name);
  return values_.count(name) > 0;
}

std::string Flags::value_or_default(const std::string& name) const {
  const FlagSpec& f = flag(name);
  auto it = values_.find(name);
  return it == values_.end() ? f.default_value : it->second;
}

std::string Flags::get(const std::string& name) const { return value_or_default(name); }

std::string Flags::require(const std::string& name) const {
  flag(name);
  auto it = values_.find(name);
  if (it == values_.end()) throw UsageError(spec_.name + ": flag --" + name + " is required", usage_text(spec_));
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

int64_t Flags::get_int(const std::string& name, int64_t min_value) const {
  const std::string text = value_or_default(name);
  const int64_t v = parse_whole<int64_t>(
      spec_.name, name, text, [](const std::string& t, size_t* used) { return std::stoll(t, used); }, "an integer");
  if (v < min_value)
    throw std::invalid_argument(spec_.name + ": flag --" + name + " must be >= " + std::to_string(min_value) + ", got " + text);
  return v;
}

double Flags::get_double(const std::string& name) const {
  return parse_whole<double>(
      spec_.name, name, value_or_default(name), [](const std::string& t, size_t* used) { return std::stod(t, used); },
      "a number");
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

std::vector<double> parse_rgb_flag(const Flags& flags, const std::string& name) {
  if (!flags.has(name)) return {};
  std::vector<double> v;
  const std::string text = flags.get(name);
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    size_t used = 0;
    try {
      v.push_back(std::stod(part, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size())
      throw std::invalid_argument(flags.spec().name + ": flag --" + name + ": '" + part + "' is not a number");
    start = comma + 1;
  }
  if (v.size() == 1) v = {v[0], v[0], v[0]};
  if (v.size() != 3) throw std::invalid_argument(flags.spec().name + ": flag --" + name + " takes one number or three (R,G,B)");
  return v;
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
    return parse_json(flags.get(name), "flag --" + name);
  } catch (const std::exception& e) {
    throw std::invalid_argument(command + ": " + e.what());
  }
}

}  // namespace frost::cli
