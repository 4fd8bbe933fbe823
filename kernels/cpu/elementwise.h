// elementwise.h: unary and binary element-wise kernels with their backward formulas.
// Unary ops run on contiguous buffers; binary ops read two broadcast/strided operands and write a
// contiguous output. Float paths are vectorisable loops; each op's reference is <cmath>.
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"
#include "kernels/cpu/strided.h"

namespace frost::cpu {

enum class UnaryOp { neg, exp, log, sqrt, tanh, relu, sigmoid, gelu_erf, gelu_tanh, quick_gelu };
enum class BinaryOp { add, sub, mul, div };

#include "kernels/api/elementwise.inc"

// bf16: f32 arithmetic, in kernels/cpu/bf16.cpp.
template <>
void unary_forward<bf16>(UnaryOp op, const bf16* x, bf16* y, int64_t n);
template <>
void unary_backward<bf16>(UnaryOp op, const bf16* x, const bf16* y, const bf16* dy, bf16* dx, int64_t n);
bool unary_backward_reads_output(UnaryOp op);  // exp, sqrt, tanh, sigmoid: from y; else from x
// The plain scalar definitions (the reference the fast loops are tested against).
double unary_reference(UnaryOp op, double x);

}  // namespace frost::cpu
