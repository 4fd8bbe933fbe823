// optim.cu: SGD and AdamW updates, one thread per element, the same per-element functions as
// the CPU (kernels/cpu/optim.h); masked entries are skipped.
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

}  // namespace

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

template void sgd_update<float>(const cpu::SGDUpdate&, float*, const float*, const float*, float*, int64_t);
template void sgd_update<double>(const cpu::SGDUpdate&, double*, const double*, const double*, double*, int64_t);
template void adamw_update<float>(const cpu::AdamWUpdate&, float*, const float*, const float*, float*, float*, int64_t);
template void adamw_update<double>(const cpu::AdamWUpdate&, double*, const double*, const double*, double*, double*,
                                   int64_t);

}  // namespace frost::cuda
