// resample.h: separable image resampling as PIL's ImagingResample and PyTorch's antialiased
// interpolate compute it (align_corners=False): output pixel o of an axis of scale s = in/out is
// centred at s (o + 0.5); when shrinking the filter is widened by s (antialiasing), and the taps
// that fall inside the input are renormalised to sum 1. Filters: triangle (bilinear, support 1)
// and Keys' cubic with a = -0.5 (bicubic, support 2). Used by image transforms and by ViT's
// position-embedding resampling.
#pragma once
#include <cstdint>
#include <vector>

namespace frost::cpu {

enum class ResampleFilter { bilinear, bicubic };

// One axis: out[o] = sum_j weights[o][j] * in[first[o] + j].
struct ResampleAxis {
  std::vector<int64_t> first;
  std::vector<std::vector<double>> weights;
};
ResampleAxis resample_axis(int64_t in_size, int64_t out_size, ResampleFilter filter);

// (H, W, C) interleaved -> (OH, OW, C); width pass first, then height, accumulating in double.
template <typename T>
void resample_hwc(const T* in, int64_t H, int64_t W, int64_t C, T* out, int64_t OH, int64_t OW, ResampleFilter filter);

}  // namespace frost::cpu
