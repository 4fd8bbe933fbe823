// gemm.h: row-major GEMM on raw buffers, C = alpha * op(A) * op(B) + beta * C (+ bias).
// op(A)(i, k) = A[i * a_row + k * a_col] and op(B)(k, j) = B[k * b_row + j * b_col], so a
// transpose (or any strided 2-D view) is just a choice of element strides: no copies.
// C is row-major with leading dimension ldc. beta == 0 never reads C (it may hold NaN).
// bias, when not null, is a vector of N added to every row of C in the epilogue (a linear
// layer's bias: no separate pass over C).
#pragma once
#include <cstdint>

#include "kernels/bfloat16.h"

namespace frost::cpu {

struct MatrixRef {
  const void* data;
  int64_t row_stride;  // elements between op(X)(i, k) and op(X)(i + 1, k)
  int64_t col_stride;  // elements between op(X)(i, k) and op(X)(i, k + 1)
};

// Fast path: packed, cache-blocked, AVX-512 / AVX2+FMA micro-kernels chosen at run time
// (portable C otherwise), parallel over the OpenMP threads.
void gemm_f32(int64_t M, int64_t N, int64_t K, float alpha, MatrixRef A, MatrixRef B, float beta, float* C, int64_t ldc,
              const float* bias = nullptr);
// f64 (gradient checks): blocked, parallel, no SIMD intrinsics.
void gemm_f64(int64_t M, int64_t N, int64_t K, double alpha, MatrixRef A, MatrixRef B, double beta, double* C, int64_t ldc,
              const double* bias = nullptr);
// The plain triple loop that defines the result; tests compare the fast path with it.
template <typename T>
void gemm_reference(int64_t M, int64_t N, int64_t K, T alpha, MatrixRef A, MatrixRef B, T beta, T* C, int64_t ldc,
                    const T* bias = nullptr);

// Which micro-kernel gemm_f32 uses on this CPU: "avx512", "avx2" or "portable".
const char* gemm_f32_kernel_name();
// Forces a micro-kernel ("avx512", "avx2", "portable"; "" = best available). For tests and
// benchmarks; throws std::invalid_argument if the CPU lacks it.
void gemm_f32_force_kernel(const char* name);

// A strided batch of products: matrix i of A, B and C starts i * a_stride, i * b_stride and
// i * c_stride elements after matrix 0 (a stride of 0 broadcasts that operand).
struct GemmBatch {
  int64_t count = 1, a_stride = 0, b_stride = 0, c_stride = 0;
};
#include "kernels/api/gemm.inc"

// bf16 operands, result and bias, f32 arithmetic (kernels/cpu/bf16.cpp).
void gemm_bf16(int64_t M, int64_t N, int64_t K, float alpha, MatrixRef A, MatrixRef B, float beta, bf16* C, int64_t ldc,
               const bf16* bias = nullptr);
// Row-major matrix helpers: X (rows x cols, leading dim ld), optionally transposed.
inline MatrixRef mat(const void* data, int64_t ld, bool transposed = false) {
  return transposed ? MatrixRef{data, 1, ld} : MatrixRef{data, ld, 1};
}
}  // namespace frost::cpu
