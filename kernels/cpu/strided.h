// strided.h: walking N-d strided operands with a contiguous output. Dims that are contiguous
// with their neighbour in every operand are merged first, so a contiguous tensor is a single
// row; rows are then independent and run in parallel.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace frost::cpu {

using Dims = std::vector<int64_t>;

template <std::size_t N>
struct StridedLayout {
  Dims shape;                   // merged shape (at least rank 1)
  std::array<Dims, N> strides;  // per operand, in elements
  int64_t rows = 1;             // product of all dims but the last
  int64_t inner = 1;            // the last dim
};

template <std::size_t N>
StridedLayout<N> merge_dims(const Dims& shape, const std::array<Dims, N>& strides) {
  StridedLayout<N> out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // size-1 dims carry no information
    bool merge = !out.shape.empty();
    for (std::size_t o = 0; o < N && merge; ++o) merge = out.strides[o].back() == strides[o][d] * shape[d];
    if (merge) {
      out.shape.back() *= shape[d];
      for (std::size_t o = 0; o < N; ++o) out.strides[o].back() = strides[o][d];
    } else {
      out.shape.push_back(shape[d]);
      for (std::size_t o = 0; o < N; ++o) out.strides[o].push_back(strides[o][d]);
    }
  }
  if (out.shape.empty()) {
    out.shape.push_back(1);
    for (std::size_t o = 0; o < N; ++o) out.strides[o].push_back(1);
  }
  out.inner = out.shape.back();
  for (std::size_t d = 0; d + 1 < out.shape.size(); ++d) out.rows *= out.shape[d];
  return out;
}

// Element offsets of row `row` (row-major over all dims but the last) in each operand.
template <std::size_t N>
std::array<int64_t, N> row_offsets(const StridedLayout<N>& layout, int64_t row) {
  std::array<int64_t, N> off{};
  for (int64_t d = int64_t(layout.shape.size()) - 2; d >= 0; --d) {
    int64_t i = row % layout.shape[d];
    row /= layout.shape[d];
    for (std::size_t o = 0; o < N; ++o) off[o] += i * layout.strides[o][d];
  }
  return off;
}

// Calls row_fn(row, offsets, inner, inner_strides) for every row, in parallel when large.
template <std::size_t N, typename RowFn>
void for_each_row(const StridedLayout<N>& layout, RowFn&& row_fn) {
  std::array<int64_t, N> inner_strides;
  for (std::size_t o = 0; o < N; ++o) inner_strides[o] = layout.strides[o].back();
  const bool parallel = layout.rows > 1 && layout.rows * layout.inner > (1 << 15);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < layout.rows; ++r) row_fn(r, row_offsets(layout, r), layout.inner, inner_strides);
}

}  // namespace frost::cpu
