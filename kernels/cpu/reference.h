// reference.h: the plain loops that define what each op family computes, in double, written for
// reading rather than speed: one output element at a time, the formula as the family's header
// states it. tests/test_reference.cpp checks the CPU fast paths (f64, f32, bf16) against them;
// the CUDA kernels are checked against the CPU (tests/test_gpu.cpp). GEMM's reference is
// gemm_reference (gemm.h), the unary ops' unary_reference (elementwise.h). Contiguous layouts.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/conv.h"

namespace frost::cpu::reference {

// y = (x - mean) / sqrt(var + eps) * w + b per row of [rows, C] (biased variance; w, b may be null).
void layer_norm_forward(const double* x, const double* w, const double* b, int64_t rows, int64_t C, double eps, double* y);
// dx, dw, db of sum(dy * y) by the chain rule through mean and variance.
void layer_norm_backward(const double* dy, const double* x, const double* w, int64_t rows, int64_t C, double eps, double* dx,
                         double* dw, double* db);

void softmax_forward(const double* x, int64_t rows, int64_t C, double* y);
void softmax_backward(const double* y, const double* dy, int64_t rows, int64_t C, double* dx);  // dx_c = sum_k dy_k dy_k/dx_c
void log_softmax_forward(const double* x, int64_t rows, int64_t C, double* y);
void log_softmax_backward(const double* y, const double* dy, int64_t rows, int64_t C, double* dx);
// loss_r = -sum_c q_c log softmax(x_r)_c with q the smoothed one-hot of labels[r] or soft_targets' row.
void cross_entropy_forward(const double* logits, const int64_t* labels, const double* soft_targets, double smoothing,
                           int64_t rows, int64_t C, double* loss);
void cross_entropy_backward(const double* logits, const int64_t* labels, const double* soft_targets, double smoothing,
                            const double* row_grad, int64_t rows, int64_t C, double* dlogits);

// [outer, R, inner] reduced over R.
void sum_middle(const double* x, int64_t outer, int64_t R, int64_t inner, double* out);
void max_middle(const double* x, int64_t outer, int64_t R, int64_t inner, double* out, int64_t* argmax);

// O = softmax(scale q k^T + bias) v per (batch, head); bias (double) through g.bias_strides.
void attention_forward(const AttentionGeometry& g, const double* q, const double* k, const double* v, double* out);
void attention_backward(const AttentionGeometry& g, const double* dout, const double* q, const double* k, const double* v,
                        double* dq, double* dk, double* dv);

// y[b, co, i, j] = bias[co] + sum over the group's input channels and the kernel window.
void conv2d_forward(const Conv2dGeometry& g, const double* x, const double* w, const double* bias, double* y);
void conv2d_backward_input(const Conv2dGeometry& g, const double* dy, const double* w, double* dx);
void conv2d_backward_weight(const Conv2dGeometry& g, const double* dy, const double* x, double* dw, double* db);

}  // namespace frost::cpu::reference
