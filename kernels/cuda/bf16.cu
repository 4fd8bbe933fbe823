// bf16.cu: the CUDA bf16 forms of attention and conv2d, with kernels/cpu/bf16.cpp's bodies
// (kernels/bf16_via_f32.h) over device scratch: the bf16 operands are widened to f32, the f32
// kernel runs, and its results are rounded to bf16 once. Elementwise, reductions, layer norm, GEMM, dropout and index kernels are
// native bf16 in their own files; these two are the next to become native (a flash-attention kernel and a fused conv path).
// Explicit specializations of the templates in kernels/cuda/kernels.h.
#include "kernels/bf16_via_f32.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"

namespace frost::cuda {

namespace {

// An f32 scratch copy of n bf16 device values; get() is null where the input pointer was.
class Widened {
 public:
  Widened(const bf16* p, int64_t n) : scratch_(p ? size_t(n) * sizeof(float) : 0), present_(p != nullptr) {
    if (p) copy_strided({n}, scratch_.as<float>(), DType::f32, {1}, p, DType::bf16, {1});
  }
  float* get() const { return present_ ? scratch_.as<float>() : nullptr; }

 private:
  Scratch scratch_;
  bool present_;
};

// f32 scratch for n outputs that store() rounds into dst; get() is null where dst is.
class Rounded {
 public:
  Rounded(bf16* dst, int64_t n) : scratch_(dst ? size_t(n) * sizeof(float) : 0), dst_(dst), n_(n) {}
  float* get() const { return dst_ ? scratch_.as<float>() : nullptr; }
  void store() const {
    if (dst_) copy_strided({n_}, dst_, DType::bf16, {1}, scratch_.as<float>(), DType::f32, {1});
  }

 private:
  Scratch scratch_;
  bf16* dst_;
  int64_t n_;
};

}  // namespace

namespace {
struct DeviceBuffers {
  using Widened = cuda::Widened;
  using Rounded = cuda::Rounded;
};
}  // namespace

template <>
void attention_forward<bf16>(const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out, bf16* probs) {
  bf16_via_f32::attention_forward<DeviceBuffers>(&cuda::attention_forward<float>, g, q, k, v, out, probs);
}

template <>
void attention_backward<bf16>(const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                              const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores) {
  bf16_via_f32::attention_backward<DeviceBuffers>(&cuda::attention_backward<float>, g, dout, q, k, v, probs, dq, dk, dv, dscores);
}

template <>
void conv2d_forward<bf16>(const Conv2dGeometry& g, const bf16* x, const bf16* w, const bf16* bias, bf16* y) {
  bf16_via_f32::conv2d_forward<DeviceBuffers>(&cuda::conv2d_forward<float>, g, x, w, bias, y);
}

template <>
void conv2d_backward_input<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* w, bf16* dx) {
  bf16_via_f32::conv2d_backward_input<DeviceBuffers>(&cuda::conv2d_backward_input<float>, g, dy, w, dx);
}

template <>
void conv2d_backward_weight<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* x, bf16* dw, bf16* db) {
  bf16_via_f32::conv2d_backward_weight<DeviceBuffers>(&cuda::conv2d_backward_weight<float>, g, dy, x, dw, db);
}

}  // namespace frost::cuda
