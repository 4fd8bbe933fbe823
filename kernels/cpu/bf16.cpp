// bf16.cpp: the CPU's bf16 kernels, and the reference the CUDA bf16 kernels are tested against.
// Mixed precision means bf16 storage with f32 arithmetic, so each kernel here widens its bf16
// operands to f32, runs the f32 kernel and rounds its results to bf16 once (nearest even);
// attention and conv2d share their bodies with the CUDA backend (kernels/bf16_via_f32.h).
// Statistics (layer-norm mean/rstd) stay f32. The simple generic kernels (binary, scale/shift,
// dropout, drop-path, gather, CSR sum) are instantiated for bf16 in their own files instead.
// These are explicit specializations of the templates declared in the kernel headers.
#include <algorithm>
#include <vector>

#include "kernels/bf16_via_f32.h"
#include "kernels/bfloat16.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/reduce.h"

namespace frost::cpu {

namespace {

// An f32 copy of n bf16 inputs; get() is null where the input pointer was (optional operands).
class Widened {
 public:
  Widened(const bf16* p, int64_t n) : present_(p != nullptr) {
    if (!p) return;
    data_.resize(size_t(n));
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) data_[size_t(i)] = float(p[i]);
  }
  const float* get() const { return present_ ? data_.data() : nullptr; }

 private:
  bool present_;
  std::vector<float> data_;
};

// An f32 buffer for n outputs that store() rounds into dst; get() is null where dst is.
class Rounded {
 public:
  Rounded(bf16* dst, int64_t n) : dst_(dst), data_(dst ? size_t(n) : 0) {}
  float* get() { return dst_ ? data_.data() : nullptr; }
  void store() const {
    if (!dst_) return;
    const int64_t n = int64_t(data_.size());
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) dst_[i] = bf16(data_[size_t(i)]);
  }

 private:
  bf16* dst_;
  std::vector<float> data_;
};

// Elements a strided matrix view spans from its first element (strides are never negative).
int64_t span(int64_t rows, int64_t cols, const MatrixRef& m) {
  if (rows == 0 || cols == 0) return 0;
  return (rows - 1) * m.row_stride + (cols - 1) * m.col_stride + 1;
}

}  // namespace

// ---- elementwise: y = f(x), dx = dy f'(x or y) ----

template <>
void unary_forward<bf16>(UnaryOp op, const bf16* x, bf16* y, int64_t n) {
  Widened xf(x, n);
  Rounded yf(y, n);
  unary_forward<float>(op, xf.get(), yf.get(), n);
  yf.store();
}

template <>
void unary_backward<bf16>(UnaryOp op, const bf16* x, const bf16* y, const bf16* dy, bf16* dx, int64_t n) {
  const bool from_y = unary_backward_reads_output(op);
  Widened xf(from_y ? nullptr : x, n), yf(from_y ? y : nullptr, n), dyf(dy, n);
  Rounded dxf(dx, n);
  unary_backward<float>(op, xf.get(), yf.get(), dyf.get(), dxf.get(), n);
  dxf.store();
}

// ---- reductions over the middle dim of [outer, R, inner] ----

template <>
void sum_middle<bf16>(const bf16* x, int64_t outer, int64_t R, int64_t inner, bf16* out) {
  Widened xf(x, outer * R * inner);
  Rounded of(out, outer * inner);
  sum_middle<float>(xf.get(), outer, R, inner, of.get());
  of.store();
}

template <>
void max_middle<bf16>(const bf16* x, int64_t outer, int64_t R, int64_t inner, bf16* out, int64_t* argmax) {
  Widened xf(x, outer * R * inner);
  Rounded of(out, outer * inner);
  max_middle<float>(xf.get(), outer, R, inner, of.get(), argmax);
  of.store();
}

template <>
void max_middle_backward<bf16>(const bf16* dy, const int64_t* argmax, int64_t outer, int64_t R, int64_t inner,
                               bf16* dx) {
  Widened dyf(dy, outer * inner);
  Rounded dxf(dx, outer * R * inner);
  max_middle_backward<float>(dyf.get(), argmax, outer, R, inner, dxf.get());
  dxf.store();
}

// ---- layer norm: mean and rstd are f32 ----

template <>
void layer_norm_forward<bf16>(const bf16* x, const bf16* w, const bf16* b, int64_t rows, int64_t C, double eps,
                              bf16* y, float* mean, float* rstd) {
  Widened xf(x, rows * C), wf(w, C), bf(b, C);
  Rounded yf(y, rows * C);
  layer_norm_forward<float>(xf.get(), wf.get(), bf.get(), rows, C, eps, yf.get(), mean, rstd);
  yf.store();
}

template <>
void layer_norm_backward<bf16>(const bf16* dy, const bf16* x, const float* mean, const float* rstd, const bf16* w,
                               int64_t rows, int64_t C, bf16* dx, bf16* dw, bf16* db) {
  Widened dyf(dy, rows * C), xf(x, rows * C), wf(w, C);
  Rounded dxf(dx, rows * C), dwf(dw, C), dbf(db, C);
  layer_norm_backward<float>(dyf.get(), xf.get(), mean, rstd, wf.get(), rows, C, dxf.get(), dwf.get(), dbf.get());
  dxf.store();
  dwf.store();
  dbf.store();
}

// ---- GEMM: C (M x N, ldc) = alpha op(A) op(B) + beta C ----

void gemm_bf16(int64_t M, int64_t N, int64_t K, float alpha, MatrixRef A, MatrixRef B, float beta, bf16* C,
               int64_t ldc, const bf16* bias) {
  Widened af(static_cast<const bf16*>(A.data), span(M, K, A));
  Widened bf(static_cast<const bf16*>(B.data), span(K, N, B));
  Widened biasf(bias, N);
  std::vector<float> c(size_t(M * N));
  if (beta != 0.0f)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) c[size_t(i * N + j)] = float(C[i * ldc + j]);
  gemm_f32(M, N, K, alpha, {af.get(), A.row_stride, A.col_stride}, {bf.get(), B.row_stride, B.col_stride}, beta,
           c.data(), N, biasf.get());
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = bf16(c[size_t(i * N + j)]);
}

// ---- attention and conv2d: the bodies both backends share (kernels/bf16_via_f32.h) ----

namespace {
struct HostBuffers {
  using Widened = cpu::Widened;
  using Rounded = cpu::Rounded;
};
}  // namespace

template <>
void attention_forward<bf16>(const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out,
                             bf16* probs) {
  bf16_via_f32::attention_forward<HostBuffers>(&attention_forward<float>, g, q, k, v, out, probs);
}

template <>
void attention_backward<bf16>(const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k,
                              const bf16* v, const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores) {
  bf16_via_f32::attention_backward<HostBuffers>(&attention_backward<float>, g, dout, q, k, v, probs, dq, dk, dv, dscores);
}

template <>
void conv2d_forward<bf16>(const Conv2dGeometry& g, const bf16* x, const bf16* w, const bf16* bias, bf16* y) {
  bf16_via_f32::conv2d_forward<HostBuffers>(&conv2d_forward<float>, g, x, w, bias, y);
}

template <>
void conv2d_backward_input<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* w, bf16* dx) {
  bf16_via_f32::conv2d_backward_input<HostBuffers>(&conv2d_backward_input<float>, g, dy, w, dx);
}

template <>
void conv2d_backward_weight<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* x, bf16* dw, bf16* db) {
  bf16_via_f32::conv2d_backward_weight<HostBuffers>(&conv2d_backward_weight<float>, g, dy, x, dw, db);
}

}  // namespace frost::cpu
