// bf16.cpp: the CPU's GEMM-based bf16 kernels (GEMM, attention, conv2d). Mixed precision is bf16
// storage with f32 arithmetic; the GEMM micro-kernels are f32, so these widen their operands into
// f32 scratch from the CPU allocator (its peak counts it), run the f32 kernel and round the
// results to bf16 once (nearest even). Attention and conv2d share their bodies with the CUDA
// backend (kernels/bf16_via_f32.h). Every other family computes bf16 in f32 inside its own
// kernel, tile by tile or row by row (elementwise.cpp, norm.cpp, reduce.cpp, ...).
#include <algorithm>

#include "kernels/bf16_via_f32.h"
#include "kernels/bfloat16.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm.h"
#include "kernels/device.h"

namespace frost::cpu {

namespace {

// f32 scratch of n values from the CPU allocator, so the allocator's peak counts it.
class Scratch {
 public:
  explicit Scratch(int64_t n) : bytes_(size_t(n) * sizeof(float)) {
    if (n > 0) data_ = static_cast<float*>(cpu_allocator().allocate(bytes_));
  }
  ~Scratch() {
    if (data_) cpu_allocator().release(data_, bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* data() const { return data_; }

 private:
  size_t bytes_;
  float* data_ = nullptr;
};

// An f32 copy of n bf16 inputs; get() is null where the input pointer was (optional operands).
class Widened {
 public:
  Widened(const bf16* p, int64_t n) : scratch_(p ? n : 0) {
    float* out = scratch_.data();
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < (p ? n : 0); ++i) out[i] = float(p[i]);
  }
  const float* get() const { return scratch_.data(); }

 private:
  Scratch scratch_;
};

// An f32 buffer for n outputs that store() rounds into dst; get() is null where dst is.
class Rounded {
 public:
  Rounded(bf16* dst, int64_t n) : dst_(dst), n_(dst ? n : 0), scratch_(n_) {}
  float* get() { return scratch_.data(); }
  void store() const {
    const float* in = scratch_.data();
#pragma omp parallel for schedule(static) if (n_ > (1 << 16))
    for (int64_t i = 0; i < n_; ++i) dst_[i] = bf16(in[i]);
  }

 private:
  bf16* dst_;
  int64_t n_;
  Scratch scratch_;
};

// Elements a strided matrix view spans from its first element (strides are never negative).
int64_t span(int64_t rows, int64_t cols, const MatrixRef& m) {
  if (rows == 0 || cols == 0) return 0;
  return (rows - 1) * m.row_stride + (cols - 1) * m.col_stride + 1;
}

}  // namespace

// ---- GEMM: C (M x N, ldc) = alpha op(A) op(B) + beta C ----

void gemm_bf16(int64_t M, int64_t N, int64_t K, float alpha, MatrixRef A, MatrixRef B, float beta, bf16* C, int64_t ldc,
               const bf16* bias) {
  Widened af(static_cast<const bf16*>(A.data), span(M, K, A));
  Widened bf(static_cast<const bf16*>(B.data), span(K, N, B));
  Widened biasf(bias, N);
  const Scratch scratch(M * N);
  float* c = scratch.data();
  if (beta != 0.0f)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) c[i * N + j] = float(C[i * ldc + j]);
  gemm_f32(M, N, K, alpha, {af.get(), A.row_stride, A.col_stride}, {bf.get(), B.row_stride, B.col_stride}, beta, c, N,
           biasf.get());
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = bf16(c[i * N + j]);
}

// ---- attention and conv2d: the bodies both backends share (kernels/bf16_via_f32.h) ----

namespace {
struct HostBuffers {
  using Widened = cpu::Widened;
  using Rounded = cpu::Rounded;
};
}  // namespace

template <>
void attention_forward<bf16>(const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out, bf16* probs) {
  bf16_via_f32::attention_forward<HostBuffers>(&attention_forward<float>, g, q, k, v, out, probs);
}

template <>
void attention_backward<bf16>(const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                              const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores) {
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
