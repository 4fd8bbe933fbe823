// json_file.cpp: see json_file.h.
#include "engine/json_file.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace frost {

nlohmann::json read_json_file(const std::string& path, const std::string& hint_when_missing) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open (" + hint_when_missing + ")");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  {
    std::ofstream out(path + ".tmp");
    out << value.dump(2) << "\n";
    if (!out) throw std::runtime_error(path + ": cannot write");
  }
  std::filesystem::rename(path + ".tmp", path);
}

}  // namespace frost
