// optim.cu: SGD and AdamW updates, one thread per element, the same per-element functions as
// the CPU (kernels/cpu/optim.h); masked entries are skipped. The sum of squares: one block per
// CPU slice, then one block adds the 256 partials (a fixed order: the same sum on every run).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"

namespace frost::cuda {

namespace {

template <typename T>
__global__ void sgd_kernel(cpu::SGDUpdate u, T* w, const T* grad, const T* mask, T* buf, int64_t n) {
  FROST_GRID_LOOP(j, n)
  if (!mask || mask[j] != T(0)) cpu::sgd_element<T>(u, w[j], grad[j], buf ? buf + j : nullptr);
}

template <typename T>
__global__ void adamw_kernel(cpu::AdamWUpdate u, T* w, const T* grad, const T* mask, T* m, T* v, int64_t n) {
  FROST_GRID_LOOP(j, n)
  if (!mask || mask[j] != T(0)) cpu::adamw_element<T>(u, w[j], grad[j], m[j], v[j]);
}

// Block p adds the squares of slice p (the CPU's slices), into scratch[p].
template <typename T>
__global__ void square_partials_kernel(const T* x, int64_t n, int64_t slice, double* scratch) {
  const int64_t begin = int64_t(blockIdx.x) * slice, end = min(n, begin + slice);
  double acc = 0;
  for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
    const double v = double(x[j]);
    acc += v * v;
  }
  acc = block_reduce(acc, SumOp{}, 0.0);
  if (threadIdx.x == 0) scratch[blockIdx.x] = acc;
}

__global__ void add_partials_kernel(const double* scratch, double* acc) {
  const double total = block_reduce(scratch[threadIdx.x], SumOp{}, 0.0);
  if (threadIdx.x == 0) *acc += total;
}

}  // namespace

template <typename T>
void sum_squares(const T* x, int64_t n, double* scratch, double* acc) {
  if (n == 0) return;
  const int64_t slice = (n + cpu::kSquarePartials - 1) / cpu::kSquarePartials;
  square_partials_kernel<T><<<cpu::kSquarePartials, kThreads>>>(x, n, slice, scratch);
  FROST_LAUNCH_CHECK();
  add_partials_kernel<<<1, cpu::kSquarePartials>>>(scratch, acc);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void sgd_update(const cpu::SGDUpdate& u, T* w, const T* grad, const T* mask, T* buf, int64_t n) {
  if (n == 0) return;
  sgd_kernel<T><<<grid_for(n), kThreads>>>(u, w, grad, mask, buf, n);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void adamw_update(const cpu::AdamWUpdate& u, T* w, const T* grad, const T* mask, T* m, T* v, int64_t n) {
  if (n == 0) return;
  adamw_kernel<T><<<grid_for(n), kThreads>>>(u, w, grad, mask, m, v, n);
  FROST_LAUNCH_CHECK();
}

template void sum_squares<float>(const float*, int64_t, double*, double*);
template void sum_squares<double>(const double*, int64_t, double*, double*);
template void sum_squares<bf16>(const bf16*, int64_t, double*, double*);
template void sgd_update<float>(const cpu::SGDUpdate&, float*, const float*, const float*, float*, int64_t);
template void sgd_update<double>(const cpu::SGDUpdate&, double*, const double*, const double*, double*, int64_t);
template void adamw_update<float>(const cpu::AdamWUpdate&, float*, const float*, const float*, float*, float*, int64_t);
template void adamw_update<double>(const cpu::AdamWUpdate&, double*, const double*, const double*, double*, double*, int64_t);

}  // namespace frost::cuda
