// index.cpp: offset gathers and CSR sums (see index.h).
#include "kernels/cpu/index.h"

#include <cstddef>

namespace frost::cpu {

template <typename T>
void gather_offsets(const T* src, const int64_t* offsets, int64_t n, T* dst) {
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) dst[i] = src[offsets[i]];
}

template <typename T>
void scatter_sum(const T* src, const int64_t* starts, const int64_t* sources, int64_t n, T* dst) {
#pragma omp parallel for schedule(static) if (n > (1 << 12))
  for (int64_t t = 0; t < n; ++t) {
    acc_t<T> total = 0;
    for (int64_t j = starts[t]; j < starts[t + 1]; ++j) total += acc_t<T>(src[sources[j]]);
    dst[t] = T(total);
  }
}

void invert_offsets(const std::vector<int64_t>& offsets, int64_t n_dst, std::vector<int64_t>& starts,
                    std::vector<int64_t>& sources) {
  starts.assign(std::size_t(n_dst) + 1, 0);
  for (int64_t o : offsets) ++starts[std::size_t(o) + 1];
  for (int64_t t = 0; t < n_dst; ++t) starts[std::size_t(t) + 1] += starts[std::size_t(t)];
  sources.resize(offsets.size());
  std::vector<int64_t> fill(starts.begin(), starts.end() - 1);
  for (std::size_t s = 0; s < offsets.size(); ++s) sources[std::size_t(fill[std::size_t(offsets[s])]++)] = int64_t(s);
}

template void gather_offsets<float>(const float*, const int64_t*, int64_t, float*);
template void gather_offsets<double>(const double*, const int64_t*, int64_t, double*);
template void scatter_sum<float>(const float*, const int64_t*, const int64_t*, int64_t, float*);
template void scatter_sum<double>(const double*, const int64_t*, const int64_t*, int64_t, double*);
template void gather_offsets<bf16>(const bf16*, const int64_t*, int64_t, bf16*);
template void scatter_sum<bf16>(const bf16*, const int64_t*, const int64_t*, int64_t, bf16*);

}  // namespace frost::cpu
