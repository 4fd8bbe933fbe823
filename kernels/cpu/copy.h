// copy.h: strided copies with dtype conversion and fills, the CPU twins of kernels/cuda's
// copy_strided and fill (same signatures: the engine dispatches them with FROST_KERNEL).
// Conversions go through double (kernels/dtype.h convert_value), so both devices round alike;
// same-type copies move the bits.
#pragma once
#include <cstdint>

#include "kernels/cpu/strided.h"
#include "kernels/dtype.h"

namespace frost::cpu {

#include "kernels/api/copy.inc"

}  // namespace frost::cpu
