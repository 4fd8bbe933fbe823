// softmax.h: softmax / log_softmax over the last dim of contiguous [rows, C], and the fused
// cross-entropy that never materialises probabilities in the forward pass.
//   softmax:      y = exp(x - max) / sum exp(x - max);   dx = y (dy - sum(dy y))
//   log_softmax:  y = x - max - log sum exp(x - max);    dx = dy - exp(y) sum(dy)
//   cross-entropy with target distribution q (one-hot smoothed: q = (1-e) onehot + e/C, or given):
//     loss_r = lse_r - sum_c q_c x_c;   dx = g_r (softmax(x) - q)
#pragma once
#include <cstdint>

namespace frost::cpu {

#include "kernels/api/softmax.inc"

}  // namespace frost::cpu
