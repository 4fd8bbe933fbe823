// resample.cpp: see resample.h (PyTorch's _compute_weights_aa / PIL's precompute_coeffs).
#include "kernels/cpu/resample.h"

#include <algorithm>
#include <cmath>

namespace frost::cpu {

namespace {

double filter_value(ResampleFilter filter, double x) {
  x = std::abs(x);
  if (filter == ResampleFilter::bilinear) return x < 1.0 ? 1.0 - x : 0.0;
  const double a = -0.5;  // Keys; PIL and PyTorch's antialiased path
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

}  // namespace

ResampleAxis resample_axis(int64_t in_size, int64_t out_size, ResampleFilter filter) {
  const double scale = double(in_size) / double(out_size);
  const double support = (filter == ResampleFilter::bilinear ? 1.0 : 2.0) * std::max(scale, 1.0);
  const double inv = scale >= 1.0 ? 1.0 / scale : 1.0;
  ResampleAxis r;
  for (int64_t o = 0; o < out_size; ++o) {
    const double center = scale * (double(o) + 0.5);
    const int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(int64_t(center + support + 0.5), in_size);
    std::vector<double> w;
    double total = 0;
    for (int64_t j = lo; j < hi; ++j) {
      w.push_back(filter_value(filter, (double(j) - center + 0.5) * inv));
      total += w.back();
    }
    if (total != 0.0)
      for (double& x : w) x /= total;
    r.first.push_back(lo);
    r.weights.push_back(std::move(w));
  }
  return r;
}

template <typename T>
void resample_hwc(const T* in, int64_t H, int64_t W, int64_t C, T* out, int64_t OH, int64_t OW, ResampleFilter filter) {
  const ResampleAxis wx = resample_axis(W, OW, filter), wy = resample_axis(H, OH, filter);
  std::vector<double> mid(size_t(H * OW * C), 0.0);  // (H, OW, C)
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < OW; ++x) {
      double* dst = &mid[size_t((y * OW + x) * C)];
      const std::vector<double>& w = wx.weights[size_t(x)];
      for (size_t j = 0; j < w.size(); ++j) {
        const T* src = in + (y * W + wx.first[size_t(x)] + int64_t(j)) * C;
        for (int64_t c = 0; c < C; ++c) dst[c] += w[j] * double(src[c]);
      }
    }
  std::vector<double> acc(static_cast<size_t>(C));
  for (int64_t y = 0; y < OH; ++y)
    for (int64_t x = 0; x < OW; ++x) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const std::vector<double>& w = wy.weights[size_t(y)];
      for (size_t j = 0; j < w.size(); ++j) {
        const double* src = &mid[size_t(((wy.first[size_t(y)] + int64_t(j)) * OW + x) * C)];
        for (int64_t c = 0; c < C; ++c) acc[size_t(c)] += w[j] * src[c];
      }
      for (int64_t c = 0; c < C; ++c) out[(y * OW + x) * C + c] = T(acc[size_t(c)]);
    }
}

template void resample_hwc<float>(const float*, int64_t, int64_t, int64_t, float*, int64_t, int64_t, ResampleFilter);
template void resample_hwc<double>(const double*, int64_t, int64_t, int64_t, double*, int64_t, int64_t, ResampleFilter);

}  // namespace frost::cpu
