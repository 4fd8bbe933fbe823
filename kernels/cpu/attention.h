// attention.h: scaled dot-product attention over q [B*H, N, D], k [B*H, M, D], v [B*H, M, Dv]
// (contiguous, or rows placed by a RowLayout) with an optional additive bias read through (B, H, N, M) strides (0 where
// broadcast: Swin's relative-position bias is [1, H, N, N], its shift mask [nW, 1, N, N]).
//   S = scale q k^T + bias;  P = softmax_rows(S);  O = P v
//   dP = dO v^T;  dS = P (dP - rowsum(dP P));  dq = scale dS k;  dk = scale dS^T q;  dv = P^T dO
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

// Where one operand's rows lie: row i of head h in batch b starts batch * b + head * h + row * i
// elements after its pointer, and its columns are contiguous. row == 0 stands for the contiguous
// (B, H, rows, cols) layout.
struct RowLayout {
  int64_t batch = 0, head = 0, row = 0;
};

struct AttentionGeometry {
  int64_t batch, heads, queries, keys, head_dim, value_dim;
  double scale;
  const void* bias = nullptr;  // T*, may be null
  int64_t bias_strides[4] = {0, 0, 0, 0};
  // q (and dq), k (dk), v (dv), out (dout): contiguous unless set (the CPU kernels read any
  // layout; a packed (B, N, 3, H, D) qkv and a (B, N, H, D) output need no copies).
  RowLayout q_rows = {}, k_rows = {}, v_rows = {}, out_rows = {};
  RowLayout q_layout() const { return resolved(q_rows, queries, head_dim); }
  RowLayout k_layout() const { return resolved(k_rows, keys, head_dim); }
  RowLayout v_layout() const { return resolved(v_rows, keys, value_dim); }
  RowLayout out_layout() const { return resolved(out_rows, queries, value_dim); }
  bool contiguous() const { return !q_rows.row && !k_rows.row && !v_rows.row && !out_rows.row; }
  // The forward's arithmetic: S = q k^T and O = P v.
  double flops() const { return 2.0 * double(batch * heads * queries * keys) * double(head_dim + value_dim); }
  // Elements the bias's strides address from its first (0 without a bias).
  int64_t bias_span() const {
    if (!bias) return 0;
    return 1 + (batch - 1) * bias_strides[0] + (heads - 1) * bias_strides[1] + (queries - 1) * bias_strides[2] +
           (keys - 1) * bias_strides[3];
  }

 private:
  RowLayout resolved(const RowLayout& l, int64_t rows, int64_t cols) const {
    return l.row ? l : RowLayout{heads * rows * cols, rows * cols, cols};
  }
};

#include "kernels/api/attention.inc"

// bf16: f32 arithmetic (the bias too), in kernels/cpu/bf16.cpp.
template <>
void attention_forward<bf16>(const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out, bf16* probs);
template <>
void attention_backward<bf16>(const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                              const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores);

}  // namespace frost::cpu
