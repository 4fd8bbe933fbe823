// sparse.cpp: see sparse.h.
#include "peft/sparse.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/layers.h"
#include "peft/method.h"

namespace frost::peft {

Tensor top_k_rows(const Tensor& score, int64_t k) {
  const int64_t rows = score.size(0), cols = score.numel() / rows;
  const std::vector<double> s = score.to_doubles();
  std::vector<double> mask(s.size(), 0.0);
  std::vector<int64_t> order(static_cast<size_t>(cols), 0);
  for (int64_t r = 0; r < rows; ++r) {
    std::iota(order.begin(), order.end(), 0);
    const double* row = s.data() + r * cols;
    // Largest first; ties to the lower index so the choice is deterministic.
    std::partial_sort(order.begin(), order.begin() + std::min(k, cols), order.end(),
                      [row](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (int64_t i = 0; i < std::min(k, cols); ++i) mask[size_t(r * cols + order[size_t(i)])] = 1.0;
  }
  return Tensor::from_vector(mask, score.shape(), score.dtype());
}

std::vector<NamedTensor> sparse_tensors(const Module& model) {
  std::vector<NamedTensor> out;
  for (const NamedTensor& p : model.named_parameters())
    if (p.tensor.requires_grad() && p.tensor.grad_mask().defined()) out.push_back(p);
  return out;
}

void apply_sparse(MethodContext& ctx, Options& o) {
  auto state = std::make_shared<SparseState>();
  const int64_t k = state->k = o.integer("k", 1, 1);
  state->batches = o.integer("batches", 8, 1);
  o.finish();
  ctx.state = std::move(state);
  int64_t found = 0;
  for (const auto& [path, module] : ctx.model.named_modules()) {
    auto linear = std::dynamic_pointer_cast<Linear>(module);
    if (!linear || ctx.block_of(path) < 0) continue;
    Tensor w = linear->weight;
    NoGradGuard no_grad;
    w.set_requires_grad(true);
    w.set_grad_mask(top_k_rows(mul(w, w), k));
    ++found;
  }
  if (found == 0) ctx.refuse("it has no Linear layers inside its blocks");
}

void calibrate_sparse(Module& model, int64_t k, int64_t batches, const std::function<void(int64_t)>& accumulate) {
  std::vector<NamedTensor> masked = sparse_tensors(model);
  std::vector<Tensor> score;
  for (NamedTensor& t : masked) {
    t.tensor.set_grad_mask(Tensor::ones(t.tensor.shape(), t.tensor.dtype(), t.tensor.device()));
    score.push_back(Tensor::zeros(t.tensor.shape(), DType::f64, t.tensor.device()));
  }
  for (int64_t b = 0; b < batches; ++b) {
    for (const NamedTensor& p : model.trainable_parameters()) Tensor(p.tensor).zero_grad();
    accumulate(b);
    NoGradGuard no_grad;
    for (size_t i = 0; i < masked.size(); ++i) {
      const Tensor g = masked[i].tensor.grad();
      if (!g.defined()) continue;
      const Tensor g64 = g.to(DType::f64);
      add_(score[i], sqrt(mul(g64, g64)).contiguous().reshape(score[i].shape()));  // |g|
    }
  }
  for (size_t i = 0; i < masked.size(); ++i) masked[i].tensor.set_grad_mask(top_k_rows(score[i], k));
  for (const NamedTensor& p : model.trainable_parameters()) Tensor(p.tensor).zero_grad();
}

void calibrate_sparse_state(Module& model, const MethodState& state, const Accumulate& accumulate) {
  const auto& s = dynamic_cast<const SparseState&>(state);
  calibrate_sparse(model, s.k, s.batches, accumulate);
}

}  // namespace frost::peft
