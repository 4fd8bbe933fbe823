// safetensors.cpp: the reader validates, in order: a regular file, file size >= 8, header length
// inside the file (and <= 100 MB), a space-padded JSON object (strict: no duplicate key, bounded
// depth), each entry's dtype/shape/offsets, shape x element size == byte range without overflow,
// ranges inside the data buffer and tiling it exactly, the checksums' metadata.
#include "engine/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "engine/dispatch.h"
#include "engine/files.h"
#include "engine/json_file.h"
#include "engine/ops.h"

namespace frost {

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeader = 100'000'000;
constexpr uint64_t kMaxElements = uint64_t(1) << 62;
constexpr size_t kMaxRank = 64;

struct DtypeInfo {
  const char* name;
  size_t bytes;  // 0 for sub-byte formats we do not read
  bool frost_native;
  DType frost;
};

const DtypeInfo kDtypes[] = {
    {"F32", 4, true, DType::f32},      {"F64", 8, true, DType::f64},          {"BF16", 2, true, DType::bf16},
    {"F16", 2, true, DType::f16},      {"I64", 8, true, DType::i64},          {"U8", 1, true, DType::u8},
    {"BOOL", 1, true, DType::boolean}, {"I8", 1, false, DType::i64},          {"I16", 2, false, DType::i64},
    {"U16", 2, false, DType::i64},     {"I32", 4, false, DType::i64},         {"U32", 4, false, DType::i64},
    {"U64", 8, false, DType::i64},     {"F8_E5M2", 1, false, DType::f32},     {"F8_E4M3", 1, false, DType::f32},
    {"F8_E8M0", 1, false, DType::f32}, {"F8_E4M3FNUZ", 1, false, DType::f32}, {"F8_E5M2FNUZ", 1, false, DType::f32},
    {"C64", 8, false, DType::f32},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw std::runtime_error(path + ": " + what); }

int64_t load_integer(const char* p, const std::string& dtype, int64_t i) {
  auto read = [&](auto tag) {
    decltype(tag) v;
    std::memcpy(&v, p + i * int64_t(sizeof(v)), sizeof(v));
    return int64_t(v);
  };
  if (dtype == "I8") return read(int8_t{});
  if (dtype == "I16") return read(int16_t{});
  if (dtype == "U16") return read(uint16_t{});
  if (dtype == "I32") return read(int32_t{});
  if (dtype == "U32") return read(uint32_t{});
  return read(uint64_t{});  // U64 (values beyond 2^63 wrap; checked by the caller)
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  for (const DtypeInfo& d : kDtypes)
    if (d.frost_native && d.frost == dtype) return d.name;
  return "?";
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  const ReadableFile source(path);  // a regular file, or an error naming it (never blocks on a FIFO)
  const uint64_t size = source.size();
  if (size < 8) fail(path, "truncated: " + std::to_string(size) + " bytes, a safetensors file needs at least 8");
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, source.fd(), 0);
  if (map == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(errno));
  file.mapping_ = std::shared_ptr<void>(map, [size](void* p) { munmap(p, size); });
  const char* bytes = static_cast<const char*>(map);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(bytes[i]);
  if (header_len > kMaxHeader) fail(path, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  if (header_len > size - 8)
    fail(path,
         "header length " + std::to_string(header_len) + " runs past the end of the file (" + std::to_string(size) + " bytes)");
  const uint64_t data_size = size - 8 - header_len;
  file.data_ = bytes + 8 + header_len;
  file.parse_header(bytes + 8, header_len, data_size);
  return file;
}

void SafetensorsFile::parse_header(const char* text, uint64_t length, uint64_t data_size) {
  // The format: a JSON object starting at the first byte, padded at the end with spaces only.
  uint64_t used = length;
  while (used > 0 && text[used - 1] == ' ') --used;
  if (used == 0 || text[0] != '{' || text[used - 1] != '}')
    fail(path_, "header is not a JSON object (it must start with '{' and end with '}', padded with spaces only)");
  const json header = parse_json(text, text + used, path_ + ": header");
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) fail(path_, "__metadata__ is not an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) fail(path_, "__metadata__ value '" + m.key() + "' is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    entries_.push_back(parse_entry(it.key(), it.value(), data_size));
  }
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  // The tensors must tile the data buffer exactly, as the format demands (no overlap, no hole,
  // nothing after the last one: a file cannot carry a second payload).
  uint64_t covered = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    index_[entries_[i].name] = i;
    if (i > 0 && entries_[i].begin < entries_[i - 1].end)
      fail(path_, "tensors '" + entries_[i - 1].name + "' and '" + entries_[i].name + "' overlap");
    if (entries_[i].begin > covered)
      fail(path_, "the data buffer has a hole at [" + std::to_string(covered) + ", " + std::to_string(entries_[i].begin) +
                      ") before tensor '" + entries_[i].name + "' (the format allows none)");
    covered = std::max(covered, entries_[i].end);
  }
  if (covered != data_size)
    fail(path_, std::to_string(data_size - covered) + " bytes follow the last tensor's data (the format allows none)");
  read_checksums();
}

SafetensorsFile::Entry SafetensorsFile::parse_entry(const std::string& name, const json& v, uint64_t data_size) const {
  const std::string where = "tensor '" + name + "': ";
  if (name.empty()) fail(path_, "a tensor has an empty name");
  if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
    fail(path_, where + "entry needs dtype, shape and data_offsets");
  if (!v["dtype"].is_string()) fail(path_, where + "dtype is not a string");
  Entry e;
  e.name = name;
  e.dtype_name = v["dtype"].get<std::string>();
  const DtypeInfo* info = find_dtype(e.dtype_name);
  if (!info) fail(path_, where + "unknown dtype '" + e.dtype_name + "'");
  if (!v["shape"].is_array()) fail(path_, where + "shape is not an array");
  if (v["shape"].size() > kMaxRank) fail(path_, where + "shape has more than " + std::to_string(kMaxRank) + " dimensions");
  // Both the element count and the product of the non-zero sizes (the largest stride a view of
  // the tensor can have) must stay below 2^62, and so must the byte count.
  uint64_t numel = 1, extent = 1;
  for (const json& d : v["shape"]) {
    if (!d.is_number_unsigned()) fail(path_, where + "shape has a non-integer or negative entry " + d.dump());
    const uint64_t s = d.get<uint64_t>();
    if (s > kMaxElements || (s != 0 && extent > kMaxElements / s))
      fail(path_, where + "shape " + v["shape"].dump() + " is too large (more than 2^62 elements)");
    extent *= std::max<uint64_t>(s, 1);
    numel *= s;
    e.shape.push_back(int64_t(s));
  }
  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    fail(path_, where + "data_offsets must be [begin, end] with non-negative integers");
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  if (e.end < e.begin) fail(path_, where + "data_offsets end < begin");
  if (numel > kMaxElements / info->bytes)
    fail(path_, where + "shape " + shape_str(e.shape) + " of " + e.dtype_name + " is more than 2^62 bytes");
  const uint64_t need = numel * info->bytes;
  if (e.end - e.begin != need)
    fail(path_, where + "shape " + shape_str(e.shape) + " of " + e.dtype_name + " needs " + std::to_string(need) +
                    " bytes but data_offsets span " + std::to_string(e.end - e.begin));
  if (e.end > data_size)
    fail(path_, where + "data [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ") lies outside the data buffer (" +
                    std::to_string(data_size) + " bytes)");
  return e;
}

void SafetensorsFile::read_checksums() {
  auto it = metadata_.find(kChecksumKey);
  if (it == metadata_.end()) return;
  const json sums = parse_json(it->second, path_ + ": __metadata__ '" + kChecksumKey + "'");
  if (!sums.is_object()) fail(path_, std::string("__metadata__ '") + kChecksumKey + "' is not an object of CRC-32s");
  for (auto s = sums.begin(); s != sums.end(); ++s) {
    if (!contains(s.key()))
      fail(path_, std::string("__metadata__ '") + kChecksumKey + "' names tensor '" + s.key() + "', which the file lacks");
    const std::string hex = s.value().is_string() ? s.value().get<std::string>() : "";
    char* stop = nullptr;
    const unsigned long long crc = std::strtoull(hex.c_str(), &stop, 16);
    if (hex.size() != 8 || *stop != 0)
      fail(path_, "tensor '" + s.key() + "': checksum " + s.value().dump() + " is not 8 hex digits");
    checksums_[s.key()] = uint32_t(crc);
  }
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) out.push_back(e.name);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) > 0; }

const SafetensorsFile::Entry& SafetensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(path_, "no tensor named '" + name + "'");
  return entries_[it->second];
}

void SafetensorsFile::verify(const Entry& e) const {
  auto sum = checksums_.find(e.name);
  if (sum == checksums_.end()) return;
  const uint32_t got = crc32(data_ + e.begin, e.end - e.begin);
  if (got != sum->second) {
    char detail[64];
    std::snprintf(detail, sizeof detail, "stored %08x, data %08x", sum->second, got);
    fail(path_, "tensor '" + e.name + "': checksum mismatch (CRC-32 " + detail + "): the file is corrupt");
  }
}

Tensor SafetensorsFile::get(const std::string& name) const {
  const Entry& e = entry(name);
  verify(e);
  const DtypeInfo* info = find_dtype(e.dtype_name);
  const char* p = data_ + e.begin;
  if (info->frost == DType::boolean)
    for (uint64_t i = 0; i < e.end - e.begin; ++i)
      if (uint8_t(p[i]) > 1)
        fail(path_, "tensor '" + name + "': BOOL element " + std::to_string(i) + " has byte value " +
                        std::to_string(uint8_t(p[i])) + " (only 0 and 1 are booleans)");
  if (info->frost_native) {
    Tensor view = Tensor::from_external(const_cast<char*>(p), e.shape, info->frost, Device::cpu(), mapping_);
    // Offsets need not be multiples of the element size; kernels assume natural alignment.
    return reinterpret_cast<uintptr_t>(p) % dtype_size(info->frost) == 0 ? view : view.clone();
  }
  if (info->frost == DType::i64) {  // other integer widths: widen to i64
    Tensor t = Tensor::empty(e.shape, DType::i64);
    int64_t* out = t.typed_data<int64_t>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      out[i] = load_integer(p, e.dtype_name, i);
      if (e.dtype_name == "U64" && out[i] < 0) fail(path_, "tensor '" + name + "': U64 value does not fit in i64");
    }
    return t;
  }
  fail(path_, "tensor '" + name + "': dtype " + e.dtype_name + " is not supported by frost");
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::set<std::string> seen;
  std::vector<Tensor> host;
  json entries = json::object(), sums = json::object();
  uint64_t offset = 0;
  for (const NamedTensor& nt : tensors) {
    if (nt.name.empty() || nt.name == "__metadata__")
      throw std::invalid_argument(path + ": invalid tensor name '" + nt.name + "'");
    if (!seen.insert(nt.name).second) throw std::invalid_argument(path + ": tensor '" + nt.name + "' given twice");
    if (!nt.tensor.defined()) throw std::invalid_argument(path + ": tensor '" + nt.name + "' is undefined");
    Tensor t = copy_contiguous(nt.tensor.detach().to(Device::cpu()), nt.tensor.dtype());
    entries[nt.name] = {
        {"dtype", safetensors_dtype_name(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", crc32(t.raw_data(), t.nbytes()));
    sums[nt.name] = hex;
    offset += t.nbytes();
    host.push_back(std::move(t));
  }
  json header = json::object();
  std::map<std::string, std::string> meta = metadata;
  meta[kChecksumKey] = sums.dump();
  header["__metadata__"] = meta;
  header.update(entries);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  // A crash or a full disk leaves either the old file or the new one, never a truncated one.
  AtomicFile out(path);
  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  out.write(len, 8);
  out.write(text);
  for (const Tensor& t : host) out.write(t.raw_data(), t.nbytes());
  out.commit();
}

LoadReport load_tensors(Module& module, const std::vector<NamedTensor>& source, const std::string& origin, bool strict,
                        const std::set<std::string>& skip) {
  std::map<std::string, const Tensor*> by_name;
  for (const NamedTensor& t : source) by_name[t.name] = &t.tensor;
  LoadReport report;
  std::set<std::string> known;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source), checked before any write
  for (const NamedTensor& entry : module.state_dict()) {
    known.insert(entry.name);
    if (skip.count(entry.name)) continue;
    auto it = by_name.find(entry.name);
    if (it == by_name.end()) {
      report.missing.push_back(entry.name);
      continue;
    }
    if (it->second->shape() != entry.tensor.shape())
      fail(origin, "tensor '" + entry.name + "' has shape " + shape_str(it->second->shape()) + " but the model expects " +
                       shape_str(entry.tensor.shape()));
    copies.emplace_back(entry.tensor, *it->second);
  }
  for (const NamedTensor& t : source)
    if (!known.count(t.name)) report.unexpected.push_back(t.name);
  if (strict && !report.missing.empty())
    fail(origin,
         std::to_string(report.missing.size()) + " model tensors are missing from the file: " + list_names(report.missing));
  if (strict && !report.unexpected.empty())
    fail(origin, std::to_string(report.unexpected.size()) +
                     " tensors in the file are not in the model: " + list_names(report.unexpected));
  for (auto& [dst, src] : copies) copy_into(dst.detach(), src);  // all checks passed: now write
  return report;
}

LoadReport load_safetensors(Module& module, const std::string& path, bool strict) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  std::vector<NamedTensor> source;
  for (const SafetensorsFile::Entry& e : file.entries()) source.push_back({e.name, file.get(e.name)});
  return load_tensors(module, source, path, strict);
}

std::string list_names(const std::vector<std::string>& names, size_t limit) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > limit) out += " and " + std::to_string(names.size() - limit) + " more";
  return out;
}

}  // namespace frost
