// attention.h: scaled dot-product attention over contiguous q [B*H, N, D], k [B*H, M, D],
// v [B*H, M, Dv] with an optional additive bias read through (B, H, N, M) strides (0 where
// broadcast: Swin's relative-position bias is [1, H, N, N], its shift mask [nW, 1, N, N]).
//   S = scale q k^T + bias;  P = softmax_rows(S);  O = P v
//   dP = dO v^T;  dS = P (dP - rowsum(dP P));  dq = scale dS k;  dk = scale dS^T q;  dv = P^T dO
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

struct AttentionGeometry {
  int64_t batch, heads, queries, keys, head_dim, value_dim;
  double scale;
  const void* bias = nullptr;      // T*, may be null
  int64_t bias_strides[4] = {0, 0, 0, 0};
  // The forward's arithmetic: S = q k^T and O = P v.
  double flops() const { return 2.0 * double(batch * heads * queries * keys) * double(head_dim + value_dim); }
  // Elements the bias's strides address from its first (0 without a bias).
  int64_t bias_span() const {
    if (!bias) return 0;
    return 1 + (batch - 1) * bias_strides[0] + (heads - 1) * bias_strides[1] + (queries - 1) * bias_strides[2] +
           (keys - 1) * bias_strides[3];
  }
};

// probs [B*H, N, M] is written (kept for the backward).
template <typename T>
void attention_forward(const AttentionGeometry& g, const T* q, const T* k, const T* v, T* out,
                       T* probs);
// Any of dq, dk, dv, dscores ([B*H, N, M], the bias gradient before broadcasting) may be null.
template <typename T>
void attention_backward(const AttentionGeometry& g, const T* dout, const T* q, const T* k,
                        const T* v, const T* probs, T* dq, T* dk, T* dv, T* dscores);

// bf16: f32 arithmetic (the bias too), in kernels/cpu/bf16.cpp.
template <>
void attention_forward<bf16>(const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out,
                             bf16* probs);
template <>
void attention_backward<bf16>(const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k,
                              const bf16* v, const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores);

}  // namespace frost::cpu
