// targets.h: frost's fuzz targets, one table for the libFuzzer binaries (tests/fuzz/meson.build
// builds fuzz_<name> for each) and for the corpus replay the normal build runs as a test. A
// target feeds its bytes to one parser the way a file would arrive; a rejection (any
// std::exception) is a correct answer, a crash, hang, leak or sanitizer report is not.
#pragma once
#include <cstddef>
#include <cstdint>

namespace frost::fuzz {

using Target = int (*)(const uint8_t* data, size_t size);

struct TargetInfo {
  const char* name;  // the corpus folder tests/fuzz/corpus/<name> and the binary fuzz_<name>
  Target run;
  const char* dict;  // tests/fuzz/dict/<dict>.dict
  const char* what;
};

int safetensors(const uint8_t* data, size_t size);  // header + data split at the first NUL, or raw bytes
int json_config(const uint8_t* data, size_t size);  // adapter_config.json, frost_peft.json, model args
int image(const uint8_t* data, size_t size);        // stb_image decode under the pixel limit
int idx(const uint8_t* data, size_t size);          // gzip, IDX image+label pair, CIFAR records
int split_list(const uint8_t* data, size_t size);   // VTAB .txt and FGVC .json split lists
int checkpoint(const uint8_t* data, size_t size);   // a training checkpoint's position and identity

inline constexpr TargetInfo kTargets[] = {
    {"safetensors", safetensors, "safetensors", "safetensors header and data"},
    {"json_config", json_config, "json", "adapter configs, frost_peft.json, model args"},
    {"image", image, "image", "JPEG/PNG/BMP/PNM decoding"},
    {"idx", idx, "idx", "gzip, IDX and CIFAR files"},
    {"split_list", split_list, "json", "VTAB and FGVC split lists"},
    {"checkpoint", checkpoint, "json", "checkpoint position and identity metadata"},
};

}  // namespace frost::fuzz
