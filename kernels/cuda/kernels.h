// kernels.h: the CUDA backend's op kernels as the engine sees them: each family's signatures are
// the ones its CPU twin in kernels/cpu/ declares, written once in kernels/api/<family>.inc and
// included here inside frost::cuda (same geometry structs and enums), taking device pointers;
// engine ops pick one or the other with FROST_KERNEL (engine/dispatch.h). One .cu per op family beside this
// header; all launch on the current device's default stream. Compiled only with CUDA.
#pragma once
#include <cstdint>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/copy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/index.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"
#include "kernels/dtype.h"

namespace frost::cuda {

using cpu::AdamWUpdate;
using cpu::AttentionGeometry;
using cpu::BinaryOp;
using cpu::Conv2dGeometry;
using cpu::Dims;
using cpu::GemmBatch;
using cpu::MatrixRef;
using cpu::SGDUpdate;
using cpu::UnaryOp;

// ---- elementwise.cu ----
#include "kernels/api/copy.inc"
#include "kernels/api/elementwise.inc"

// ---- reduce.cu ----
#include "kernels/api/reduce.inc"

// ---- norm.cu ----
#include "kernels/api/norm.inc"

// ---- softmax.cu ----
#include "kernels/api/softmax.inc"

// ---- gemm.cu (cuBLASLt) ----
#include "kernels/api/gemm.inc"

// ---- attention.cu ----
#include "kernels/api/attention.inc"

// ---- conv.cu ----
#include "kernels/api/conv.inc"

// ---- bf16.cu: attention and conv2d in bf16 through f32 scratch (the other families are native) ----
template <>
void attention_forward<bf16>(const AttentionGeometry& g, const bf16* q, const bf16* k, const bf16* v, bf16* out, bf16* probs);
template <>
void attention_backward<bf16>(const AttentionGeometry& g, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                              const bf16* probs, bf16* dq, bf16* dk, bf16* dv, bf16* dscores);
template <>
void conv2d_forward<bf16>(const Conv2dGeometry& g, const bf16* x, const bf16* w, const bf16* bias, bf16* y);
template <>
void conv2d_backward_input<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* w, bf16* dx);
template <>
void conv2d_backward_weight<bf16>(const Conv2dGeometry& g, const bf16* dy, const bf16* x, bf16* dw, bf16* db);

// ---- random.cu ----
#include "kernels/api/random.inc"

// ---- index.cu ----
#include "kernels/api/index.inc"

// ---- optim.cu ----
#include "kernels/api/optim.inc"

}  // namespace frost::cuda
