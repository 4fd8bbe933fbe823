// pos_embed.cpp: see pos_embed.h. The weights are PyTorch's _compute_weights_aa for the bicubic
// filter: center = scale (o + 0.5), support = 2 * max(scale, 1), taps j in
// [center - support + 0.5, center + support + 0.5) clipped to the input, each weighted by
// cubic((j - center + 0.5) / max(scale, 1)) and normalised to sum 1.
#include "models/pos_embed.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/autograd.h"

namespace frost::models {

namespace {

double keys_cubic(double x) {  // a = -0.5, the filter PIL and PyTorch's antialiased path use
  const double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

}  // namespace

ResizeWeights bicubic_aa_weights(int64_t in_size, int64_t out_size) {
  const double scale = double(in_size) / double(out_size);
  const double support = 2.0 * std::max(scale, 1.0), inv = scale >= 1.0 ? 1.0 / scale : 1.0;
  ResizeWeights r;
  for (int64_t o = 0; o < out_size; ++o) {
    const double center = scale * (double(o) + 0.5);
    const int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(int64_t(center + support + 0.5), in_size);
    std::vector<double> w;
    double total = 0;
    for (int64_t j = lo; j < hi; ++j) {
      w.push_back(keys_cubic((double(j) - center + 0.5) * inv));
      total += w.back();
    }
    if (total != 0.0)
      for (double& x : w) x /= total;
    r.first.push_back(lo);
    r.weights.push_back(std::move(w));
  }
  return r;
}

Tensor resample_abs_pos_embed(const Tensor& pos, int64_t new_h, int64_t new_w, int64_t old_h, int64_t old_w,
                              int64_t prefix) {
  if (pos.dim() != 3 || pos.size(1) != prefix + old_h * old_w)
    throw std::invalid_argument("resample_abs_pos_embed: " + pos.describe() + " is not (1, " + std::to_string(prefix) +
                                " + " + std::to_string(old_h) + "*" + std::to_string(old_w) + ", C)");
  const int64_t C = pos.size(2);
  const std::vector<double> in = pos.to_doubles();  // (prefix + old_h * old_w, C)
  std::vector<double> out(size_t((prefix + new_h * new_w) * C));
  std::copy(in.begin(), in.begin() + prefix * C, out.begin());
  const ResizeWeights wx = bicubic_aa_weights(old_w, new_w), wy = bicubic_aa_weights(old_h, new_h);
  // Width pass: (old_h, old_w, C) -> (old_h, new_w, C); then height: -> (new_h, new_w, C).
  std::vector<double> mid(size_t(old_h * new_w * C), 0.0);
  for (int64_t y = 0; y < old_h; ++y)
    for (int64_t x = 0; x < new_w; ++x)
      for (size_t j = 0; j < wx.weights[size_t(x)].size(); ++j) {
        const double w = wx.weights[size_t(x)][j];
        const double* src = &in[size_t((prefix + y * old_w + wx.first[size_t(x)] + int64_t(j)) * C)];
        double* dst = &mid[size_t((y * new_w + x) * C)];
        for (int64_t c = 0; c < C; ++c) dst[c] += w * src[c];
      }
  for (int64_t y = 0; y < new_h; ++y)
    for (int64_t x = 0; x < new_w; ++x) {
      double* dst = &out[size_t((prefix + y * new_w + x) * C)];
      for (size_t j = 0; j < wy.weights[size_t(y)].size(); ++j) {
        const double w = wy.weights[size_t(y)][j];
        const double* src = &mid[size_t(((wy.first[size_t(y)] + int64_t(j)) * new_w + x) * C)];
        for (int64_t c = 0; c < C; ++c) dst[c] += w * src[c];
      }
    }
  return Tensor::from_vector(out, {1, prefix + new_h * new_w, C}, DType::f32);
}

}  // namespace frost::models
