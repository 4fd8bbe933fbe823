// norm.h: layer normalisation over the last dim of a contiguous [rows, C] buffer.
// Forward: mean, rstd = 1/sqrt(var + eps) (biased variance), y = (x - mean) rstd w + b.
// Backward reads x, mean and rstd (x is usually alive anyway: it is the residual stream):
//   xhat = (x - mean) rstd, g = dy w, dx = rstd (g - mean(g) - xhat mean(g xhat)),
//   dw = sum_rows dy xhat, db = sum_rows dy.
// bf16 storage computes in f32 (acc_t) inside the kernel, statistics in f32 as well.
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

#include "kernels/api/norm.inc"

}  // namespace frost::cpu
