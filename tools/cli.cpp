// cli.cpp: Flags.
#include "tools/cli.h"

#include <algorithm>
#include <stdexcept>

namespace frost::cli {

Flags::Flags(std::string command, const std::vector<std::string>& args, std::vector<std::string> allowed)
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
    } else {
      if (i + 1 >= args.size())
        throw std::invalid_argument(command_ + ": flag --" + name + " needs a value");
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

int64_t Flags::get_int(const std::string& name, int64_t fallback, int64_t min_value) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != it->second.size() || it->second.empty())
    throw std::invalid_argument(command_ + ": flag --" + name + ": '" + it->second + "' is not an integer");
  if (v < min_value)
    throw std::invalid_argument(command_ + ": flag --" + name + " must be >= " + std::to_string(min_value) +
                                ", got " + it->second);
  return v;
}

double Flags::get_double(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != it->second.size() || it->second.empty())
    throw std::invalid_argument(command_ + ": flag --" + name + ": '" + it->second + "' is not a number");
  return v;
}

}  // namespace frost::cli
