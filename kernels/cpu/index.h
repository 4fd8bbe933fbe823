// index.h: gathers and their adjoint through precomputed element offsets. index_select and
// gather (engine/ops_shape.cpp) turn their index tensor into one source offset per output
// element on the host; the backward inverts that map into lists (CSR: for each destination the
// output positions that read it), so every destination is one deterministic sum, with no
// atomics on either device.
//   forward:  dst[i] = src[offsets[i]]
//   backward: dst[t] = sum_{s in sources[starts[t] .. starts[t+1])} src[s]
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/bfloat16.h"

namespace frost::cpu {

#include "kernels/api/index.inc"

// The CSR inverse of offsets (values in [0, n_dst)): starts (n_dst + 1) and sources, each
// destination's sources in increasing order (so sums run in a fixed order).
void invert_offsets(const std::vector<int64_t>& offsets, int64_t n_dst, std::vector<int64_t>& starts,
                    std::vector<int64_t>& sources);

}  // namespace frost::cpu
