// reduce.h: reductions of a contiguous tensor viewed as [outer, R, inner] over the middle dim.
// Sums accumulate in double, so f32 results do not depend on the reduction length's rounding.
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

#include "kernels/api/reduce.inc"

}  // namespace frost::cpu
