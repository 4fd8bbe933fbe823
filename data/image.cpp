// image.cpp: see image.h.
#include "data/image.h"

#include "engine/files.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

#include <stb_image.h>

namespace frost::data {

namespace {

std::atomic<int64_t> g_max_image_pixels{kDefaultMaxImagePixels};

}  // namespace

size_t set_stb_budget(size_t bytes);  // stb_image_impl.cpp

namespace {

// For its lifetime, stb_image allocates no block above `bytes` in this thread.
class StbBudget {
 public:
  explicit StbBudget(size_t bytes) : saved_(set_stb_budget(bytes)) {}
  ~StbBudget() { set_stb_budget(saved_); }
  StbBudget(const StbBudget&) = delete;
  StbBudget& operator=(const StbBudget&) = delete;

 private:
  size_t saved_;
};

// What the first bytes say the file is, for error messages.
const char* sniff_format(const std::vector<uint8_t>& b) {
  auto starts = [&](std::initializer_list<uint8_t> magic) {
    return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
  };
  if (starts({0x89, 'P', 'N', 'G'})) return "PNG";
  if (starts({0xff, 0xd8})) return "JPEG";
  if (starts({'B', 'M'})) return "BMP";
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return "PNM";
  if (starts({'G', 'I', 'F'})) return "GIF";
  if (starts({'R', 'I', 'F', 'F'})) return "WebP";
  return nullptr;
}

// stb_image's terse failure codes ("bad png sig", "outofdata") as a sentence.
std::string decode_failure(const std::vector<uint8_t>& bytes) {
  const std::string code = stbi_failure_reason() ? stbi_failure_reason() : "unknown error";
  const char* format = sniff_format(bytes);
  if (code == "unknown image type") {
    char head[64];
    std::snprintf(head, sizeof head, "%02x %02x %02x %02x", bytes.size() > 0 ? bytes[0] : 0, bytes.size() > 1 ? bytes[1] : 0,
                  bytes.size() > 2 ? bytes[2] : 0, bytes.size() > 3 ? bytes[3] : 0);
    return std::string("not an image frost reads (JPEG, PNG, BMP or PNM)") +
           (format ? std::string(": it looks like ") + format : "") + ", first bytes " + head;
  }
  if (code == "outofmem") return std::string("decoding this ") + (format ? format : "image") + " needs more memory than allowed";
  return std::string(format ? format : "image") +
         " data is corrupt or uses a feature stb_image does not read (stb_image: " + code + ")";
}

// A PNM header's numbers (width, height, maximum value) must have at most 8 digits: stb_image
// 2.27 parses them into an int without an overflow check (found by fuzzing).
void check_pnm_header(const std::vector<uint8_t>& b, const std::string& name) {
  size_t i = 2;
  for (int field = 0; field < 3 && i < b.size(); ++field) {
    while (i < b.size() && (std::isspace(b[i]) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      else
        ++i;
    }
    size_t digits = 0;
    while (i < b.size() && std::isdigit(b[i])) ++i, ++digits;
    if (digits > 8)
      throw std::runtime_error(name + ": PNM header number with " + std::to_string(digits) + " digits: the file is corrupt");
    if (digits == 0) return;  // malformed: stb_image reports it
  }
}

// stb_image 2.27 builds a JPEG Huffman table (DHT) without checking that its 16 code counts sum
// to at most 256, and writes past the table when they do (found by fuzzing). This walks the
// markers as stb does (junk bytes skipped, 0xFF fill before a marker, bytes past the end read as
// 0) and refuses such a table before stb sees it; the entropy-coded data of a valid file never
// holds a marker byte, so valid files pass.
void check_jpeg_huffman_tables(const std::vector<uint8_t>& b, const std::string& name) {
  auto at = [&](size_t i) -> unsigned { return i < b.size() ? b[i] : 0u; };
  size_t i = 0;
  if (at(0) != 0xff) return;
  while (i < b.size() && b[i] == 0xff) ++i;
  if (at(i) != 0xd8) return;  // not a JPEG to stb either
  for (++i; i < b.size();) {
    if (b[i] != 0xff) {
      ++i;
      continue;
    }
    while (i < b.size() && b[i] == 0xff) ++i;
    const unsigned marker = at(i++);
    if (marker == 0x00 || marker == 0x01 || marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) continue;  // no length
    if (marker == 0xd9) return;
    const size_t length = at(i) << 8 | at(i + 1), end = i + length;
    for (size_t t = i + 2; marker == 0xc4 && t < end;) {  // tables follow one another to the segment's end
      unsigned codes = 0;
      for (size_t k = 1; k <= 16; ++k) codes += at(t + k);
      if (codes > 256)
        throw std::runtime_error(name + ": cannot decode image: JPEG data is corrupt (a Huffman table lists " +
                                 std::to_string(codes) + " codes; at most 256 exist)");
      t += 17 + codes;
    }
    i = std::max(end, i + 2);
  }
}

}  // namespace

void set_max_image_pixels(int64_t pixels) { g_max_image_pixels = pixels; }
int64_t max_image_pixels() { return g_max_image_pixels; }

std::vector<uint8_t> read_file(const std::string& path) { return read_file_bytes(path, kMaxDataFileBytes, "a dataset file"); }

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.empty()) throw std::runtime_error(name + ": empty file, not an image");
  if (bytes.size() > size_t(std::numeric_limits<int>::max())) throw std::runtime_error(name + ": an image file over 2 GiB");
  const char* format = sniff_format(bytes);
  const bool pnm = format && std::strcmp(format, "PNM") == 0;
  if (pnm) check_pnm_header(bytes, name);
  check_jpeg_huffman_tables(bytes, name);
  int w = 0, h = 0, channels = 0;
  const int64_t limit = g_max_image_pixels;
  if (stbi_info_from_memory(bytes.data(), int(bytes.size()), &w, &h, &channels) && limit > 0 && int64_t(w) * int64_t(h) > limit)
    throw std::runtime_error(name + ": image is " + std::to_string(w) + "x" + std::to_string(h) + " = " +
                             std::to_string(int64_t(w) * h) + " pixels, above the limit of " + std::to_string(limit) +
                             " (a decompression bomb?); raise it with --max-image-pixels if the image is genuine");
  // stb_image 2.27 reads 16-bit PNM samples in the wrong byte order, and its conversion of them
  // to 3 channels overruns its buffer (found by fuzzing, tests/fuzz/corpus/image): refused.
  if (pnm && stbi_is_16_bit_from_memory(bytes.data(), int(bytes.size())))
    throw std::runtime_error(
        name + ": 16-bit PNM (maximum value above 255) is not read (stb_image misreads it); convert it to 8 bits or PNG");
  // What decoding can really need: the compressed stream (at most the file), the image inflated
  // at 16 bits in 4 channels plus PNG's filter bytes, and stb's output; a chunk length or size
  // field claiming more is a lie, and its allocation fails into an error.
  const size_t pixels = size_t(std::max(w, 1)) * size_t(std::max(h, 1));
  const StbBudget budget(2 * bytes.size() + 8 * pixels + size_t(std::max(h, 1)) + (size_t(1) << 20));
  // Decoded in the file's own channel count and made RGB here, without stb_image's conversion.
  std::unique_ptr<stbi_uc, void (*)(void*)> data(stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &channels, 0),
                                                 stbi_image_free);
  if (!data) throw std::runtime_error(name + ": cannot decode image: " + decode_failure(bytes));
  if (channels < 1 || channels > 4)
    throw std::runtime_error(name + ": cannot decode image: " + std::to_string(channels) + " channels");
  Image img;
  img.height = h;
  img.width = w;
  img.pixels.resize(size_t(w) * size_t(h) * 3);
  const stbi_uc* src = data.get();
  const size_t n = size_t(channels), color = n >= 3 ? 3 : 1;  // gray (+alpha) repeats; alpha is dropped, as stb does
  for (size_t i = 0; i < size_t(w) * size_t(h); ++i)
    for (size_t c = 0; c < 3; ++c) img.pixels[i * 3 + c] = float(src[i * n + (color == 3 ? c : 0)]);
  return img;
}

Image load_image(const std::string& path) { return decode_image(read_file(path), path); }

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
  if (b.size() > size_t(std::numeric_limits<int>::max())) throw fail("a gzip file over 2 GiB");
  const uint8_t* tail = b.data() + b.size() - 8;
  const uint32_t want_crc = uint32_t(tail[0]) | uint32_t(tail[1]) << 8 | uint32_t(tail[2]) << 16 | uint32_t(tail[3]) << 24;
  const uint32_t size = uint32_t(tail[4]) | uint32_t(tail[5]) << 8 | uint32_t(tail[6]) << 16 | uint32_t(tail[7]) << 24;
  // Deflate inflates at most 1032:1, so a larger claim is a lie told before anything is allocated;
  // the output grows only as data really inflates (and stb's allocations are capped).
  const uint64_t compressed = b.size() - pos - 8;
  if (uint64_t(size) > compressed * 1032 + 1024)
    throw fail("the gzip trailer claims " + std::to_string(size) + " bytes, more than " + std::to_string(compressed) +
               " compressed bytes can inflate to: the file is corrupt");
  int got = 0;
  const StbBudget budget(2 * size_t(size) + (size_t(1) << 20));  // stb grows its buffer by doubling
  std::unique_ptr<char, void (*)(void*)> inflated(
      stbi_zlib_decode_malloc_guesssize_headerflag(reinterpret_cast<const char*>(b.data() + pos), int(b.size() - pos),
                                                   int(std::min<uint32_t>(std::max<uint32_t>(size, 1), 64u << 20)), &got, 0),
      stbi_image_free);  // the trailer may be read ahead
  if (!inflated || uint32_t(got) != size)
    throw fail("corrupt gzip data (" + std::string(inflated ? "inflated length differs from the trailer's" : "inflate failed") +
               ")");
  std::vector<uint8_t> out(inflated.get(), inflated.get() + got);
  if (crc32(out.data(), out.size()) != want_crc) throw fail("gzip CRC-32 mismatch: the file is corrupt");
  return out;
}

}  // namespace frost::data
