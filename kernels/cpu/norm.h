// norm.h: layer normalisation over the last dim of a contiguous [rows, C] buffer.
// Forward: mean, rstd = 1/sqrt(var + eps) (biased variance), y = (x - mean) rstd w + b.
// Backward reads x, mean and rstd (x is usually alive anyway: it is the residual stream):
//   xhat = (x - mean) rstd, g = dy w, dx = rstd (g - mean(g) - xhat mean(g xhat)),
//   dw = sum_rows dy xhat, db = sum_rows dy.
#pragma once
#include <cstdint>

namespace frost::cpu {

// w and b may be null (no affine). mean and rstd: [rows], may be null when not needed later.
template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t C, double eps,
                        T* y, T* mean, T* rstd);
// Any of dx, dw, db may be null (that gradient is not needed). dw and db are overwritten.
template <typename T>
void layer_norm_backward(const T* dy, const T* x, const T* mean, const T* rstd, const T* w,
                         int64_t rows, int64_t C, T* dx, T* dw, T* db);

}  // namespace frost::cpu
