// optim.cpp: the optimizer element loops on the CPU (formulas in optim.h).
#include "kernels/cpu/optim.h"

#include <algorithm>

#include "kernels/bfloat16.h"

namespace frost::cpu {

template <typename T>
void sgd_update(const SGDUpdate& u, T* w, const T* grad, const T* mask, T* buf, int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t j = 0; j < n; ++j)
    if (!mask || mask[j] != T(0)) sgd_element<T>(u, w[j], grad[j], buf ? buf + j : nullptr);
}

template <typename T>
void adamw_update(const AdamWUpdate& u, T* w, const T* grad, const T* mask, T* m, T* v, int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t j = 0; j < n; ++j)
    if (!mask || mask[j] != T(0)) adamw_element<T>(u, w[j], grad[j], m[j], v[j]);
}

template <typename T>
void sum_squares(const T* x, int64_t n, double*, double* acc) {
  double partial[kSquarePartials];
  const int64_t slice = (n + kSquarePartials - 1) / kSquarePartials;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int p = 0; p < kSquarePartials; ++p) {
    double s = 0;
    for (int64_t j = p * slice, end = std::min(n, j + slice); j < end; ++j) s += double(x[j]) * double(x[j]);
    partial[p] = s;
  }
  double total = 0;
  for (double s : partial) total += s;
  *acc += total;
}

template void sum_squares<float>(const float*, int64_t, double*, double*);
template void sum_squares<double>(const double*, int64_t, double*, double*);
template void sum_squares<bf16>(const bf16*, int64_t, double*, double*);
template void sgd_update<float>(const SGDUpdate&, float*, const float*, const float*, float*, int64_t);
template void sgd_update<double>(const SGDUpdate&, double*, const double*, const double*, double*, int64_t);
template void adamw_update<float>(const AdamWUpdate&, float*, const float*, const float*, float*, float*, int64_t);
template void adamw_update<double>(const AdamWUpdate&, double*, const double*, const double*, double*, double*, int64_t);

}  // namespace frost::cpu
