// bf16.cu: the CUDA bf16 forms of attention and conv2d, as kernels/cpu/bf16.cpp does them: the
// bf16 operands are widened to f32 scratch, the f32 kernel runs, and its results are rounded to
// bf16 once. Elementwise, reductions, layer norm, GEMM, dropout and index kernels are native bf16
// in their own files; these two are the next to become native (issue 7's flash attention and
// fused conv paths). Explicit specializations of the templates in kernels/cuda/kernels.h.
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

template <>
void attention_forward<bf16>(const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out,
                             bf16* probs) {
  const int64_t BH = g.batch * g.heads;
  AttentionGeometry gf = g;
  const Widened bias(static_cast<const bf16*>(g.bias), g.bias_span());
  gf.bias = bias.get();
  const Widened qf(q, BH * g.queries * g.head_dim), kf(k, BH * g.keys * g.head_dim), vf(v, BH * g.keys * g.value_dim);
  const Rounded of(out, BH * g.queries * g.value_dim), pf(probs, BH * g.queries * g.keys);
  cuda::attention_forward<float>(gf, qf.get(), kf.get(), vf.get(), of.get(), pf.get());
  of.store();
  pf.store();
}

template <>
void attention_backward<bf16>(const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k,
                              const bf16* v, const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores) {
  const int64_t BH = g.batch * g.heads, N = g.queries, M = g.keys;
  AttentionGeometry gf = g;
  const Widened bias(static_cast<const bf16*>(g.bias), g.bias_span());
  gf.bias = bias.get();
  const Widened dof(dout, BH * N * g.value_dim), qf(q, BH * N * g.head_dim), kf(k, BH * M * g.head_dim),
      vf(v, BH * M * g.value_dim), pf(probs, BH * N * M);
  const Rounded dqf(dq, BH * N * g.head_dim), dkf(dk, BH * M * g.head_dim), dvf(dv, BH * M * g.value_dim),
      dsf(dscores, BH * N * M);
  cuda::attention_backward<float>(gf, dof.get(), qf.get(), kf.get(), vf.get(), pf.get(), dqf.get(), dkf.get(), dvf.get(),
                            dsf.get());
  dqf.store();
  dkf.store();
  dvf.store();
  dsf.store();
}

template <>
void conv2d_forward<bf16>(const Conv2dGeometry& g, const bf16* x, const bf16* w, const bf16* bias, bf16* y) {
  const Widened xf(x, g.input_numel()), wf(w, g.weight_numel()), bf(bias, g.out_channels);
  const Rounded yf(y, g.output_numel());
  cuda::conv2d_forward<float>(g, xf.get(), wf.get(), bf.get(), yf.get());
  yf.store();
}

template <>
void conv2d_backward_input<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* w, bf16* dx) {
  const Widened dyf(dy, g.output_numel()), wf(w, g.weight_numel());
  const Rounded dxf(dx, g.input_numel());
  cuda::conv2d_backward_input<float>(g, dyf.get(), wf.get(), dxf.get());
  dxf.store();
}

template <>
void conv2d_backward_weight<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* x, bf16* dw, bf16* db) {
  const Widened dyf(dy, g.output_numel()), xf(x, g.input_numel());
  const Rounded dwf(dw, g.weight_numel()), dbf(db, g.out_channels);
  cuda::conv2d_backward_weight<float>(g, dyf.get(), xf.get(), dwf.get(), dbf.get());
  dwf.store();
  dbf.store();
}

}  // namespace frost::cuda
