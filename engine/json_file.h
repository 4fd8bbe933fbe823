// json_file.h: reading and writing a JSON file (adapter configs, split lists) with errors that name the file:
// "<path>: cannot open (<hint>)" and "<path>: not valid JSON: <parser message>".
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace frost {

nlohmann::json read_json_file(const std::string& path, const std::string& hint_when_missing);
// Writes `value` (indented) to path + ".tmp", then renames it into place: a reader never sees half.
void write_json_file(const std::string& path, const nlohmann::json& value);

}  // namespace frost
