// index.cu: the offset gather and its CSR adjoint (kernels/cpu/index.h): one thread per output
// element, one per destination summing its sources in order (deterministic, no atomics).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"

namespace frost::cuda {

namespace {

template <typename T>
__global__ void gather_kernel(const T* src, const int64_t* offsets, int64_t n, T* dst) {
  FROST_GRID_LOOP(i, n) dst[i] = src[offsets[i]];
}

template <typename T>
__global__ void scatter_sum_kernel(const T* src, const int64_t* starts, const int64_t* sources, int64_t n, T* dst) {
  FROST_GRID_LOOP(t, n) {
    acc_t<T> total = 0;
    for (int64_t j = starts[t]; j < starts[t + 1]; ++j) total += acc_t<T>(src[sources[j]]);
    dst[t] = T(total);
  }
}

}  // namespace

template <typename T>
void gather_offsets(const T* src, const int64_t* offsets, int64_t n, T* dst) {
  if (n == 0) return;
  gather_kernel<T><<<grid_for(n), kThreads>>>(src, offsets, n, dst);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void scatter_sum(const T* src, const int64_t* starts, const int64_t* sources, int64_t n, T* dst) {
  if (n == 0) return;
  scatter_sum_kernel<T><<<grid_for(n), kThreads>>>(src, starts, sources, n, dst);
  FROST_LAUNCH_CHECK();
}

template void gather_offsets<float>(const float*, const int64_t*, int64_t, float*);
template void gather_offsets<double>(const double*, const int64_t*, int64_t, double*);
template void scatter_sum<float>(const float*, const int64_t*, const int64_t*, int64_t, float*);
template void scatter_sum<double>(const double*, const int64_t*, const int64_t*, int64_t, double*);
template void gather_offsets<bf16>(const bf16*, const int64_t*, int64_t, bf16*);
template void scatter_sum<bf16>(const bf16*, const int64_t*, const int64_t*, int64_t, bf16*);

}  // namespace frost::cuda
