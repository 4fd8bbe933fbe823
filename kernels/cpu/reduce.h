// reduce.h: reductions of a contiguous tensor viewed as [outer, R, inner] over the middle dim.
// Sums accumulate in double, so f32 results do not depend on the reduction length's rounding.
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

#include "kernels/api/reduce.inc"

// bf16: f32 arithmetic, in kernels/cpu/bf16.cpp.
template <>
void sum_middle<bf16>(const bf16* x, int64_t outer, int64_t R, int64_t inner, bf16* out);
template <>
void max_middle<bf16>(const bf16* x, int64_t outer, int64_t R, int64_t inner, bf16* out, int64_t* argmax);
template <>
void max_middle_backward<bf16>(const bf16* dy, const int64_t* argmax, int64_t outer, int64_t R, int64_t inner,
                               bf16* dx);

}  // namespace frost::cpu
