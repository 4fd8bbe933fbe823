// attention.h: scaled dot-product attention over contiguous q [B*H, N, D], k [B*H, M, D],
// v [B*H, M, Dv] with an optional additive bias read through (B, H, N, M) strides (0 where
// broadcast: Swin's relative-position bias is [1, H, N, N], its shift mask [nW, 1, N, N]).
//   S = scale q k^T + bias;  P = softmax_rows(S);  O = P v
//   dP = dO v^T;  dS = P (dP - rowsum(dP P));  dq = scale dS k;  dk = scale dS^T q;  dv = P^T dO
#pragma once
#include <cstdint>

namespace frost::cpu {

struct AttentionGeometry {
  int64_t batch, heads, queries, keys, head_dim, value_dim;
  double scale;
  const void* bias = nullptr;      // T*, may be null
  int64_t bias_strides[4] = {0, 0, 0, 0};
};

// probs [B*H, N, M] is written (kept for the backward).
template <typename T>
void attention_forward(const AttentionGeometry& g, const T* q, const T* k, const T* v, T* out,
                       T* probs);
// Any of dq, dk, dv, dscores ([B*H, N, M], the bias gradient before broadcasting) may be null.
template <typename T>
void attention_backward(const AttentionGeometry& g, const T* dout, const T* q, const T* k,
                        const T* v, const T* probs, T* dq, T* dk, T* dv, T* dscores);

}  // namespace frost::cpu
