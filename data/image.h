// image.h: decoded images and the bytes they come from. Decoding is stb_image's (JPEG baseline
// and progressive, PNG, BMP, PNM; grayscale and alpha become RGB); gzip members (IDX files) are
// inflated with stb_image's zlib and their CRC-32 and length checked. Every error names the file.
// Sizes are checked before memory is committed: a file over kMaxDataFileBytes, an image of more
// pixels than max_image_pixels() (a decompression bomb: a 1 MB PNG can claim 16384x16384), a gzip
// trailer claiming more than deflate can produce. data/ depends on nothing else in frost but
// kernels/cpu/resample.h and engine's checked file reading (engine/files.h, engine/json_file.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frost::data {

// (H, W, 3) RGB, row-major, values in [0, 255] as floats (transforms resample in float).
struct Image {
  int64_t height = 0, width = 0;
  std::vector<float> pixels;
  float* row(int64_t y) { return pixels.data() + y * width * 3; }
  const float* row(int64_t y) const { return pixels.data() + y * width * 3; }
};

// The default pixel limit: 25 million (5000x5000). PIL warns at 89 million, but frost holds a
// decoded image as floats (12 bytes a pixel), so its limit keeps one image near 300 MB.
constexpr int64_t kDefaultMaxImagePixels = 25'000'000;
constexpr uint64_t kMaxDataFileBytes = uint64_t(4) << 30;  // one image, IDX or CIFAR file
void set_max_image_pixels(int64_t pixels);                 // 0: no limit (`--max-image-pixels`)
int64_t max_image_pixels();

std::vector<uint8_t> read_file(const std::string& path);  // regular files only, at most kMaxDataFileBytes
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name);
Image load_image(const std::string& path);

bool is_gzip(const std::vector<uint8_t>& bytes);
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& bytes, const std::string& name);

}  // namespace frost::data
