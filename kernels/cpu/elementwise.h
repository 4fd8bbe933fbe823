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

// y = f(x)
template <typename T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n);
// dx = dy * f'(x). Reads x or y, whichever the formula needs (unary_backward_reads_output).
template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n);
// bf16: f32 arithmetic, in kernels/cpu/bf16.cpp.
template <>
void unary_forward<bf16>(UnaryOp op, const bf16* x, bf16* y, int64_t n);
template <>
void unary_backward<bf16>(UnaryOp op, const bf16* x, const bf16* y, const bf16* dy, bf16* dx, int64_t n);
bool unary_backward_reads_output(UnaryOp op);  // exp, sqrt, tanh, sigmoid: from y; else from x
// The plain scalar definitions (the reference the fast loops are tested against).
double unary_reference(UnaryOp op, double x);

// out[i] = a[i] op b[i] over `shape`, out contiguous.
template <typename T>
void binary_forward(BinaryOp op, const Dims& shape, const T* a, const Dims& a_strides, const T* b,
                    const Dims& b_strides, T* out);
// out[i] = x[i] * scale + shift
template <typename T>
void scale_shift(const T* x, T* out, int64_t n, acc_t<T> scale, acc_t<T> shift);

}  // namespace frost::cpu
