// kernels.h: the CUDA backend's op kernels as the engine sees them. Each has exactly the
// signature of its CPU twin in kernels/cpu/ (same geometry structs and enums) but takes device
// pointers; engine ops pick one or the other with FROST_KERNEL (engine/dispatch.h), so a
// signature that drifts from the CPU's is a compile error. One .cu per op family beside this
// header; all launch on the current device's default stream. Compiled only with CUDA.
#pragma once
#include <cstdint>

#include "kernels/dtype.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/index.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"

namespace frost::cuda {

using cpu::AttentionGeometry;
using cpu::BinaryOp;
using cpu::Conv2dGeometry;
using cpu::Dims;
using cpu::GemmBatch;
using cpu::MatrixRef;
using cpu::UnaryOp;

// ---- elementwise.cu ----
template <typename T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n);
template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n);
template <typename T>
void binary_forward(BinaryOp op, const Dims& shape, const T* a, const Dims& a_strides, const T* b,
                    const Dims& b_strides, T* out);
template <typename T>
void scale_shift(const T* x, T* out, int64_t n, acc_t<T> scale, acc_t<T> shift);
// dst (strided, dst_type) = src (strided, src_type) over `shape`, converting through double as
// the CPU's convert_value does (same-type copies move the bits).
void copy_strided(const Dims& shape, void* dst, DType dst_type, const Dims& dst_strides,
                  const void* src, DType src_type, const Dims& src_strides);
// n elements of `type` set to value.
void fill(void* dst, DType type, int64_t n, double value);

// ---- reduce.cu ----
template <typename T>
void sum_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out);
template <typename T>
void max_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out, int64_t* argmax);
template <typename T>
void max_middle_backward(const T* dy, const int64_t* argmax, int64_t outer, int64_t R,
                         int64_t inner, T* dx);

// ---- norm.cu ----
template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t C, double eps,
                        T* y, acc_t<T>* mean, acc_t<T>* rstd);
template <typename T>
void layer_norm_backward(const T* dy, const T* x, const acc_t<T>* mean, const acc_t<T>* rstd, const T* w,
                         int64_t rows, int64_t C, T* dx, T* dw, T* db);

// ---- softmax.cu ----
template <typename T>
void softmax_forward(const T* x, int64_t rows, int64_t C, T* y);
template <typename T>
void softmax_backward(const T* y, const T* dy, int64_t rows, int64_t C, T* dx);
template <typename T>
void log_softmax_forward(const T* x, int64_t rows, int64_t C, T* y);
template <typename T>
void log_softmax_backward(const T* y, const T* dy, int64_t rows, int64_t C, T* dx);
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* labels, const T* soft_targets,
                           double smoothing, int64_t rows, int64_t C, T* loss, double* lse);
template <typename T>
void cross_entropy_backward(const T* logits, const double* lse, const int64_t* labels,
                            const T* soft_targets, double smoothing, const T* row_grad,
                            int64_t rows, int64_t C, T* dlogits);

// ---- gemm.cu (cuBLASLt) ----
// C = alpha op(A) op(B) + beta C as cpu::gemm (for bf16 too: tensor cores, f32 accumulation), a
// strided batch of them (cpu::GemmBatch) and an optional bias[N] added to every row of C by the
// GEMM's epilogue (beta must then be 0).
template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, acc_t<T> alpha, MatrixRef A, MatrixRef B, acc_t<T> beta, T* C,
          int64_t ldc, const GemmBatch& batch = {}, const T* bias = nullptr);

// ---- attention.cu ----
template <typename T>
void attention_forward(const AttentionGeometry& g, const T* q, const T* k, const T* v, T* out,
                       T* probs);
template <typename T>
void attention_backward(const AttentionGeometry& g, const T* dout, const T* q, const T* k,
                        const T* v, const T* probs, T* dq, T* dk, T* dv, T* dscores);

// ---- conv.cu ----
template <typename T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv2d_backward_input(const Conv2dGeometry& g, const T* dy, const T* w, T* dx);
template <typename T>
void conv2d_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw, T* db);

// ---- bf16.cu: attention and conv2d in bf16 through f32 scratch (the other families are native) ----
template <>
void attention_forward<bf16>(const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out,
                             bf16* probs);
template <>
void attention_backward<bf16>(const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k,
                              const bf16* v, const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores);
template <>
void conv2d_forward<bf16>(const Conv2dGeometry& g, const bf16* x, const bf16* w, const bf16* bias, bf16* y);
template <>
void conv2d_backward_input<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* w, bf16* dx);
template <>
void conv2d_backward_weight<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* x, bf16* dw, bf16* db);

// ---- random.cu ----
template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset);
template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset);
template <typename T>
void dropout_apply(const T* x, T* y, int64_t n, double p, uint64_t seed, uint64_t offset);
template <typename T>
void drop_path_apply(const T* x, T* y, int64_t batch, int64_t per_sample, double p, uint64_t seed,
                     uint64_t offset);

// ---- index.cu ----
template <typename T>
void gather_offsets(const T* src, const int64_t* offsets, int64_t n, T* dst);
template <typename T>
void scatter_sum(const T* src, const int64_t* starts, const int64_t* sources, int64_t n, T* dst);

// ---- optim.cu ----
template <typename T>
void sgd_update(const cpu::SGDUpdate& u, T* w, const T* grad, const T* mask, T* momentum_buffer,
                int64_t n);
template <typename T>
void adamw_update(const cpu::AdamWUpdate& u, T* w, const T* grad, const T* mask, T* m, T* v,
                  int64_t n);
template <typename T>
void sum_squares(const T* x, int64_t n, double* scratch, double* acc);


}  // namespace frost::cuda
