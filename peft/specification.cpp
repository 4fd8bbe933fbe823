// specification.cpp: specification tuning, which trains a chosen subset of the model's own
// tensors (the classifier head always trains, see spec.cpp):
//   full       every parameter
//   linear     the head only (linear probing)
//   partial:k  the last k blocks in forward order and everything after them (Swin/ConvNeXt:
//              a downsample inside that range, the final norm); k=0 is the final norm
//   bitfit     every bias (Linear, Conv2d, LayerNorm): VPB's rule restricted to true biases
//   ln         the affine weight and bias of every LayerNorm (LayerNorm2d included)
// Nothing here adds a module, so these merge by saving the model.
#include <stdexcept>

#include "engine/layers.h"
#include "peft/method.h"

namespace frost::peft {

void apply_full(MethodContext& ctx, Options& o) {
  o.finish();
  ctx.model.set_requires_grad(true);
}

void apply_linear(MethodContext&, Options& o) { o.finish(); }

void apply_partial(MethodContext& ctx, Options& o) {
  const int64_t k = o.integer("k", 1, 0);
  o.finish();
  const int64_t n = int64_t(ctx.blocks.size());
  if (k > n)
    throw std::invalid_argument(o.where() + "k=" + std::to_string(k) + " but " + ctx.model.architecture + " has " +
                                std::to_string(n) + " blocks");
  // Parameters are registered in forward order: train from the first one of block n-k on
  // (k = 0: from the first one after the last block).
  const std::vector<NamedTensor> params = ctx.model.named_parameters();
  size_t from = params.size();
  for (size_t i = 0; i < params.size(); ++i) {
    if (k > 0 && params[i].name.rfind(ctx.blocks[size_t(n - k)].first + ".", 0) == 0) {
      from = i;
      break;
    }
    if (k == 0 && params[i].name.rfind(ctx.blocks.back().first + ".", 0) == 0) from = i + 1;
  }
  for (size_t i = from; i < params.size(); ++i) Tensor(params[i].tensor).set_requires_grad(true);
}

void apply_bitfit(MethodContext& ctx, Options& o) {
  o.finish();
  for (const NamedTensor& p : ctx.model.named_parameters())
    if (p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0) Tensor(p.tensor).set_requires_grad(true);
}

void apply_ln(MethodContext& ctx, Options& o) {
  o.finish();
  for (const auto& [path, module] : ctx.model.named_modules())
    if (auto norm = std::dynamic_pointer_cast<LayerNorm>(module)) {
      norm->weight.set_requires_grad(true);
      norm->bias.set_requires_grad(true);
    }
}

}  // namespace frost::peft
