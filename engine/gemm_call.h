// gemm_call.h: one GEMM on tensors, on their device (cpu::gemm or cuBLASLt), for ops that chain
// several products into one buffer (linear, linear_low_rank). Operands are 2-D tensors with one
// stride 1 (contiguous, or a transposed view), used as they are or transposed; the output is a
// 2-D contiguous (M, N) tensor.
#pragma once
#include "engine/tensor.h"

namespace frost {

struct GemmOperand {
  const Tensor* t;
  bool transposed;
};
inline GemmOperand plain(const Tensor& t) { return {&t, false}; }
inline GemmOperand transposed(const Tensor& t) { return {&t, true}; }

// out = alpha op(A) op(B) + beta out (+ bias on every row), op(A) (M, K), op(B) (K, N), bias (N),
// the bias added in the GEMM's epilogue on either device. beta 0 never reads out.
void gemm_into(Tensor& out, int64_t M, int64_t N, int64_t K, double alpha, GemmOperand A, GemmOperand B, double beta,
               const Tensor& bias = Tensor());

}  // namespace frost
