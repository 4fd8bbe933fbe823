// norm.h: layer normalisation over the last dim of a contiguous [rows, C] buffer.
// Forward: mean, rstd = 1/sqrt(var + eps) (biased variance), y = (x - mean) rstd w + b.
// Backward reads x, mean and rstd (x is usually alive anyway: it is the residual stream):
//   xhat = (x - mean) rstd, g = dy w, dx = rstd (g - mean(g) - xhat mean(g xhat)),
//   dw = sum_rows dy xhat, db = sum_rows dy.
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

#include "kernels/api/norm.inc"

// bf16: f32 arithmetic and statistics, in kernels/cpu/bf16.cpp.
template <>
void layer_norm_forward<bf16>(const bf16* x, const bf16* w, const bf16* b, int64_t rows, int64_t C, double eps,
                              bf16* y, float* mean, float* rstd);
template <>
void layer_norm_backward<bf16>(const bf16* dy, const bf16* x, const float* mean, const float* rstd, const bf16* w,
                               int64_t rows, int64_t C, bf16* dx, bf16* dw, bf16* db);

}  // namespace frost::cpu
