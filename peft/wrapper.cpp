// wrapper.cpp: see wrapper.h.
#include "peft/wrapper.h"

#include <stdexcept>

#include "engine/autograd.h"

namespace frost::peft {

void Wrapper::fold(Layer&) const { throw std::logic_error(kind() + " cannot be merged into its base layer"); }

void Wrapper::train(bool on) {
  Module::train(on);
  base->train(on);
}

void Wrapper::adopt(std::shared_ptr<Layer> base_layer) {
  base = std::move(base_layer);
  Module::train(base->is_training());
  for (const NamedTensor& p : base->own_parameters()) register_parameter(p.name, p.tensor, p.tensor.requires_grad());
  for (const NamedTensor& b : base->own_buffers()) register_buffer(b.name, b.tensor);
  for (const auto& [name, child] : base->children()) register_module(name, child);
}

std::shared_ptr<Layer> innermost(const std::shared_ptr<Layer>& layer) {
  auto w = std::dynamic_pointer_cast<Wrapper>(layer);
  return w ? innermost(w->base) : layer;
}

Tensor weight_of(Layer& plain) {
  if (auto* l = dynamic_cast<Linear*>(&plain)) return l->weight;
  if (auto* c = dynamic_cast<Conv2d*>(&plain)) return c->weight;
  if (auto* n = dynamic_cast<LayerNorm*>(&plain)) return n->weight;
  throw std::invalid_argument("a " + plain.kind() + " has no weight to merge into");
}

Tensor bias_of(Layer& plain) {
  if (auto* l = dynamic_cast<Linear*>(&plain)) return l->bias;
  if (auto* c = dynamic_cast<Conv2d*>(&plain)) return c->bias;
  if (auto* n = dynamic_cast<LayerNorm*>(&plain)) return n->bias;
  return Tensor();
}

void assign_(const Tensor& dst, const Tensor& value) {
  NoGradGuard no_grad;
  copy_into(dst.detach(), value.detach());
}

Tensor eye(int64_t n, DType dtype) {
  std::vector<double> v(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) v[size_t(i * n + i)] = 1.0;
  return Tensor::from_vector(v, {n, n}, dtype);
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> outer_modules(const Module& model) {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::vector<std::string> wrappers;
  for (auto& [path, module] : model.named_modules()) {
    bool inside = false;
    for (const std::string& w : wrappers) inside |= path.rfind(w + ".", 0) == 0;
    if (inside) continue;
    if (std::dynamic_pointer_cast<Wrapper>(module)) wrappers.push_back(path);
    out.emplace_back(path, module);
  }
  return out;
}

namespace {
std::shared_ptr<Layer> merged(const std::shared_ptr<Layer>& layer) {
  auto w = std::dynamic_pointer_cast<Wrapper>(layer);
  if (!w) return layer;
  std::shared_ptr<Layer> plain = merged(w->base);
  w->fold(*plain);
  return plain;
}
}  // namespace

void merge_wrappers(models::Model& model) {
  NoGradGuard no_grad;
  // Outermost wrappers only: a wrapper's own base chain is merged through it.
  std::vector<std::string> paths;
  for (const auto& [path, module] : outer_modules(model))
    if (std::dynamic_pointer_cast<Wrapper>(module)) paths.push_back(path);
  for (const std::string& path : paths) {
    auto w = std::dynamic_pointer_cast<Layer>(model.find(path));
    model.replace(path, merged(w));
  }
}

}  // namespace frost::peft
