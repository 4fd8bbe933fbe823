// random.cu: random fills, dropout and drop-path on kernels/philox.h, the same inline Philox the
// CPU kernels use: for one (seed, offset) every element gets the same value, and every mask the
// same bits, on either device.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"
#include "kernels/philox.h"

namespace frost::cuda {

namespace {

// Box-Muller on two words of one block, as cpu::philox_normal.
__device__ inline double normal_value(uint64_t seed, uint64_t offset, uint64_t index) {
  const rng::Philox r = rng::philox4x32(index, offset, seed);
  const double u1 = (double(r.v[0]) + 1.0) / 4294967297.0;  // (0, 1]
  const double u2 = double(r.v[1]) / 4294967296.0;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

template <typename T>
__global__ void fill_normal_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  FROST_GRID_LOOP(i, n) out[i] = T(normal_value(seed, offset, uint64_t(i)));
}

template <typename T>
__global__ void fill_uniform_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  FROST_GRID_LOOP(i, n) out[i] = T(rng::uniform(seed, offset, uint64_t(i)));
}

template <typename T>
__global__ void dropout_kernel(const T* x, T* y, int64_t n, double p, acc_t<T> scale, uint64_t seed, uint64_t offset) {
  FROST_GRID_LOOP(i, n) y[i] = T(rng::keep(seed, offset, uint64_t(i), p) ? acc_t<T>(x[i]) * scale : acc_t<T>(0));
}

template <typename T>
__global__ void drop_path_kernel(const T* x, T* y, int64_t per_sample, int64_t n, double p, acc_t<T> scale, uint64_t seed,
                                 uint64_t offset) {
  FROST_GRID_LOOP(i, n) {
    const uint64_t sample = uint64_t(i / per_sample);
    y[i] = T(acc_t<T>(x[i]) * (rng::keep(seed, offset, sample, p) ? scale : acc_t<T>(0)));
  }
}

}  // namespace

template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  fill_normal_kernel<T><<<grid_for(n), kThreads>>>(out, n, seed, offset);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  fill_uniform_kernel<T><<<grid_for(n), kThreads>>>(out, n, seed, offset);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void dropout_apply(const T* x, T* y, int64_t n, double p, uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  dropout_kernel<T><<<grid_for(n), kThreads>>>(x, y, n, p, acc_t<T>(1.0 / (1.0 - p)), seed, offset);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void drop_path_apply(const T* x, T* y, int64_t batch, int64_t per_sample, double p, uint64_t seed, uint64_t offset) {
  const int64_t n = batch * per_sample;
  if (n == 0) return;
  drop_path_kernel<T><<<grid_for(n), kThreads>>>(x, y, per_sample, n, p, acc_t<T>(1.0 / (1.0 - p)), seed, offset);
  FROST_LAUNCH_CHECK();
}

#define FROST_INSTANTIATE(T)                                                         \
  template void fill_normal<T>(T*, int64_t, uint64_t, uint64_t);                     \
  template void fill_uniform<T>(T*, int64_t, uint64_t, uint64_t);                    \
  template void dropout_apply<T>(const T*, T*, int64_t, double, uint64_t, uint64_t); \
  template void drop_path_apply<T>(const T*, T*, int64_t, int64_t, double, uint64_t, uint64_t);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)
template void dropout_apply<bf16>(const bf16*, bf16*, int64_t, double, uint64_t, uint64_t);
template void drop_path_apply<bf16>(const bf16*, bf16*, int64_t, int64_t, double, uint64_t, uint64_t);

}  // namespace frost::cuda
