// wrapper.h: the base of every reparameterisation that wraps one Linear, Conv2d or LayerNorm
// (LoRA, DoRA, SSF, FacT, KronA, GLoRA, RepAdapter). A Wrapper adopts its base layer's
// parameters and children under their own names, so the model's state_dict keys stay timm's
// ("blocks.0.attn.qkv.weight") and the method's tensors sit beside them
// ("blocks.0.attn.qkv.ssf_scale"). Wrappers nest (SSF around LoRA around a Linear). Merging folds
// the innermost wrapper into the plain layer first, then the next, and puts the plain layer back.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/layers.h"
#include "models/model.h"

namespace frost::peft {

class Wrapper : public Layer {
 public:
  std::shared_ptr<Layer> base;
  // Folds this wrapper's change into `plain` (the base with its own wrappers already merged),
  // in place. Only mergeable wrappers override it.
  virtual void fold(Layer& plain) const;
  // The base is not a child (its tensors are adopted), so the mode is passed down here.
  void train(bool on = true) override;

 protected:
  void adopt(std::shared_ptr<Layer> base_layer);
};

// The plain layer under any chain of wrappers.
std::shared_ptr<Layer> innermost(const std::shared_ptr<Layer>& layer);
Tensor weight_of(Layer& plain);  // Linear/Conv2d/LayerNorm weight; throws for others
Tensor bias_of(Layer& plain);    // undefined when the layer has none

// named_modules() without what lies inside a Wrapper (the factors a method added): the model's
// own layers, plain or wrapped, where the next method may look for targets.
std::vector<std::pair<std::string, std::shared_ptr<Module>>> outer_modules(const Module& model);

// Replaces every Wrapper in `model` by its base with all changes folded in.
void merge_wrappers(models::Model& model);

// Wraps the layer at `path` in `make(current)`; throws naming the path when it is not a Layer.
template <typename F>
std::shared_ptr<Layer> wrap_layer(models::Model& model, const std::string& path, F make) {
  auto current = std::dynamic_pointer_cast<Layer>(model.find(path));
  if (!current) throw std::invalid_argument("no layer named '" + path + "' in " + model.architecture);
  std::shared_ptr<Layer> wrapped = make(current);
  model.replace(path, wrapped);
  return wrapped;
}

// In place, outside autograd.
void assign_(const Tensor& dst, const Tensor& value);
// The n x n identity (for reading a linear map's matrix off its action: f(I) = M^T).
Tensor eye(int64_t n, DType dtype);

}  // namespace frost::peft
