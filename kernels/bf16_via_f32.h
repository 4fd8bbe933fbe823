// bf16_via_f32.h: a bf16 kernel made from its f32 twin: widen the bf16 operands to f32, run the
// f32 kernel, round its results to bf16 once. One body per kernel for both backends: Buffers says
// where the f32 copies live (host vectors in kernels/cpu/bf16.cpp, device scratch in
// kernels/cuda/bf16.cu) and the caller passes its backend's f32 kernel, whose signature is the
// same on both (kernels/cuda/kernels.h).
//   Buffers::Widened(const bf16* p, int64_t n): f32 copy of n values; get() null where p is null.
//   Buffers::Rounded(bf16* dst, int64_t n): f32 outputs; get() null where dst is; store() rounds.
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/conv.h"

namespace frost::bf16_via_f32 {

using cpu::AttentionGeometry;
using cpu::Conv2dGeometry;

// An attention geometry whose bias (if any) is widened over the (B, H, N, M) extent its strides address.
template <typename Buffers>
struct WidenedBias {
  const typename Buffers::Widened values;
  AttentionGeometry g;
  explicit WidenedBias(const AttentionGeometry& in) : values(static_cast<const bf16*>(in.bias), in.bias_span()), g(in) {
    g.bias = values.get();
  }
};

template <typename Buffers>
void attention_forward(void (*f32)(const AttentionGeometry&, const float*, const float*, const float*, float*, float*),
                       const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out, bf16* probs) {
  using W = typename Buffers::Widened;
  using R = typename Buffers::Rounded;
  const int64_t BH = g.batch * g.heads, N = g.queries, M = g.keys;
  const WidenedBias<Buffers> wb(g);
  const W qf(q, BH * N * g.head_dim), kf(k, BH * M * g.head_dim), vf(v, BH * M * g.value_dim);
  R of(out, BH * N * g.value_dim), pf(probs, BH * N * M);
  f32(wb.g, qf.get(), kf.get(), vf.get(), of.get(), pf.get());
  of.store();
  pf.store();
}

template <typename Buffers>
void attention_backward(void (*f32)(const AttentionGeometry&, const float*, const float*, const float*, const float*,
                                    const float*, float*, float*, float*, float*),
                        const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                        const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores) {
  using W = typename Buffers::Widened;
  using R = typename Buffers::Rounded;
  const int64_t BH = g.batch * g.heads, N = g.queries, M = g.keys;
  const WidenedBias<Buffers> wb(g);
  const W dof(dout, BH * N * g.value_dim), qf(q, BH * N * g.head_dim), kf(k, BH * M * g.head_dim), vf(v, BH * M * g.value_dim),
      pf(probs, BH * N * M);
  R dqf(dq, BH * N * g.head_dim), dkf(dk, BH * M * g.head_dim), dvf(dv, BH * M * g.value_dim), dsf(dscores, BH * N * M);
  f32(wb.g, dof.get(), qf.get(), kf.get(), vf.get(), pf.get(), dqf.get(), dkf.get(), dvf.get(), dsf.get());
  dqf.store();
  dkf.store();
  dvf.store();
  dsf.store();
}

template <typename Buffers>
void conv2d_forward(void (*f32)(const Conv2dGeometry&, const float*, const float*, const float*, float*), const Conv2dGeometry& g,
                    const bf16* x, const bf16* w, const bf16* bias, bf16* y) {
  const typename Buffers::Widened xf(x, g.input_numel()), wf(w, g.weight_numel()), bf(bias, g.out_channels);
  typename Buffers::Rounded yf(y, g.output_numel());
  f32(g, xf.get(), wf.get(), bf.get(), yf.get());
  yf.store();
}

template <typename Buffers>
void conv2d_backward_input(void (*f32)(const Conv2dGeometry&, const float*, const float*, float*), const Conv2dGeometry& g,
                           const bf16* dy, const bf16* w, bf16* dx) {
  const typename Buffers::Widened dyf(dy, g.output_numel()), wf(w, g.weight_numel());
  typename Buffers::Rounded dxf(dx, g.input_numel());
  f32(g, dyf.get(), wf.get(), dxf.get());
  dxf.store();
}

template <typename Buffers>
void conv2d_backward_weight(void (*f32)(const Conv2dGeometry&, const float*, const float*, float*, float*),
                            const Conv2dGeometry& g, const bf16* dy, const bf16* x, bf16* dw, bf16* db) {
  const typename Buffers::Widened dyf(dy, g.output_numel()), xf(x, g.input_numel());
  typename Buffers::Rounded dwf(dw, g.weight_numel()), dbf(db, g.out_channels);
  f32(g, dyf.get(), xf.get(), dwf.get(), dbf.get());
  dwf.store();
  dbf.store();
}

}  // namespace frost::bf16_via_f32
