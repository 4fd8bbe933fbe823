// random.cpp: Philox4x32-10 and the dropout kernels built on it.
#include "kernels/cpu/random.h"

#include "kernels/philox.h"

#include <cmath>

namespace frost::cpu {

Philox philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t seed) {
  const rng::Philox r = rng::philox4x32(counter_lo, counter_hi, seed);
  return {{r.v[0], r.v[1], r.v[2], r.v[3]}};
}

float philox_uniform(uint64_t seed, uint64_t offset, uint64_t index) { return rng::uniform(seed, offset, index); }

double philox_normal(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox r = philox4x32(index, offset, seed);
  const double u1 = (double(r.v[0]) + 1.0) / 4294967297.0;  // (0, 1]
  const double u2 = double(r.v[1]) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset) {
#pragma omp parallel for schedule(static) if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = T(philox_normal(seed, offset, uint64_t(i)));
}

template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset) {
#pragma omp parallel for schedule(static) if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = T(philox_uniform(seed, offset, uint64_t(i)));
}

template void fill_normal<float>(float*, int64_t, uint64_t, uint64_t);
template void fill_normal<double>(double*, int64_t, uint64_t, uint64_t);
template void fill_uniform<float>(float*, int64_t, uint64_t, uint64_t);
template void fill_uniform<double>(double*, int64_t, uint64_t, uint64_t);

template <typename T>
void dropout_apply(const T* x, T* y, int64_t n, double p, uint64_t seed, uint64_t offset) {
  const acc_t<T> scale = acc_t<T>(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) y[i] = T(rng::keep(seed, offset, uint64_t(i), p) ? acc_t<T>(x[i]) * scale : acc_t<T>(0));
}

template <typename T>
void drop_path_apply(const T* x, T* y, int64_t batch, int64_t per_sample, double p, uint64_t seed, uint64_t offset) {
  const acc_t<T> scale = acc_t<T>(1.0 / (1.0 - p));
  for (int64_t b = 0; b < batch; ++b) {
    const acc_t<T> factor = rng::keep(seed, offset, uint64_t(b), p) ? scale : acc_t<T>(0);
    for (int64_t i = 0; i < per_sample; ++i) y[b * per_sample + i] = T(acc_t<T>(x[b * per_sample + i]) * factor);
  }
}

template void dropout_apply<float>(const float*, float*, int64_t, double, uint64_t, uint64_t);
template void dropout_apply<double>(const double*, double*, int64_t, double, uint64_t, uint64_t);
template void drop_path_apply<float>(const float*, float*, int64_t, int64_t, double, uint64_t, uint64_t);
template void drop_path_apply<double>(const double*, double*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_apply<bf16>(const bf16*, bf16*, int64_t, double, uint64_t, uint64_t);
template void drop_path_apply<bf16>(const bf16*, bf16*, int64_t, int64_t, double, uint64_t, uint64_t);

}  // namespace frost::cpu
