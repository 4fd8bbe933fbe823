// gemm.cpp: the reference triple loop, then the fast f32 path (BLIS-style): B is packed into
// KC x NR slivers shared by all threads, and a register-blocked micro-kernel computes an MR x NR
// tile of C per call. A row-major A is read where it lies: each step of k broadcasts MR values
// from MR row pointers. Packing it into MR-tall slivers would cost a strided copy per element,
// as much as the arithmetic when N is small (attention's P v with N = 64, the 96-wide layers of
// ConvNeXt), so only its last, partial sliver is packed. A transposed A (g^T in dW = g^T x) is
// packed: there each k's MR values are contiguous, the copy is cheap, and read in place every
// step would touch a new line, kc lines per micro-kernel call (dW ran ~20% slower so).
// Micro-kernels: AVX-512 12x32 (24 zmm accumulators; 24x16 when N <= 16), AVX2+FMA 6x16 (12 ymm
// accumulators), portable C 6x16. The choice is made once from CPUID; each kernel is compiled
// with a target attribute, so the binary runs on any x86-64 (and the portable path anywhere).
// A bias vector is added in the micro-kernels' epilogue. Threads share (row block, column group)
// items; when those are too few for the team and K is long, K is split instead (gemm_split_k).
#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#define FROST_X86 1
#endif

namespace frost::cpu {

// ---------------------------------------------------------------------------------------
// Reference

template <typename T>
void gemm_reference(int64_t M, int64_t N, int64_t K, T alpha, MatrixRef A, MatrixRef B, T beta, T* C, int64_t ldc,
                    const T* bias) {
  const T* a = static_cast<const T*>(A.data);
  const T* b = static_cast<const T*>(B.data);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += double(a[i * A.row_stride + k * A.col_stride]) * double(b[k * B.row_stride + j * B.col_stride]);
      T& c = C[i * ldc + j];
      const double b0 = bias ? double(bias[j]) : 0.0;
      c = beta == T(0) ? T(alpha * acc + b0) : T(alpha * acc + beta * double(c) + b0);
    }
}
template void gemm_reference<float>(int64_t, int64_t, int64_t, float, MatrixRef, MatrixRef, float, float*, int64_t, const float*);
template void gemm_reference<double>(int64_t, int64_t, int64_t, double, MatrixRef, MatrixRef, double, double*, int64_t,
                                     const double*);

// ---------------------------------------------------------------------------------------
// Micro-kernels: c (MR x NR, leading dim ldc) = alpha * sum_k A(i, k) b[k][0..NR) + beta * c
// (+ bias[0..NR) on every row when bias is not null), with A(i, k) = a[i * rs + k * ks]: a
// packed sliver (rs = 1, ks = MR) or A in place.

namespace {

using MicroKernel = void (*)(int64_t kc, const float* a, int64_t rs, int64_t ks, const float* b, float* c, int64_t ldc,
                             float alpha, float beta, const float* bias);

template <int MR, int NR>
void micro_portable(int64_t kc, const float* a, int64_t rs, int64_t ks, const float* b, float* c, int64_t ldc, float alpha,
                    float beta, const float* bias) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += ks, b += NR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i * rs] * b[j];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      const float r = alpha * acc[i][j] + (bias ? bias[j] : 0.0f);
      c[i * ldc + j] = beta == 0.0f ? r : r + beta * c[i * ldc + j];
    }
}

#ifdef FROST_X86
__attribute__((target("avx2,fma"))) void micro_avx2(int64_t kc, const float* a, int64_t rs, int64_t ks, const float* b, float* c,
                                                    int64_t ldc, float alpha, float beta, const float* bias) {
  constexpr int MR = 6;
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  const float* rows[MR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) rows[i] = a + i * rs;
  for (int64_t k = 0; k < kc; ++k, b += 16) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    const int64_t off = k * ks;
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      __m256 ai = _mm256_broadcast_ss(rows[i] + off);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  __m256 bias_h[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  if (bias) bias_h[0] = _mm256_loadu_ps(bias), bias_h[1] = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i)
    for (int h = 0; h < 2; ++h) {
      float* ci = c + i * ldc + 8 * h;
      __m256 r = _mm256_fmadd_ps(va, acc[i][h], bias_h[h]);
      if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r);
      _mm256_storeu_ps(ci, r);
    }
}

__attribute__((target("avx512f"))) void micro_avx512(int64_t kc, const float* a, int64_t rs, int64_t ks, const float* b, float* c,
                                                     int64_t ldc, float alpha, float beta, const float* bias) {
  constexpr int MR = 12;
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, b += 32) {
    // C's tile is written at the end: fetch its lines early, one per step (all at once would fill
    // the line-fill buffers while the loads of A and B wait).
    if (k < 2 * MR) _mm_prefetch(reinterpret_cast<const char*>(c + (k >> 1) * ldc + (k & 1) * 16), _MM_HINT_T0);
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    const float* ak = a + k * ks;
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      __m512 ai = _mm512_set1_ps(ak[i * rs]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  __m512 bias_h[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  if (bias) bias_h[0] = _mm512_loadu_ps(bias), bias_h[1] = _mm512_loadu_ps(bias + 16);
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i)
    for (int h = 0; h < 2; ++h) {
      float* ci = c + i * ldc + 16 * h;
      __m512 r = _mm512_fmadd_ps(va, acc[i][h], bias_h[h]);
      if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), r);
      _mm512_storeu_ps(ci, r);
    }
}
// For N <= 16 (LoRA's rank-8 products x A^T and g B): one zmm per row of a 24 x 16 tile, so that a
// narrow C wastes at most half of each FMA instead of three quarters of a 32-wide one.
__attribute__((target("avx512f"))) void micro_avx512_narrow(int64_t kc, const float* a, int64_t rs, int64_t ks, const float* b,
                                                            float* c, int64_t ldc, float alpha, float beta, const float* bias) {
  constexpr int MR = 24;
  __m512 acc[MR];
#pragma GCC unroll 24
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, b += 16) {
    if (k < MR) _mm_prefetch(reinterpret_cast<const char*>(c + k * ldc), _MM_HINT_T0);
    const __m512 bk = _mm512_load_ps(b);
    const float* ak = a + k * ks;
#pragma GCC unroll 24
    for (int i = 0; i < MR; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(ak[i * rs]), bk, acc[i]);
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __m512 vbias = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
#pragma GCC unroll 24
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    __m512 r = _mm512_fmadd_ps(va, acc[i], vbias);
    if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), r);
    _mm512_storeu_ps(ci, r);
  }
}
#endif

// A full sliver of a transposed B (B(k, c) = b[k + c * cs]: a weight W (N, K) read as W^T):
// dst[k][0..NR) from NR rows of W, a square block at a time: contiguous loads along k, a register
// transpose, contiguous stores. The scalar copy writes one element per store to NR different
// lines (at small M, Swin's last stage: 196 rows against a 3072 x 768 weight, a fifth of the
// product); a gather per k touches NR lines for NR floats (the forward's x W^T ran ~10% below
// x W so).
using PackTransposed = void (*)(const float* b, int64_t cs, int64_t kc, float* dst);

#ifdef FROST_X86
// 8 x 8 floats: r[i] (row i in) holds column i out.
__attribute__((target("avx2"), always_inline)) inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 2; ++g) {  // rows 4g..4g+3: u[4g + j] holds their columns j and 4 + j
    u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

// As the AVX-512 packer below: 8 k at a time through a register transpose, the rest gathered.
__attribute__((target("avx2"))) void pack_bt_avx2(const float* b, int64_t cs, int64_t kc, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8)
    for (int h = 0; h < 2; ++h) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(b + (8 * h + i) * cs + k);
      transpose8(r);
      for (int i = 0; i < 8; ++i) _mm256_store_ps(dst + (k + i) * 16 + 8 * h, r[i]);
    }
  const __m256i idx0 = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(int(cs)));
  const __m256i idx1 = _mm256_add_epi32(idx0, _mm256_set1_epi32(int(8 * cs)));
  for (; k < kc; ++k) {
    _mm256_store_ps(dst + k * 16, _mm256_i32gather_ps(b + k, idx0, 4));
    _mm256_store_ps(dst + k * 16 + 8, _mm256_i32gather_ps(b + k, idx1, 4));
  }
}

// GCC 12's AVX-512 shuffle intrinsics start from a self-initialised "undefined" vector, which
// -Wmaybe-uninitialized reports once they are inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// 16 x 16 floats: rows r[0..16) in, r[i] holds what was column i (the transposed block) out.
// Four shuffle stages: pairs of rows (ps), quads (pd), then 128-bit lanes across quads.
__attribute__((target("avx512f"), always_inline)) inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // rows 4g..4g+3: u[4g + j] holds, in lane L, their column 4L + j
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int j = 0; j < 4; ++j) {  // column 4L + j gathers lane L of u[j], u[4 + j], u[8 + j], u[12 + j]
    const __m512 lo01 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44), lo23 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
    const __m512 hi01 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xEE), hi23 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xEE);
    r[j] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);
    r[4 + j] = _mm512_shuffle_f32x4(lo01, lo23, 0xDD);
    r[8 + j] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(hi01, hi23, 0xDD);
  }
}

// 16 k at a time: 16 loads from 16 rows of W, a transpose, 16 stores; the last kc % 16 gathered.
template <int NR>  // 16 or 32
__attribute__((target("avx512f"))) void pack_bt_avx512(const float* b, int64_t cs, int64_t kc, float* dst) {
  int64_t k = 0;
  for (; k + 16 <= kc; k += 16)
    for (int h = 0; h < NR / 16; ++h) {
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(b + (16 * h + i) * cs + k);
      transpose16(r);
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) _mm512_store_ps(dst + (k + i) * NR + 16 * h, r[i]);
    }
  const __m512i idx0 =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(int(cs)));
  for (; k < kc; ++k)
    for (int h = 0; h < NR / 16; ++h) {
      const __m512i idx = _mm512_add_epi32(idx0, _mm512_set1_epi32(int(16 * h * cs)));
      _mm512_store_ps(dst + k * NR + 16 * h, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, idx, b + k, 4));
    }
}
#pragma GCC diagnostic pop
#endif

struct KernelInfo {
  const char* name;
  int mr, nr;
  MicroKernel micro;
  PackTransposed pack_bt;  // null: the scalar copy
};

const KernelInfo kPortable{"portable", 6, 16, micro_portable<6, 16>, nullptr};
#ifdef FROST_X86
const KernelInfo kAvx2{"avx2", 6, 16, micro_avx2, pack_bt_avx2};
const KernelInfo kAvx512{"avx512", 12, 32, micro_avx512, pack_bt_avx512<32>};
const KernelInfo kAvx512Narrow{"avx512", 24, 16, micro_avx512_narrow, pack_bt_avx512<16>};
#endif

// The kernel for an N-column product: AVX-512's narrow tile for N <= 16.
const KernelInfo& kernel_for(const KernelInfo& k, int64_t N) {
#ifdef FROST_X86
  if (&k == &kAvx512 && N <= 16) return kAvx512Narrow;
#endif
  (void)N;
  return k;
}

const KernelInfo* best_kernel() {
#ifdef FROST_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &kAvx2;
#endif
  return &kPortable;
}

const KernelInfo* g_forced = nullptr;
const KernelInfo* active_kernel() {
  static const KernelInfo* best = best_kernel();
  return g_forced ? g_forced : best;
}

// Blocking: a KC x NR sliver of B is reused across the MR slivers of A; MC x KC of A stays in
// L2. KC = 512 measured best on the reference Xeon (AVX-512) among 256/384/512/768.
constexpr int64_t KC = 512;
constexpr int64_t MC = 144;          // a multiple of every MR (24, 12 and 6)
constexpr int64_t NC = 3072;         // a multiple of both NRs
constexpr int64_t kColumnGroup = 8;  // NR slivers per work item

// A grow-only, 64-byte aligned scratch buffer per thread. Packing buffers are reused across
// calls: a fresh allocation per call would be a fresh mmap and hundreds of page faults.
float* thread_scratch(int which, size_t floats) {
  struct Scratch {
    float* data = nullptr;
    size_t capacity = 0;
    ~Scratch() { std::free(data); }
  };
  thread_local Scratch scratch[2];
  Scratch& s = scratch[which];
  if (s.capacity < floats) {
    std::free(s.data);
    s.data = static_cast<float*>(std::aligned_alloc(64, (floats * 4 + 63) / 64 * 64));
    if (!s.data) throw std::bad_alloc();
    s.capacity = floats;
  }
  return s.data;
}

// A[i0 .. i0+mc) x [p0 .. p0+kc) -> slivers dst[s][k][0..mr), rows past mc padded with zeros.
// The loop order follows whichever of A's strides is 1, so reads are sequential either way.
void pack_a(const MatrixRef& A, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, float* dst) {
  const float* a = static_cast<const float*>(A.data);
  for (int64_t s = 0; s < mc; s += mr, dst += kc * mr) {
    const int64_t rows = std::min<int64_t>(mr, mc - s);
    const float* src = a + (i0 + s) * A.row_stride + p0 * A.col_stride;
    if (A.col_stride == 1 || A.row_stride != 1) {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < kc; ++k) dst[k * mr + r] = src[r * A.row_stride + k * A.col_stride];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t r = 0; r < rows; ++r) dst[k * mr + r] = src[r + k * A.col_stride];
    }
    for (int64_t r = rows; r < mr; ++r)
      for (int64_t k = 0; k < kc; ++k) dst[k * mr + r] = 0.0f;
  }
}

// B [p0 .. p0+kc) x [j0 .. j0+cols) -> dst[k][0..nr), columns past cols padded with zeros.
void pack_b_sliver(const MatrixRef& B, int64_t p0, int64_t kc, int64_t j0, int64_t cols, const KernelInfo& kern, float* dst) {
  const int nr = kern.nr;
  const float* b = static_cast<const float*>(B.data) + p0 * B.row_stride + j0 * B.col_stride;
  if (kern.pack_bt && B.row_stride == 1 && B.col_stride != 1 && cols == nr && B.col_stride * nr < (int64_t(1) << 31))
    return kern.pack_bt(b, B.col_stride, kc, dst);  // 32-bit gather offsets reach every column
  if (B.col_stride == 1 || B.row_stride != 1) {
    for (int64_t k = 0; k < kc; ++k) {
      float* out = dst + k * nr;
      for (int64_t c = 0; c < cols; ++c) out[c] = b[k * B.row_stride + c * B.col_stride];
    }
  } else {
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t k = 0; k < kc; ++k) dst[k * nr + c] = b[k + c * B.col_stride];
  }
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t c = cols; c < nr; ++c) dst[k * nr + c] = 0.0f;
}

// C = beta C + bias: what is left of the product when K = 0 or alpha = 0.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc, const float* bias) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = (beta == 0.0f ? 0.0f : beta * C[i * ldc + j]) + (bias ? bias[j] : 0.0f);
}

// Equal row blocks of at most MC rows, a multiple of MR each, so that no thread waits on a short
// last block.
struct RowBlocks {
  int64_t count, rows;
};
RowBlocks row_blocks(int64_t M, int mr) {
  const int64_t blocks = (M + MC - 1) / MC;
  const int64_t rows = ((M + blocks - 1) / blocks + mr - 1) / mr * mr;
  return {(M + rows - 1) / rows, rows};
}

// Work items are (row block, column group) pairs. When they are too few to share evenly among the
// threads but K is long (the weight gradients of skinny operands: LoRA's dA = dh^T x with M = r,
// dB = g^T h with N = r, K = every row of the batch), K is split instead.
bool split_k_pays(int64_t M, int64_t N, int64_t K, int mr, int64_t group_cols) {
  const int64_t threads = omp_get_max_threads();
  const int64_t items = row_blocks(M, mr).count * ((std::min(N, NC) + group_cols - 1) / group_cols);
  const double balance = double(items) / double(threads * ((items + threads - 1) / threads));
  return balance < 0.8 && K >= threads * KC && double(M) * double(N) <= double(1 << 20);
}

// C = alpha A B + beta C + bias with K cut into one range per thread: each thread's product goes
// to its own M x N buffer (serial GEMMs: they run inside the parallel region), then the rows of C
// are summed from them.
void gemm_split_k(int64_t M, int64_t N, int64_t K, float alpha, const MatrixRef& A, const MatrixRef& B, float beta, float* C,
                  int64_t ldc, const float* bias) {
  const int pieces = omp_get_max_threads();
  const int64_t chunk = (K + pieces - 1) / pieces;
  std::vector<float> partial(size_t(pieces) * size_t(M * N));
  const float* a = static_cast<const float*>(A.data);
  const float* b = static_cast<const float*>(B.data);
#pragma omp parallel num_threads(pieces)
  {
    // one piece per thread, unless the runtime gave fewer threads
    for (int u = omp_get_thread_num(); u < pieces; u += omp_get_num_threads()) {
      const int64_t k0 = std::min(K, u * chunk), k1 = std::min(K, k0 + chunk);
      gemm_f32(M, N, k1 - k0, alpha, {a + k0 * A.col_stride, A.row_stride, A.col_stride},
               {b + k0 * B.row_stride, B.row_stride, B.col_stride}, 0.0f, partial.data() + size_t(u) * size_t(M * N),
               N);  // K = 0: zeros
    }
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float sum = bias ? bias[j] : 0.0f;
        for (int u = 0; u < pieces; ++u) sum += partial[size_t(u) * size_t(M * N) + size_t(i * N + j)];
        C[i * ldc + j] = beta == 0.0f ? sum : sum + beta * C[i * ldc + j];
      }
  }
}

}  // namespace

const char* gemm_f32_kernel_name() { return active_kernel()->name; }

void gemm_f32_force_kernel(const char* name) {
  std::string want = name ? name : "";
  if (want.empty()) {
    g_forced = nullptr;
    return;
  }
  if (want == "portable") {
    g_forced = &kPortable;
    return;
  }
#ifdef FROST_X86
  __builtin_cpu_init();
  if (want == "avx2" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    g_forced = &kAvx2;
    return;
  }
  if (want == "avx512" && __builtin_cpu_supports("avx512f")) {
    g_forced = &kAvx512;
    return;
  }
#endif
  throw std::invalid_argument("gemm kernel '" + want + "' is not available on this CPU");
}

void gemm_f32(int64_t M, int64_t N, int64_t K, float alpha, MatrixRef A, MatrixRef B, float beta, float* C, int64_t ldc,
              const float* bias) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc, bias);
    return;
  }
  const KernelInfo& kern = kernel_for(*active_kernel(), N);
  const int mr = kern.mr, nr = kern.nr;
  const int64_t group_cols = kColumnGroup * nr;
  const int64_t nc_max = std::min<int64_t>(NC, (N + nr - 1) / nr * nr);
  float* packed_b = thread_scratch(0, size_t(KC) * nc_max);  // shared by the team
  // Small products run on one thread: fork/join would cost more than the work. So does a call
  // from inside any parallel construct (omp_get_level, not omp_in_parallel, which is false in an
  // inactive one): a nested region gets freshly started threads (~0.6 ms each), not the pool's.
  const bool parallel = double(M) * N * K > 64.0 * 64 * 64 && omp_get_max_threads() > 1 && omp_get_level() == 0;
  if (parallel && split_k_pays(M, N, K, mr, group_cols)) return gemm_split_k(M, N, K, alpha, A, B, beta, C, ldc, bias);
  const bool direct_a = A.col_stride == 1;  // row-major A is read in place (see the top)
  const float* a_data = static_cast<const float*>(A.data);
  const RowBlocks blocks = row_blocks(M, mr);

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    const int64_t slivers = (nc + nr - 1) / nr;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const float beta_eff = pc == 0 ? beta : 1.0f;
      const float* bias_eff = pc == 0 ? bias : nullptr;  // added once, with the first K block
      const int64_t col_groups = (nc + group_cols - 1) / group_cols;
#pragma omp parallel if (parallel)
      {
#pragma omp for schedule(static)
        for (int64_t t = 0; t < slivers; ++t)
          pack_b_sliver(B, pc, kc, jc + t * nr, std::min<int64_t>(nr, nc - t * nr), kern, packed_b + t * kc * nr);
        float* packed_a = thread_scratch(1, size_t(MC) * KC);
        alignas(64) float edge[12 * 32];  // the largest tile: 12 x 32 = 24 x 16
        int64_t packed_block = -1;
        // A packed A (dW's g^T): items sweep the row blocks under one column group, so a thread
        // reads the B slivers it packed (its own cache) rather than all of B for each row block.
        const bool by_column = !direct_a && col_groups >= omp_get_num_threads();
#pragma omp for schedule(static)
        for (int64_t item = 0; item < blocks.count * col_groups; ++item) {
          const int64_t block = by_column ? item % blocks.count : item / col_groups;
          const int64_t group = by_column ? item / blocks.count : item % col_groups;
          const int64_t ic = block * blocks.rows, mc = std::min(blocks.rows, M - ic);
          if (block != packed_block) {  // in place: only a partial last sliver is packed
            const int64_t full = direct_a ? mc / mr * mr : 0;
            if (full < mc) pack_a(A, ic + full, mc - full, pc, kc, mr, packed_a + full / mr * kc * mr);
            packed_block = block;
          }
          const int64_t j_end = std::min(nc, (group + 1) * group_cols);
          for (int64_t jr = group * group_cols; jr < j_end; jr += nr) {
            const int64_t cols = std::min<int64_t>(nr, nc - jr);
            const float* bp = packed_b + (jr / nr) * kc * nr;
            for (int64_t ir = 0; ir < mc; ir += mr) {
              const int64_t rows = std::min<int64_t>(mr, mc - ir);
              const bool in_place = direct_a && rows == mr;
              const float* ap = in_place ? a_data + (ic + ir) * A.row_stride + pc * A.col_stride : packed_a + (ir / mr) * kc * mr;
              const int64_t rs = in_place ? A.row_stride : 1, ks = in_place ? A.col_stride : mr;
              float* c = C + (ic + ir) * ldc + jc + jr;
              const float* bj = bias_eff ? bias_eff + jc + jr : nullptr;
              if (rows == mr && cols == nr) {
                kern.micro(kc, ap, rs, ks, bp, c, ldc, alpha, beta_eff, bj);
                continue;
              }
              kern.micro(kc, ap, rs, ks, bp, edge, nr, alpha, 0.0f, nullptr);  // partial tile via a scratch tile
              for (int64_t r = 0; r < rows; ++r)
                for (int64_t q = 0; q < cols; ++q)
                  c[r * ldc + q] = edge[r * nr + q] + (bj ? bj[q] : 0.0f) + (beta_eff == 0.0f ? 0.0f : beta_eff * c[r * ldc + q]);
            }
          }
        }
      }
    }
  }
}

void gemm_f64(int64_t M, int64_t N, int64_t K, double alpha, MatrixRef A, MatrixRef B, double beta, double* C, int64_t ldc,
              const double* bias) {
  const double* a = static_cast<const double*>(A.data);
  const double* b = static_cast<const double*>(B.data);
  const bool parallel = double(M) * N * K > 32.0 * 32 * 32 && omp_get_level() == 0;
#pragma omp parallel if (parallel)
  {
    std::vector<double> row(size_t(std::max<int64_t>(N, 1)));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < M; ++i) {
      std::fill(row.begin(), row.end(), 0.0);
      for (int64_t k = 0; k < K; ++k) {
        const double aik = a[i * A.row_stride + k * A.col_stride];
        const double* bk = b + k * B.row_stride;
        if (B.col_stride == 1)
          for (int64_t j = 0; j < N; ++j) row[j] += aik * bk[j];
        else
          for (int64_t j = 0; j < N; ++j) row[j] += aik * bk[j * B.col_stride];
      }
      double* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j)
        c[j] = (beta == 0.0 ? alpha * row[j] : alpha * row[j] + beta * c[j]) + (bias ? bias[j] : 0.0);
    }
  }
}

namespace {
void gemm_one(int64_t M, int64_t N, int64_t K, float alpha, MatrixRef A, MatrixRef B, float beta, float* C, int64_t ldc,
              const float* bias) {
  gemm_f32(M, N, K, alpha, A, B, beta, C, ldc, bias);
}
void gemm_one(int64_t M, int64_t N, int64_t K, double alpha, MatrixRef A, MatrixRef B, double beta, double* C, int64_t ldc,
              const double* bias) {
  gemm_f64(M, N, K, alpha, A, B, beta, C, ldc, bias);
}
void gemm_one(int64_t M, int64_t N, int64_t K, float alpha, MatrixRef A, MatrixRef B, float beta, bf16* C, int64_t ldc,
              const bf16* bias) {
  gemm_bf16(M, N, K, alpha, A, B, beta, C, ldc, bias);
}
}  // namespace

template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, acc_t<T> alpha, MatrixRef A, MatrixRef B, acc_t<T> beta, T* C, int64_t ldc,
          const GemmBatch& batch, const T* bias) {
  if (bias && batch.count != 1)
    throw std::invalid_argument("cpu::gemm: a bias epilogue with a batch of " + std::to_string(batch.count));
  const T* a = static_cast<const T*>(A.data);
  const T* b = static_cast<const T*>(B.data);
  auto product = [&](int64_t i) {
    gemm_one(M, N, K, alpha, {a + i * batch.a_stride, A.row_stride, A.col_stride},
             {b + i * batch.b_stride, B.row_stride, B.col_stride}, beta, C + i * batch.c_stride, ldc, bias);
  };
  // Many small products: one per thread, serial GEMMs. Few large ones: parallel GEMMs, called
  // outside any parallel construct: inside one, even an inactive `if (false)` region, each of
  // their parallel regions is a nested one, for which libgomp starts fresh threads (~0.6 ms).
  if (batch.count > 1 && double(M) * N * K < 256.0 * 256 * 256) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < batch.count; ++i) product(i);
  } else {
    for (int64_t i = 0; i < batch.count; ++i) product(i);
  }
}

template void gemm<float>(int64_t, int64_t, int64_t, float, MatrixRef, MatrixRef, float, float*, int64_t, const GemmBatch&,
                          const float*);
template void gemm<double>(int64_t, int64_t, int64_t, double, MatrixRef, MatrixRef, double, double*, int64_t, const GemmBatch&,
                           const double*);
template void gemm<bf16>(int64_t, int64_t, int64_t, float, MatrixRef, MatrixRef, float, bf16*, int64_t, const GemmBatch&,
                         const bf16*);

}  // namespace frost::cpu
