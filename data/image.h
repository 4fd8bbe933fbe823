// image.h: decoded images and the bytes they come from. Decoding is stb_image's (JPEG baseline
// and progressive, PNG, BMP, PNM; grayscale and alpha become RGB); gzip members (IDX files) are
// inflated with stb_image's zlib and their CRC-32 and length checked. Every error names the file.
// data/ depends on nothing else in frost but kernels/cpu/resample.h.
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

std::vector<uint8_t> read_file(const std::string& path);
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name);
Image load_image(const std::string& path);

bool is_gzip(const std::vector<uint8_t>& bytes);
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& bytes, const std::string& name);
uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0);

}  // namespace frost::data
