// attention.cu: scaled dot-product attention with an additive bias (formulas in
// kernels/cpu/attention.h), as batched cuBLASLt GEMMs over the B*H heads around this file's
// bias kernel and softmax.cu's row kernels. The probabilities [B*H, N, M] are kept for the
// backward, as on the CPU; a flash-attention kernel would never store them (not written yet).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"

namespace frost::cuda {

namespace {

// S[bh, i, j] += bias[b, h, i, j] read through strides (0 where broadcast).
template <typename T>
__global__ void add_bias_kernel(T* S, const T* bias, int64_t H, int64_t N, int64_t M, int64_t s0, int64_t s1, int64_t s2,
                                int64_t s3, int64_t n) {
  FROST_GRID_LOOP(e, n) {
    const int64_t j = e % M, i = (e / M) % N, bh = e / (M * N);
    S[e] += bias[(bh / H) * s0 + (bh % H) * s1 + i * s2 + j * s3];
  }
}

MatrixRef rows(const void* p, int64_t ld) { return {p, ld, 1}; }        // row-major X
MatrixRef transposed(const void* p, int64_t ld) { return {p, 1, ld}; }  // X^T of a row-major X

}  // namespace

template <typename T>
void attention_forward(const AttentionGeometry& g, const T* q, const T* k, const T* v, T* out, T* probs) {
  const int64_t BH = g.batch * g.heads, N = g.queries, M = g.keys, D = g.head_dim, Dv = g.value_dim;
  if (BH == 0 || N == 0) return;
  // S = scale q k^T
  cuda::gemm<T>(N, M, D, acc_t<T>(g.scale), rows(q, D), transposed(k, D), acc_t<T>(0), probs, M, {BH, N * D, M * D, N * M});
  if (g.bias) {
    const int64_t n = BH * N * M;
    add_bias_kernel<T><<<grid_for(n), kThreads>>>(probs, static_cast<const T*>(g.bias), g.heads, N, M, g.bias_strides[0],
                                                  g.bias_strides[1], g.bias_strides[2], g.bias_strides[3], n);
    FROST_LAUNCH_CHECK();
  }
  softmax_forward<T>(probs, BH * N, M, probs);
  // O = P v
  cuda::gemm<T>(N, Dv, M, acc_t<T>(1), rows(probs, M), rows(v, Dv), acc_t<T>(0), out, Dv, {BH, N * M, M * Dv, N * Dv});
}

template <typename T>
void attention_backward(const AttentionGeometry& g, const T* dout, const T* q, const T* k, const T* v, const T* probs, T* dq,
                        T* dk, T* dv, T* dscores) {
  const int64_t BH = g.batch * g.heads, N = g.queries, M = g.keys, D = g.head_dim, Dv = g.value_dim;
  if (BH == 0) return;
  // dv = P^T dO
  if (dv)
    cuda::gemm<T>(M, Dv, N, acc_t<T>(1), transposed(probs, M), rows(dout, Dv), acc_t<T>(0), dv, Dv, {BH, N * M, N * Dv, M * Dv});
  if (!dq && !dk && !dscores) return;
  Scratch local(dscores ? 0 : size_t(BH * N * M) * sizeof(T));
  T* dS = dscores ? dscores : local.as<T>();
  // dP = dO v^T, then dS = P (dP - rowsum(dP P)) in place
  cuda::gemm<T>(N, M, Dv, acc_t<T>(1), rows(dout, Dv), transposed(v, Dv), acc_t<T>(0), dS, M, {BH, N * Dv, M * Dv, N * M});
  softmax_backward<T>(probs, dS, BH * N, M, dS);
  // dq = scale dS k;  dk = scale dS^T q
  if (dq) cuda::gemm<T>(N, D, M, acc_t<T>(g.scale), rows(dS, M), rows(k, D), acc_t<T>(0), dq, D, {BH, N * M, M * D, N * D});
  if (dk) cuda::gemm<T>(M, D, N, acc_t<T>(g.scale), transposed(dS, M), rows(q, D), acc_t<T>(0), dk, D, {BH, N * M, N * D, M * D});
}

#define FROST_INSTANTIATE(T)                                                                          \
  template void attention_forward<T>(const AttentionGeometry&, const T*, const T*, const T*, T*, T*); \
  template void attention_backward<T>(const AttentionGeometry&, const T*, const T*, const T*, const T*, const T*, T*, T*, T*, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cuda
