// safetensors.h: reading (memory-mapped, zero-copy) and writing the safetensors format:
// 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// optional "__metadata__" (string -> string), then the data buffer. Every check the format
// allows is made when the file is opened, and every error names the file and the tensor.
// Files frost writes carry a CRC-32 per tensor (metadata key kChecksumKey, a JSON object of
// name -> 8 hex digits); get() verifies it, so flipped bytes are refused, not loaded.
#pragma once
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine/module.h"
#include "engine/tensor.h"

namespace frost {

inline constexpr const char* kChecksumKey = "frost_crc32";

class SafetensorsFile {
 public:
  struct Entry {
    std::string name;
    std::string dtype_name;  // as in the file ("F32", "BF16", ...)
    Shape shape;
    size_t begin = 0, end = 0;  // relative to the data buffer
  };

  // Maps and validates `path`; throws std::runtime_error naming the file (and tensor).
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<Entry>& entries() const { return entries_; }  // in data-offset order
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const Entry& entry(const std::string& name) const;  // throws naming the missing key
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor `name` on the CPU: a view of the mapping for frost's dtypes (kept alive by the
  // tensor), an i64 copy for other integer dtypes; other dtypes (F8, F4, ...) throw, and so do a
  // checksum mismatch and BOOL bytes other than 0 and 1.
  Tensor get(const std::string& name) const;
  bool has_checksum(const std::string& name) const { return checksums_.count(name) > 0; }
  void verify(const Entry& e) const;  // throws on a checksum mismatch (no-op without a checksum)

 private:
  void parse_header(const char* text, uint64_t length, uint64_t data_size);
  Entry parse_entry(const std::string& name, const nlohmann::json& value, uint64_t data_size) const;
  void read_checksums();
  std::string path_;
  std::shared_ptr<void> mapping_;
  const char* data_ = nullptr;  // start of the data buffer
  std::vector<Entry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, uint32_t> checksums_;
};

// Writes `tensors` (any device, any layout) in the given order with the header padded to a
// multiple of 8 and a CRC-32 per tensor, through AtomicFile: an existing file is never left
// half-written, and a failed write throws naming `path`. Duplicate or empty names throw.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Copies the tensors of `path` into `module`'s state dict by name, converting dtype, in place (the
// parameters keep their identity, trainability and masks). A shape mismatch always throws, naming
// the file, the key and both shapes. With `strict`, a key the model has and the file lacks, or the
// file has and the model lacks, throws too (listing them); otherwise they are returned.
struct LoadReport {
  std::vector<std::string> missing;     // in the model, not in the file
  std::vector<std::string> unexpected;  // in the file, not in the model
};
LoadReport load_safetensors(Module& module, const std::string& path, bool strict = true);
// The same for tensors already read (e.g. fixed up by a model's checkpoint rules); `origin` names
// them in errors, and model keys in `skip` are neither loaded nor reported missing.
LoadReport load_tensors(Module& module, const std::vector<NamedTensor>& source, const std::string& origin, bool strict,
                        const std::set<std::string>& skip = {});
// "'a', 'b', 'c' and 5 more": names quoted, at most `limit` of them.
std::string list_names(const std::vector<std::string>& names, size_t limit = 8);

// Safetensors dtype string for a frost dtype ("F32", "BOOL", ...), and back (throws).
const char* safetensors_dtype_name(DType dtype);

}  // namespace frost
