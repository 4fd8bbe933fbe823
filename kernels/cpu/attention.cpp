// attention.cpp: one (batch, head) pair per job, jobs spread over threads, GEMMs serial inside.
// The probabilities are kept from the forward (N x M per head) instead of recomputed: on the CPU
// memory is plentiful and time is not.
#include "kernels/cpu/attention.h"

#include <cstddef>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/softmax.h"

namespace frost::cpu {

namespace {
int64_t at(const RowLayout& l, int64_t b, int64_t h) { return b * l.batch + h * l.head; }
}  // namespace

template <typename T>
void attention_forward(const AttentionGeometry& g, const T* q, const T* k, const T* v, T* out, T* probs) {
  const int64_t N = g.queries, M = g.keys, D = g.head_dim, Dv = g.value_dim;
  const RowLayout lq = g.q_layout(), lk = g.k_layout(), lv = g.v_layout(), lo = g.out_layout();
  const T* bias = static_cast<const T*>(g.bias);
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < g.batch * g.heads; ++bh) {
    const int64_t b = bh / g.heads, h = bh % g.heads;
    T* S = probs + bh * N * M;
    gemm(N, M, D, T(g.scale), mat(q + at(lq, b, h), lq.row), mat(k + at(lk, b, h), lk.row, true), T(0), S, M);
    if (bias) {
      const T* bb = bias + b * g.bias_strides[0] + h * g.bias_strides[1];
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < M; ++j) S[i * M + j] += bb[i * g.bias_strides[2] + j * g.bias_strides[3]];
    }
    softmax_forward(S, N, M, S);
    gemm(N, Dv, M, T(1), mat(S, M), mat(v + at(lv, b, h), lv.row), T(0), out + at(lo, b, h), lo.row);
  }
}

template <typename T>
void attention_backward(const AttentionGeometry& g, const T* dout, const T* q, const T* k, const T* v, const T* probs, T* dq,
                        T* dk, T* dv, T* dscores) {
  const int64_t N = g.queries, M = g.keys, D = g.head_dim, Dv = g.value_dim;
  const RowLayout lq = g.q_layout(), lk = g.k_layout(), lv = g.v_layout(), lo = g.out_layout();
  const bool need_scores = dq || dk || dscores;
#pragma omp parallel
  {
    std::vector<T> local(need_scores && !dscores ? std::size_t(N * M) : 0);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < g.batch * g.heads; ++bh) {
      const int64_t b = bh / g.heads, h = bh % g.heads;
      const T* P = probs + bh * N * M;
      const T* dO = dout + at(lo, b, h);
      if (dv) gemm(M, Dv, N, T(1), mat(P, M, true), mat(dO, lo.row), T(0), dv + at(lv, b, h), lv.row);
      if (!need_scores) continue;
      T* dS = dscores ? dscores + bh * N * M : local.data();
      gemm(N, M, Dv, T(1), mat(dO, lo.row), mat(v + at(lv, b, h), lv.row, true), T(0), dS, M);  // dP
      softmax_backward(P, dS, N, M, dS);
      if (dq) gemm(N, D, M, T(g.scale), mat(dS, M), mat(k + at(lk, b, h), lk.row), T(0), dq + at(lq, b, h), lq.row);
      if (dk) gemm(M, D, N, T(g.scale), mat(dS, M, true), mat(q + at(lq, b, h), lq.row), T(0), dk + at(lk, b, h), lk.row);
    }
  }
}

#define FROST_INSTANTIATE(T)                                                                          \
  template void attention_forward<T>(const AttentionGeometry&, const T*, const T*, const T*, T*, T*); \
  template void attention_backward<T>(const AttentionGeometry&, const T*, const T*, const T*, const T*, const T*, T*, T*, T*, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cpu
