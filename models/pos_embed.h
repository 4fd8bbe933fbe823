// pos_embed.h: resampling a ViT position embedding to a new patch grid as timm's
// resample_abs_pos_embed does: the prefix tokens are kept as they are, the grid part is resized
// with PyTorch's antialiased bicubic interpolation (F.interpolate(mode='bicubic', antialias=True,
// align_corners=False); the weights are kernels/cpu/resample.h's).
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace frost::models {

// pos (1, prefix + old_h * old_w, C) -> (1, prefix + new_h * new_w, C), f32, outside autograd.
Tensor resample_abs_pos_embed(const Tensor& pos, int64_t new_h, int64_t new_w, int64_t old_h, int64_t old_w, int64_t prefix);

}  // namespace frost::models
