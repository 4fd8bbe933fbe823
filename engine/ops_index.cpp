// ops_index.cpp: index_select and gather, through an IndexTable.
//   forward:  out[p] = x[offsets[p]], one source offset per output element
//   backward: dx[t] = sum of g over the positions p with offsets[p] = t (the offsets' CSR inverse,
//             so every sum runs in a fixed order, with no atomics; kernels/cpu/index.h)
// A table's values stay on the host, where the offsets are computed; each geometry's offsets and
// inverse are uploaded to a device once and kept with the table, so a constant index (a model's)
// costs no host work and no device read after its first call. A Tensor index becomes a table for
// one call.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <tuple>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"

namespace frost {

struct IndexTable::Plan {
  Tensor offsets;          // i64 (outer * J * inner)
  Tensor starts, sources;  // i64 (outer * D * inner + 1), i64 (outer * J * inner)
};

struct IndexTable::State {
  std::vector<int64_t> values;
  Shape shape;
  int64_t min = 0, max = -1;  // of values (max < min: none)
  std::mutex mutex;           // guards plans
  using Key = std::tuple<int, int, int64_t, int64_t, int64_t, int64_t, bool>;
  std::map<Key, std::shared_ptr<const Plan>> plans;
};

IndexTable::IndexTable(std::vector<int64_t> values, Shape shape) : state_(std::make_shared<State>()) {
  if (int64_t(values.size()) != shape_numel(shape))
    throw std::invalid_argument("IndexTable: " + std::to_string(values.size()) + " values for shape " + shape_str(shape));
  if (!values.empty()) {
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    state_->min = *lo;
    state_->max = *hi;
  }
  state_->values = std::move(values);
  state_->shape = std::move(shape);
}

const Shape& IndexTable::shape() const {
  static const Shape none;
  return state_ ? state_->shape : none;
}

int64_t IndexTable::numel() const { return state_ ? int64_t(state_->values.size()) : 0; }

void IndexTable::check_range(int64_t limit, const char* op) const {
  if (!state_ || state_->values.empty() || (state_->min >= 0 && state_->max < limit)) return;
  for (int64_t v : state_->values)
    if (v < 0 || v >= limit)
      throw std::invalid_argument(std::string(op) + ": index " + std::to_string(v) + " is out of range [0, " +
                                  std::to_string(limit) + ")");
}

std::shared_ptr<const IndexTable::Plan> IndexTable::plan(Device device, int64_t outer, int64_t D, int64_t J, int64_t inner,
                                                         bool per_position) const {
  const State::Key key{int(device.type), device.index, outer, D, J, inner, per_position};
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (auto it = state_->plans.find(key); it != state_->plans.end()) return it->second;
  const std::vector<int64_t>& idx = state_->values;
  std::vector<int64_t> offsets(size_t(outer * J * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < J; ++j)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t pos = (o * J + j) * inner + i;
        const int64_t k = per_position ? idx[size_t(pos)] : idx[size_t(j)];
        offsets[size_t(pos)] = (o * D + k) * inner + i;
      }
  std::vector<int64_t> starts, sources;
  cpu::invert_offsets(offsets, outer * D * inner, starts, sources);
  auto p = std::make_shared<Plan>();
  p->offsets = Tensor::from_indices(offsets, device);
  p->starts = Tensor::from_indices(starts, device);
  p->sources = Tensor::from_indices(sources, device);
  state_->plans.emplace(key, p);
  return p;
}

namespace {

// dx[t] = sum of g over the output positions that read source element t.
struct IndexBackward : Node {
  Shape in_shape;
  std::shared_ptr<const IndexTable::Plan> plan;
  IndexBackward(const char* name, Shape s, std::shared_ptr<const IndexTable::Plan> p)
      : Node(name), in_shape(std::move(s)), plan(std::move(p)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(in_shape, g.dtype(), g.device());
    dispatch_float(g.dtype(), name().c_str(), [&](auto tag) {
      using T = decltype(tag);
      FROST_KERNEL(dx, scatter_sum<T>)
      (static_cast<const T*>(gc.raw_data()), plan->starts.typed_data<int64_t>(), plan->sources.typed_data<int64_t>(), dx.numel(),
       static_cast<T*>(dx.raw_data()));
    });
    return {dx};
  }
};

Tensor index_common(const Tensor& x, int64_t dim, const IndexTable& index, bool per_position, const char* op) {
  profile::Scope scope(per_position ? "gather" : "index_select", {&x});
  check_float_operands(op, {&x});
  if (!index.defined()) throw std::invalid_argument(std::string(op) + ": the index is undefined");
  dim = normalize_dim(dim, x.dim(), op);
  const Shape& ishape = index.shape();
  Shape out_shape = x.shape();
  if (per_position) {
    if (int64_t(ishape.size()) != x.dim())
      throw std::invalid_argument(std::string(op) + ": index " + shape_str(ishape) + " must have the rank of " + x.describe());
    for (int64_t d = 0; d < x.dim(); ++d)
      if (d != dim && ishape[size_t(d)] != x.size(d))
        throw std::invalid_argument(std::string(op) + ": index " + shape_str(ishape) + " differs from " + x.describe() +
                                    " outside dim " + std::to_string(dim));
    out_shape = ishape;
  } else {
    if (ishape.size() != 1) throw std::invalid_argument(std::string(op) + ": index must be 1-d, got " + shape_str(ishape));
    out_shape[size_t(dim)] = index.numel();
  }
  index.check_range(x.size(dim), op);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
  for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  const auto plan = index.plan(x.device(), outer, x.size(dim), out_shape[size_t(dim)], inner, per_position);
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, gather_offsets<T>)
    (static_cast<const T*>(xc.raw_data()), plan->offsets.typed_data<int64_t>(), out.numel(), static_cast<T*>(out.raw_data()));
  });
  if (auto node = record<IndexBackward>({&x}, op, x.shape(), plan)) attach(out, node);
  return out;
}

// The values of an i64 index tensor, read to the host.
IndexTable table_of(const Tensor& index, const char* op) {
  if (!index.defined()) throw std::invalid_argument(std::string(op) + ": the index is undefined");
  if (index.dtype() != DType::i64) throw std::invalid_argument(std::string(op) + ": index must be i64, got " + index.describe());
  std::vector<int64_t> values(static_cast<size_t>(index.numel()));
  const Tensor ic = index.to(Device::cpu()).contiguous();
  if (!values.empty()) std::memcpy(values.data(), ic.raw_data(), values.size() * 8);
  return IndexTable(std::move(values), index.shape());
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const IndexTable& index) {
  return index_common(x, dim, index, false, "index_select");
}

Tensor gather(const Tensor& x, int64_t dim, const IndexTable& index) { return index_common(x, dim, index, true, "gather"); }

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  return index_common(x, dim, table_of(index, "index_select"), false, "index_select");
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  return index_common(x, dim, table_of(index, "gather"), true, "gather");
}

}  // namespace frost
