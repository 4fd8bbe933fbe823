// image.cpp: see image.h.
#include "data/image.h"

#include <array>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <stb_image.h>

namespace frost::data {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::streamsize size = in.tellg();
  std::vector<uint8_t> bytes(size_t(std::max<std::streamsize>(size, 0)));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) throw std::runtime_error(path + ": read failed");
  return bytes;
}

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.empty()) throw std::runtime_error(name + ": empty file, not an image");
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &channels, 3), stbi_image_free);
  if (!data) throw std::runtime_error(name + ": cannot decode image (" + std::string(stbi_failure_reason()) + ")");
  Image img;
  img.height = h;
  img.width = w;
  img.pixels.resize(size_t(w) * size_t(h) * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = float(data.get()[i]);
  return img;
}

Image load_image(const std::string& path) { return decode_image(read_file(path), path); }

uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

bool is_gzip(const std::vector<uint8_t>& b) { return b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& b, const std::string& name) {
  auto fail = [&](const std::string& what) -> std::runtime_error { return std::runtime_error(name + ": " + what); };
  if (b.size() < 18 || !is_gzip(b)) throw fail("not a gzip file");
  if (b[2] != 8) throw fail("gzip compression method " + std::to_string(b[2]) + " is not deflate");
  const uint8_t flags = b[3];
  size_t pos = 10;
  if (flags & 4) {  // FEXTRA
    if (pos + 2 > b.size()) throw fail("truncated gzip header");
    pos += 2 + (size_t(b[pos]) | size_t(b[pos + 1]) << 8);
  }
  for (uint8_t field : {uint8_t(8), uint8_t(16)})  // FNAME, FCOMMENT: zero-terminated
    if (flags & field) {
      while (pos < b.size() && b[pos] != 0) ++pos;
      ++pos;
    }
  if (flags & 2) pos += 2;  // FHCRC
  if (pos + 8 > b.size()) throw fail("truncated gzip header");
  const uint8_t* tail = b.data() + b.size() - 8;
  const uint32_t want_crc = uint32_t(tail[0]) | uint32_t(tail[1]) << 8 | uint32_t(tail[2]) << 16 | uint32_t(tail[3]) << 24;
  const uint32_t size = uint32_t(tail[4]) | uint32_t(tail[5]) << 8 | uint32_t(tail[6]) << 16 | uint32_t(tail[7]) << 24;
  std::vector<uint8_t> out(size);
  const int got = stbi_zlib_decode_noheader_buffer(reinterpret_cast<char*>(out.data()), int(out.size()),
                                                   reinterpret_cast<const char*>(b.data() + pos), int(b.size() - pos));  // the trailer may be read ahead
  if (got < 0 || uint32_t(got) != size) throw fail("corrupt gzip data (inflate failed or length differs from the trailer)");
  if (crc32(out.data(), out.size()) != want_crc) throw fail("gzip CRC-32 mismatch: the file is corrupt");
  return out;
}

}  // namespace frost::data
