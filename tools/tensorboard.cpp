// tensorboard.cpp: see tensorboard.h. The protobuf wire format used: a field is a varint key
// (number << 3 | wire type) then its value: type 0 varint, 1 eight bytes LE, 2 varint length +
// bytes, 5 four bytes LE.
#include "tools/tensorboard.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "engine/files.h"

namespace frost::cli {

namespace fs = std::filesystem;

namespace {

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0x82F63B78u ^ (c >> 1) : c >> 1;  // the reflected Castagnoli polynomial
      t[i] = c;
    }
    return t;
  }();
  return table;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char(uint8_t(v) | 0x80);
    v >>= 7;
  }
  out += char(uint8_t(v));
}

template <typename T>
void put_fixed(std::string& out, T v) {  // little-endian, as the wire format wants (x86 and ARM are)
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_varint(out, uint64_t(field) << 3 | 2);
  put_varint(out, bytes.size());
  out += bytes;
}

double now_seconds() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string event_header(double wall_time, int64_t step) {
  std::string e;
  put_varint(e, 1 << 3 | 1);
  put_fixed(e, wall_time);
  put_varint(e, 2 << 3 | 0);
  put_varint(e, uint64_t(step));
  return e;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  const auto& table = crc_table();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create the TensorBoard log folder (" + ec.message() + ")");
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  path_ = (fs::path(dir) / ("events.out.tfevents." + std::to_string(int64_t(now_seconds())) + "." + host + "." +
                            std::to_string(getpid()) + ".frost"))
              .string();
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw std::runtime_error(path_ + ": cannot create the event file (" + std::strerror(errno) + ")");
  std::string e = event_header(now_seconds(), 0);
  put_bytes(e, 3, "brain.Event:2");
  record(e);
  flush();
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::record(const std::string& event) {
  std::string r;
  put_fixed(r, uint64_t(event.size()));
  put_fixed(r, masked_crc32c(r.data(), 8));
  r += event;
  put_fixed(r, masked_crc32c(event.data(), event.size()));
  if (std::fwrite(r.data(), 1, r.size(), file_) != r.size())
    throw std::runtime_error(path_ + ": writing the event file failed (" + std::strerror(errno) + ")");
}

void EventWriter::scalar(const std::string& tag, double value, int64_t step) {
  std::string v;
  put_bytes(v, 1, tag);
  put_varint(v, 2 << 3 | 5);
  put_fixed(v, float(value));
  std::string summary;
  put_bytes(summary, 1, v);
  std::string e = event_header(now_seconds(), step);
  put_bytes(e, 5, summary);
  record(e);
}

void EventWriter::flush() {
  if (std::fflush(file_) != 0) throw std::runtime_error(path_ + ": writing the event file failed (" + std::strerror(errno) + ")");
}

namespace {

// A protobuf message's fields, each checked to lie inside it; `fn(field, wire type, value
// for varint / fixed types, bytes for length-delimited)`.
class Fields {
 public:
  Fields(const std::string& bytes, std::string where) : b_(bytes), where_(std::move(where)) {}
  template <typename Fn>
  void each(Fn&& fn) {
    while (pos_ < b_.size()) {
      const uint64_t key = varint();
      const int type = int(key & 7), field = int(key >> 3);
      if (type == 0) {
        fn(field, type, varint(), std::string());
      } else if (type == 1 || type == 5) {
        const size_t n = type == 1 ? 8 : 4;
        need(n);
        uint64_t v = 0;
        std::memcpy(&v, b_.data() + pos_, n);
        pos_ += n;
        fn(field, type, v, std::string());
      } else if (type == 2) {
        const uint64_t n = varint();
        need(n);
        fn(field, type, 0, b_.substr(pos_, size_t(n)));
        pos_ += size_t(n);
      } else {
        throw std::runtime_error(where_ + ": unsupported protobuf wire type " + std::to_string(type));
      }
    }
  }

 private:
  void need(uint64_t n) const {
    if (n > b_.size() - pos_) throw std::runtime_error(where_ + ": a protobuf field runs past its message");
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      const uint8_t byte = uint8_t(b_[pos_++]);
      v |= uint64_t(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return v;
    }
    throw std::runtime_error(where_ + ": a protobuf varint is longer than 10 bytes");
  }
  const std::string& b_;
  std::string where_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<ScalarEvent> read_scalar_events(const std::string& path, std::string* file_version) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, uint64_t(1) << 32, "a TensorBoard event file");
  std::vector<ScalarEvent> out;
  size_t pos = 0;
  for (int64_t index = 0; pos < bytes.size(); ++index) {
    const std::string where = path + ": record " + std::to_string(index);
    if (bytes.size() - pos < 12) throw std::runtime_error(where + ": truncated header");
    uint64_t length = 0;
    uint32_t crc = 0;
    std::memcpy(&length, bytes.data() + pos, 8);
    std::memcpy(&crc, bytes.data() + pos + 8, 4);
    if (crc != masked_crc32c(bytes.data() + pos, 8)) throw std::runtime_error(where + ": the length's CRC does not match");
    if (length > bytes.size() - pos - 12 || bytes.size() - pos - 12 - length < 4) throw std::runtime_error(where + ": truncated");
    const std::string event(reinterpret_cast<const char*>(bytes.data() + pos + 12), size_t(length));
    std::memcpy(&crc, bytes.data() + pos + 12 + length, 4);
    if (crc != masked_crc32c(event.data(), event.size())) throw std::runtime_error(where + ": the data's CRC does not match");
    pos += 16 + size_t(length);
    ScalarEvent s;
    bool scalar = false;
    Fields(event, where).each([&](int field, int type, uint64_t v, const std::string& b) {
      if (field == 1 && type == 1) std::memcpy(&s.wall_time, &v, 8);
      if (field == 2 && type == 0) s.step = int64_t(v);
      if (field == 3 && type == 2 && file_version) *file_version = b;
      if (field != 5 || type != 2) return;
      Fields(b, where + " summary").each([&](int f2, int t2, uint64_t, const std::string& value) {
        if (f2 != 1 || t2 != 2) return;
        Fields(value, where + " value").each([&](int f3, int t3, uint64_t x, const std::string& text) {
          if (f3 == 1 && t3 == 2) s.tag = text;
          if (f3 == 2 && t3 == 5) {
            const uint32_t bits = uint32_t(x);
            std::memcpy(&s.value, &bits, 4);
            scalar = true;
          }
        });
      });
    });
    if (scalar) out.push_back(s);
  }
  return out;
}

}  // namespace frost::cli
