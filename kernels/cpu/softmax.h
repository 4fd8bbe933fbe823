// softmax.h: softmax / log_softmax over the last dim of contiguous [rows, C], and the fused
// cross-entropy that never materialises probabilities in the forward pass.
//   softmax:      y = exp(x - max) / sum exp(x - max);   dx = y (dy - sum(dy y))
//   log_softmax:  y = x - max - log sum exp(x - max);    dx = dy - exp(y) sum(dy)
//   cross-entropy with target distribution q (one-hot smoothed: q = (1-e) onehot + e/C, or given):
//     loss_r = lse_r - sum_c q_c x_c;   dx = g_r (softmax(x) - q)
#pragma once
#include <cstdint>

namespace frost::cpu {

template <typename T>
void softmax_forward(const T* x, int64_t rows, int64_t C, T* y);
template <typename T>
void softmax_backward(const T* y, const T* dy, int64_t rows, int64_t C, T* dx);
template <typename T>
void log_softmax_forward(const T* x, int64_t rows, int64_t C, T* y);
template <typename T>
void log_softmax_backward(const T* y, const T* dy, int64_t rows, int64_t C, T* dx);

// Either labels ([rows], in [0, C)) or soft_targets ([rows, C]) is non-null.
// Writes loss[rows] and lse[rows] (log-sum-exp in double whatever T is: for logits ~1e3 an f32
// lse would lose the loss's digits; kept for the backward).
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* labels, const T* soft_targets,
                           double smoothing, int64_t rows, int64_t C, T* loss, double* lse);
// row_grad[r]: d(total)/d(loss_r).
template <typename T>
void cross_entropy_backward(const T* logits, const double* lse, const int64_t* labels,
                            const T* soft_targets, double smoothing, const T* row_grad,
                            int64_t rows, int64_t C, T* dlogits);

}  // namespace frost::cpu
