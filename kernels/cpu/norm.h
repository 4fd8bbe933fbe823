// norm.h: layer normalisation over the last dim of a contiguous [rows, C] buffer.
// Forward: mean, rstd = 1/sqrt(var + eps) (biased variance), y = (x - mean) rstd w + b.
// Backward reads x, mean and rstd (x is usually alive anyway: it is the residual stream):
//   xhat = (x - mean) rstd, g = dy w, dx = rstd (g - mean(g) - xhat mean(g xhat)),
//   dw = sum_rows dy xhat, db = sum_rows dy.
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

// w and b may be null (no affine). mean and rstd: [rows], may be null when not needed later.
template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t C, double eps,
                        T* y, acc_t<T>* mean, acc_t<T>* rstd);
// Any of dx, dw, db may be null (that gradient is not needed). dw and db are overwritten.
template <typename T>
void layer_norm_backward(const T* dy, const T* x, const acc_t<T>* mean, const acc_t<T>* rstd, const T* w,
                         int64_t rows, int64_t C, T* dx, T* dw, T* db);
// bf16: f32 arithmetic and statistics, in kernels/cpu/bf16.cpp.
template <>
void layer_norm_forward<bf16>(const bf16* x, const bf16* w, const bf16* b, int64_t rows, int64_t C, double eps,
                              bf16* y, float* mean, float* rstd);
template <>
void layer_norm_backward<bf16>(const bf16* dy, const bf16* x, const float* mean, const float* rstd, const bf16* w,
                               int64_t rows, int64_t C, bf16* dx, bf16* dw, bf16* db);

}  // namespace frost::cpu
