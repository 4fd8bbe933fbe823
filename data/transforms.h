// transforms.h: timm's / torchvision's image transforms on data::Image, and the two pipelines a
// trainer needs:
//   eval:  Resize(shorter side to floor(size / crop_pct)) -> CenterCrop(size) -> ToTensor -> Normalize
//          (`squash`: both sides to floor(size / crop_pct), timm's crop_mode 'squash'; `direct_resize`:
//          Resize((size, size)), as NOAH's VTAB recipe)
//   train: RandomResizedCrop(size, scale, ratio) -> RandomHorizontalFlip -> ToTensor -> Normalize
// Resizing is PIL's (bilinear or bicubic, antialiased when shrinking; kernels/cpu/resample.h), in
// float without PIL's rounding to 8 bits between passes (differences of about one grey level).
// Randomness comes from a seed per sample, so a sample's augmentation does not depend on which
// worker thread made it or on the order of requests.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "data/image.h"
#include "kernels/cpu/resample.h"

namespace frost::data {

using Interpolation = cpu::ResampleFilter;
Interpolation parse_interpolation(const std::string& name);  // "bilinear" | "bicubic"

Image resize(const Image& img, int64_t height, int64_t width, Interpolation interp);
// Shorter side to `size`, the other side scaled and truncated as torchvision's Resize(int).
Image resize_shorter(const Image& img, int64_t size, Interpolation interp);
// torchvision's CenterCrop: top = round((H - h) / 2), zero-padded when the image is smaller.
Image crop(const Image& img, int64_t top, int64_t left, int64_t height, int64_t width);
Image center_crop(const Image& img, int64_t height, int64_t width);
Image hflip(const Image& img);
// (x / 255 - mean) / std, written channel-first into out (3, H, W).
void to_tensor(const Image& img, const std::array<float, 3>& mean, const std::array<float, 3>& std, float* out);

// A small deterministic generator (splitmix64) for per-sample augmentation.
struct SampleRng {
  uint64_t state;
  explicit SampleRng(uint64_t seed) : state(seed) {}
  uint64_t next();
  double uniform();  // [0, 1)
};
uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0);

// torchvision's RandomResizedCrop.get_params: 10 tries at area in scale * area and log-uniform
// aspect ratio, falling back to the whole image clamped to the ratio range.
struct CropBox {
  int64_t top, left, height, width;
};
CropBox random_resized_crop_box(int64_t height, int64_t width, std::array<double, 2> scale, std::array<double, 2> ratio,
                                SampleRng& rng);

struct TransformOptions {
  int64_t size = 224;
  double crop_pct = 0.875;     // eval: resize to floor(size / crop_pct), then center crop
  bool direct_resize = false;  // eval: resize straight to (size, size)
  bool squash = false;         // eval: both sides to floor(size / crop_pct), then center crop (timm's crop_mode 'squash')
  Interpolation interpolation = Interpolation::bicubic;
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
  std::array<double, 2> scale = {0.08, 1.0}, ratio = {3.0 / 4.0, 4.0 / 3.0};
  double hflip = 0.5;
  bool train_augment = false;  // train: random-resized-crop + flip; else the eval pipeline
};

// Image -> (3, size, size) floats; `sample_seed` drives the random parts (ignored in eval).
void apply_transform(const TransformOptions& o, const Image& img, uint64_t sample_seed, float* out);

}  // namespace frost::data
