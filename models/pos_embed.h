// pos_embed.h: resampling a ViT position embedding to a new patch grid as timm's
// resample_abs_pos_embed does: the prefix tokens are kept as they are, the grid part is resized
// with PyTorch's antialiased bicubic interpolation (F.interpolate(mode='bicubic', antialias=True,
// align_corners=False): Keys' cubic with a = -0.5, support widened by the scale when shrinking,
// weights renormalised at the borders).
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace frost::models {

// pos (1, prefix + old_h * old_w, C) -> (1, prefix + new_h * new_w, C), f32, outside autograd.
Tensor resample_abs_pos_embed(const Tensor& pos, int64_t new_h, int64_t new_w, int64_t old_h, int64_t old_w,
                              int64_t prefix);

// One axis of the antialiased bicubic resize: out[o] = sum_j weights[o][j] * in[first[o] + j].
struct ResizeWeights {
  std::vector<int64_t> first;
  std::vector<std::vector<double>> weights;
};
ResizeWeights bicubic_aa_weights(int64_t in_size, int64_t out_size);

}  // namespace frost::models
