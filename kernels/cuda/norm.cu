// norm.cu: layer norm over the last dim of a contiguous [rows, C] (kernels/cpu/norm.h has the
// formulas). Forward and dx: one block per row, statistics in double by block reductions.
// dw and db: columns are split over blocks of 32 and rows over up to 128 chunks; each chunk's
// partial sums (double) land in scratch and a second kernel adds them in chunk order, so the
// result is the same on every run. bf16 rows are read into f32 (acc_t), statistics stay f32.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/math.cuh"

namespace frost::cuda {

namespace {

template <typename T>
__global__ void layer_norm_forward_kernel(const T* x, const T* w, const T* b, int64_t rows, int64_t C, double eps, T* y,
                                          acc_t<T>* mean, acc_t<T>* rstd) {
  using A = acc_t<T>;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * C;
    double sum = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sum += double(xr[c]);
    const double mu = block_reduce(sum, SumOp{}, 0.0) / double(C);
    double sq = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sq += (double(xr[c]) - mu) * (double(xr[c]) - mu);
    sq = block_reduce(sq, SumOp{}, 0.0);
    const A m = A(mu), s = A(1.0 / sqrt(sq / double(C) + eps));
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
      y[r * C + c] = T((A(xr[c]) - m) * s * (w ? A(w[c]) : A(1)) + (b ? A(b[c]) : A(0)));
    if (threadIdx.x == 0) {
      if (mean) mean[r] = m;
      if (rstd) rstd[r] = s;
    }
  }
}

template <typename T>
__global__ void layer_norm_dx_kernel(const T* dy, const T* x, const acc_t<T>* mean, const acc_t<T>* rstd, const T* w,
                                     int64_t rows, int64_t C, T* dx) {
  using A = acc_t<T>;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * C;
    const T* dyr = dy + r * C;
    const A m = mean[r], s = rstd[r];
    double g_sum = 0, gx_sum = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const double g = double(dyr[c]) * (w ? double(w[c]) : 1.0);
      g_sum += g;
      gx_sum += g * double((A(xr[c]) - m) * s);
    }
    g_sum = block_reduce(g_sum, SumOp{}, 0.0);
    gx_sum = block_reduce(gx_sum, SumOp{}, 0.0);
    const A g_mean = A(g_sum / double(C)), gx_mean = A(gx_sum / double(C));
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const A g = A(dyr[c]) * (w ? A(w[c]) : A(1));
      dx[r * C + c] = T(s * (g - g_mean - (A(xr[c]) - m) * s * gx_mean));
    }
  }
}

constexpr int kColumns = 32, kSlices = 8, kMaxChunks = 128;

// partial_w/partial_b: [chunks, C] (either may be null).
template <typename T>
__global__ void layer_norm_param_partial_kernel(const T* dy, const T* x, const acc_t<T>* mean, const acc_t<T>* rstd, int64_t rows,
                                                int64_t C, int64_t chunk_rows, double* partial_w, double* partial_b) {
  __shared__ double sw[kSlices][kColumns + 1], sb[kSlices][kColumns + 1];
  const int64_t c = int64_t(blockIdx.x) * kColumns + threadIdx.x, chunk = blockIdx.y;
  const int64_t r0 = chunk * chunk_rows, r1 = min(rows, r0 + chunk_rows);
  double acc_w = 0, acc_b = 0;
  if (c < C)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kSlices) {
      const double g = double(dy[r * C + c]);
      acc_w += g * double((acc_t<T>(x[r * C + c]) - mean[r]) * rstd[r]);
      acc_b += g;
    }
  sw[threadIdx.y][threadIdx.x] = acc_w;
  sb[threadIdx.y][threadIdx.x] = acc_b;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    double tw = 0, tb = 0;
    for (int s = 0; s < kSlices; ++s) {
      tw += sw[s][threadIdx.x];
      tb += sb[s][threadIdx.x];
    }
    if (partial_w) partial_w[chunk * C + c] = tw;
    if (partial_b) partial_b[chunk * C + c] = tb;
  }
}

template <typename T>
__global__ void sum_chunks_kernel(const double* partial, int64_t chunks, int64_t C, T* out) {
  FROST_GRID_LOOP(c, C) {
    double total = 0;
    for (int64_t k = 0; k < chunks; ++k) total += partial[k * C + c];
    out[c] = T(total);
  }
}

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t C, double eps, T* y, acc_t<T>* mean,
                        acc_t<T>* rstd) {
  if (rows == 0 || C == 0) return;
  layer_norm_forward_kernel<T><<<grid_for(rows, 1), C <= 128 ? 128 : 256>>>(x, w, b, rows, C, eps, y, mean, rstd);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void layer_norm_backward(const T* dy, const T* x, const acc_t<T>* mean, const acc_t<T>* rstd, const T* w, int64_t rows, int64_t C,
                         T* dx, T* dw, T* db) {
  if (C == 0) return;
  if (rows == 0) {  // the affine gradients of no rows are zeros, as on the CPU
    if (dw) FROST_CUDA_CHECK(cudaMemset(dw, 0, size_t(C) * sizeof(T)));
    if (db) FROST_CUDA_CHECK(cudaMemset(db, 0, size_t(C) * sizeof(T)));
    return;
  }
  if (dx) {
    layer_norm_dx_kernel<T><<<grid_for(rows, 1), C <= 128 ? 128 : 256>>>(dy, x, mean, rstd, w, rows, C, dx);
    FROST_LAUNCH_CHECK();
  }
  if (!dw && !db) return;
  const int64_t chunks = std::min<int64_t>(kMaxChunks, rows);
  const int64_t chunk_rows = (rows + chunks - 1) / chunks;
  Scratch partial_w(dw ? size_t(chunks * C) * sizeof(double) : 0);
  Scratch partial_b(db ? size_t(chunks * C) * sizeof(double) : 0);
  const dim3 grid(unsigned((C + kColumns - 1) / kColumns), unsigned(chunks));
  layer_norm_param_partial_kernel<T>
      <<<grid, dim3(kColumns, kSlices)>>>(dy, x, mean, rstd, rows, C, chunk_rows, partial_w.as<double>(), partial_b.as<double>());
  FROST_LAUNCH_CHECK();
  if (dw) sum_chunks_kernel<T><<<grid_for(C), kThreads>>>(partial_w.as<double>(), chunks, C, dw);
  if (db) sum_chunks_kernel<T><<<grid_for(C), kThreads>>>(partial_b.as<double>(), chunks, C, db);
  FROST_LAUNCH_CHECK();
}

#define FROST_INSTANTIATE(T)                                                                                                     \
  template void layer_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, double, T*, acc_t<T>*, acc_t<T>*);         \
  template void layer_norm_backward<T>(const T*, const T*, const acc_t<T>*, const acc_t<T>*, const T*, int64_t, int64_t, T*, T*, \
                                       T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)
FROST_INSTANTIATE(bf16)

}  // namespace frost::cuda
