// reduce.cu: sum and max over the middle dim of a contiguous [outer, R, inner] (kernels/cpu/
// reduce.h). Sums accumulate in double as on the CPU. inner == 1: one block per row, a block
// reduction along R. Otherwise a 32 x 8 block takes 32 neighbouring columns (coalesced reads)
// and 8 interleaved slices of R, then adds the 8 partial sums in a fixed order. bf16 is read
// into the same double sums and rounded once.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"

namespace frost::cuda {

namespace {

template <typename T>
__global__ void sum_rows_kernel(const T* x, int64_t outer, int64_t R, T* out) {
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {  // uniform over the block
    double acc = 0;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) acc += double(x[o * R + r]);
    acc = block_reduce(acc, SumOp{}, 0.0);
    if (threadIdx.x == 0) out[o] = T(acc);
  }
}

constexpr int kColumns = 32, kSlices = 8;

template <typename T>
__global__ void sum_columns_kernel(const T* x, int64_t outer, int64_t R, int64_t inner, T* out) {
  __shared__ double partial[kSlices][kColumns + 1];
  const int64_t column_blocks = (inner + kColumns - 1) / kColumns;
  for (int64_t job = blockIdx.x; job < outer * column_blocks; job += gridDim.x) {
    const int64_t o = job / column_blocks, i = (job % column_blocks) * kColumns + threadIdx.x;
    double acc = 0;
    if (i < inner)
      for (int64_t r = threadIdx.y; r < R; r += kSlices) acc += double(x[(o * R + r) * inner + i]);
    partial[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && i < inner) {
      double total = 0;
      for (int s = 0; s < kSlices; ++s) total += partial[s][threadIdx.x];
      out[o * inner + i] = T(total);
    }
    __syncthreads();
  }
}

// First r attaining the max; a NaN wins and stops the scan (as on the CPU).
template <typename T>
__global__ void max_kernel(const T* x, int64_t outer, int64_t R, int64_t inner, T* out, int64_t* argmax) {
  FROST_GRID_LOOP(j, outer * inner) {
    const int64_t o = j / inner, i = j % inner;
    const T* col = x + o * R * inner + i;
    acc_t<T> best = col[0];
    int64_t best_r = 0;
    for (int64_t r = 1; r < R && !isnan(best); ++r) {
      const acc_t<T> v = col[r * inner];
      if (v > best || isnan(v)) {
        best = v;
        best_r = r;
      }
    }
    out[j] = T(best);
    argmax[j] = best_r;
  }
}

template <typename T>
__global__ void max_backward_kernel(const T* dy, const int64_t* argmax, int64_t R, int64_t inner, T* dx, int64_t n) {
  FROST_GRID_LOOP(e, n) {
    const int64_t i = e % inner, r = (e / inner) % R, o = e / (inner * R);
    dx[e] = argmax[o * inner + i] == r ? dy[o * inner + i] : T(0);
  }
}

}  // namespace

template <typename T>
void sum_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out) {
  if (outer * inner == 0) return;
  if (R == 0) {
    fill(out, storage_dtype<T>(), outer * inner, 0.0);
    return;
  }
  if (inner == 1) {
    sum_rows_kernel<T><<<grid_for(outer, 1), 256>>>(x, outer, R, out);
  } else {
    const int64_t jobs = outer * ((inner + kColumns - 1) / kColumns);
    sum_columns_kernel<T><<<grid_for(jobs, 1), dim3(kColumns, kSlices)>>>(x, outer, R, inner, out);
  }
  FROST_LAUNCH_CHECK();
}

template <typename T>
void max_middle(const T* x, int64_t outer, int64_t R, int64_t inner, T* out, int64_t* argmax) {
  if (outer * inner == 0) return;
  max_kernel<T><<<grid_for(outer * inner), kThreads>>>(x, outer, R, inner, out, argmax);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void max_middle_backward(const T* dy, const int64_t* argmax, int64_t outer, int64_t R, int64_t inner, T* dx) {
  const int64_t n = outer * R * inner;
  if (n == 0) return;
  max_backward_kernel<T><<<grid_for(n), kThreads>>>(dy, argmax, R, inner, dx, n);
  FROST_LAUNCH_CHECK();
}

#define FROST_INSTANTIATE(T)                                                      \
  template void sum_middle<T>(const T*, int64_t, int64_t, int64_t, T*);           \
  template void max_middle<T>(const T*, int64_t, int64_t, int64_t, T*, int64_t*); \
  template void max_middle_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)
FROST_INSTANTIATE(bf16)

}  // namespace frost::cuda
