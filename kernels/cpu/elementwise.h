// elementwise.h: unary and binary element-wise kernels with their backward formulas.
// Unary ops run on contiguous buffers; binary ops read two broadcast/strided operands and write a
// contiguous output. Float paths are vectorisable loops; each op's reference is <cmath>. bf16
// storage computes in f32 inside the kernels (widened where read, rounded once where stored).
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"
#include "kernels/cpu/strided.h"

namespace frost::cpu {

enum class UnaryOp { neg, exp, log, sqrt, tanh, relu, sigmoid, gelu_erf, gelu_tanh, quick_gelu };
enum class BinaryOp { add, sub, mul, div };

#include "kernels/api/elementwise.inc"

bool unary_backward_reads_output(UnaryOp op);  // exp, sqrt, tanh, sigmoid: from y; else from x
// The plain scalar definitions (the reference the fast loops are tested against).
double unary_reference(UnaryOp op, double x);

}  // namespace frost::cpu
