// transforms.cpp: see transforms.h.
#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace frost::data {

Interpolation parse_interpolation(const std::string& name) {
  if (name == "bilinear") return Interpolation::bilinear;
  if (name == "bicubic") return Interpolation::bicubic;
  throw std::invalid_argument("interpolation must be bilinear or bicubic, got '" + name + "'");
}

Image resize(const Image& img, int64_t height, int64_t width, Interpolation interp) {
  if (height < 1 || width < 1)
    throw std::invalid_argument("resize: target " + std::to_string(height) + "x" + std::to_string(width));
  Image out;
  out.height = height;
  out.width = width;
  out.pixels.resize(size_t(height * width * 3));
  if (height == img.height && width == img.width) {
    out.pixels = img.pixels;
    return out;
  }
  cpu::resample_hwc(img.pixels.data(), img.height, img.width, 3, out.pixels.data(), height, width, interp);
  return out;
}

Image resize_shorter(const Image& img, int64_t size, Interpolation interp) {
  if (img.height <= img.width)
    return resize(img, size, std::max<int64_t>(1, int64_t(double(size) * double(img.width) / double(img.height))), interp);
  return resize(img, std::max<int64_t>(1, int64_t(double(size) * double(img.height) / double(img.width))), size, interp);
}

Image crop(const Image& img, int64_t top, int64_t left, int64_t height, int64_t width) {
  Image out;
  out.height = height;
  out.width = width;
  out.pixels.assign(size_t(height * width * 3), 0.0f);
  for (int64_t y = 0; y < height; ++y) {
    const int64_t sy = top + y;
    if (sy < 0 || sy >= img.height) continue;
    for (int64_t x = 0; x < width; ++x) {
      const int64_t sx = left + x;
      if (sx < 0 || sx >= img.width) continue;
      std::copy_n(img.row(sy) + sx * 3, 3, out.row(y) + x * 3);
    }
  }
  return out;
}

Image center_crop(const Image& img, int64_t height, int64_t width) {
  // Python's round (ties to even), as torchvision's int(round((H - h) / 2.0))
  const int64_t top = int64_t(std::nearbyint(double(img.height - height) / 2.0));
  const int64_t left = int64_t(std::nearbyint(double(img.width - width) / 2.0));
  return crop(img, top, left, height, width);
}

Image hflip(const Image& img) {
  Image out = img;
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x) std::copy_n(img.row(y) + x * 3, 3, out.row(y) + (img.width - 1 - x) * 3);
  return out;
}

void to_tensor(const Image& img, const std::array<float, 3>& mean, const std::array<float, 3>& std, float* out) {
  const int64_t hw = img.height * img.width;
  for (int64_t c = 0; c < 3; ++c) {
    const float scale = 1.0f / (255.0f * std[size_t(c)]), shift = mean[size_t(c)] / std[size_t(c)];
    for (int64_t i = 0; i < hw; ++i) out[c * hw + i] = img.pixels[size_t(i * 3 + c)] * scale - shift;
  }
}

uint64_t SampleRng::next() {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double SampleRng::uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c) {
  SampleRng r(a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) ^ (c * 0xD1B54A32D192ED03ull));
  r.next();
  return r.next();
}

CropBox random_resized_crop_box(int64_t H, int64_t W, std::array<double, 2> scale, std::array<double, 2> ratio, SampleRng& rng) {
  const double area = double(H) * double(W);
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform());
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * rng.uniform());
    const int64_t w = int64_t(std::lround(std::sqrt(target * aspect)));
    const int64_t h = int64_t(std::lround(std::sqrt(target / aspect)));
    if (w > 0 && h > 0 && w <= W && h <= H) {
      const int64_t top = int64_t(rng.next() % uint64_t(H - h + 1)), left = int64_t(rng.next() % uint64_t(W - w + 1));
      return {top, left, h, w};
    }
  }
  const double in_ratio = double(W) / double(H);  // fallback: central crop at the closest allowed ratio
  int64_t w = W, h = H;
  if (in_ratio < ratio[0])
    h = int64_t(std::lround(double(W) / ratio[0]));
  else if (in_ratio > ratio[1])
    w = int64_t(std::lround(double(H) * ratio[1]));
  return {(H - h) / 2, (W - w) / 2, h, w};
}

void apply_transform(const TransformOptions& o, const Image& img, uint64_t sample_seed, float* out) {
  Image x;
  if (o.train_augment) {
    SampleRng rng(sample_seed);
    const CropBox box = random_resized_crop_box(img.height, img.width, o.scale, o.ratio, rng);
    x = resize(crop(img, box.top, box.left, box.height, box.width), o.size, o.size, o.interpolation);
    if (rng.uniform() < o.hflip) x = hflip(x);
  } else if (o.direct_resize) {
    x = resize(img, o.size, o.size, o.interpolation);
  } else {
    const int64_t scaled = int64_t(std::floor(double(o.size) / o.crop_pct));
    const Image resized = o.squash ? resize(img, scaled, scaled, o.interpolation) : resize_shorter(img, scaled, o.interpolation);
    x = center_crop(resized, o.size, o.size);
  }
  to_tensor(x, o.mean, o.std, out);
}

}  // namespace frost::data
