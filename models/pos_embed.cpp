// pos_embed.cpp: see pos_embed.h. The grid part is resampled in double on (h, w, C).
#include "models/pos_embed.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cpu/resample.h"

namespace frost::models {

Tensor resample_abs_pos_embed(const Tensor& pos, int64_t new_h, int64_t new_w, int64_t old_h, int64_t old_w, int64_t prefix) {
  if (pos.dim() != 3 || pos.size(1) != prefix + old_h * old_w)
    throw std::invalid_argument("resample_abs_pos_embed: " + pos.describe() + " is not (1, " + std::to_string(prefix) + " + " +
                                std::to_string(old_h) + "*" + std::to_string(old_w) + ", C)");
  const int64_t C = pos.size(2);
  const std::vector<double> in = pos.to_doubles();  // (prefix + old_h * old_w, C)
  std::vector<double> out(size_t((prefix + new_h * new_w) * C));
  std::copy(in.begin(), in.begin() + prefix * C, out.begin());
  cpu::resample_hwc(in.data() + prefix * C, old_h, old_w, C, out.data() + prefix * C, new_h, new_w, cpu::ResampleFilter::bicubic);
  return Tensor::from_vector(out, {1, prefix + new_h * new_w, C}, DType::f32);
}

}  // namespace frost::models
