// reduce.h: reductions of a contiguous tensor viewed as [outer, R, inner] over the middle dim.
// Sums accumulate in double, so f32 results do not depend on the reduction length's rounding.
#pragma once
#include <cstdint>

namespace frost::cpu {

// out[o, i] = sum_r x[o, r, i]
template <typename T>
void sum_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out);
// out[o, i] = max_r x[o, r, i]; argmax[o, i] = first r attaining it (NaN wins: it propagates)
template <typename T>
void max_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out, int64_t* argmax);
// dx[o, r, i] = (r == argmax[o, i]) ? dy[o, i] : 0
template <typename T>
void max_middle_backward(const T* dy, const int64_t* argmax, int64_t outer, int64_t R,
                         int64_t inner, T* dx);

}  // namespace frost::cpu
