// sparse.h: GPS-style sparse tuning (Zhang et al., "Gradient-based Parameter Selection"): every
// Linear weight inside the blocks trains only k entries per output neuron, chosen where the
// gradient magnitude accumulated over a few batches is largest; the rest stay bit-identical
// through the engine's gradient masks (the optimizer never touches a masked entry). Until
// calibrate_sparse runs, the mask takes the k largest |W| per row, so a model is usable (and
// countable) without data. An adapter stores each masked tensor as its trained entries
// ("<key>.sparse_index" i64 flat indices, "<key>.sparse_values").
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/module.h"
#include "peft/method.h"

namespace frost::peft {

// The Linear weights `sparse` masks in `model` (those with a gradient mask).
std::vector<NamedTensor> sparse_tensors(const Module& model);

// Runs `accumulate` `batches` times (each a forward and backward of one batch), sums |grad| of
// every masked weight (its mask lifted meanwhile) and re-picks the top `k` entries per row. Other
// gradients are dropped afterwards.
void calibrate_sparse(Module& model, int64_t k, int64_t batches, const std::function<void(int64_t batch)>& accumulate);

// What `sparse` keeps for its calibration hook, and the hook (calibrate_sparse with them).
struct SparseState : MethodState {
  int64_t k = 1, batches = 8;
};
void calibrate_sparse_state(Module& model, const MethodState& state, const Accumulate& accumulate);

// The k largest entries per row of `score` (rows = dim 0) as a 0/1 mask of score's shape.
Tensor top_k_rows(const Tensor& score, int64_t k);

}  // namespace frost::peft
