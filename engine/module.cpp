// module.cpp: parameter registration and the depth-first walk that names them.
#include "engine/module.h"

#include <cmath>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace frost {

Tensor Module::register_parameter(const std::string& name, Tensor value, bool trainable) {
  for (const NamedTensor& p : parameters_)
    if (p.name == name) throw std::invalid_argument("register_parameter: '" + name + "' already exists");
  value.set_requires_grad(trainable);
  parameters_.push_back({name, value});
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  buffers_.push_back({name, value});
  return value;
}

void Module::collect(const std::string& prefix, bool with_buffers, std::vector<NamedTensor>& out) const {
  for (const NamedTensor& p : parameters_) out.push_back({prefix + p.name, p.tensor});
  if (with_buffers)
    for (const NamedTensor& b : buffers_) out.push_back({prefix + b.name, b.tensor});
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", with_buffers, out);
}

std::vector<NamedTensor> Module::named_parameters() const {
  std::vector<NamedTensor> out;
  collect("", false, out);
  return out;
}

std::vector<NamedTensor> Module::trainable_parameters() const {
  std::vector<NamedTensor> out;
  for (NamedTensor& p : named_parameters())
    if (p.tensor.requires_grad()) out.push_back(std::move(p));
  return out;
}

std::vector<NamedTensor> Module::state_dict() const {
  std::vector<NamedTensor> out;
  collect("", true, out);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::set_requires_grad(bool trainable) {
  for (NamedTensor& p : named_parameters()) p.tensor.set_requires_grad(trainable);
}

int64_t Module::parameter_count(bool trainable_only) const {
  int64_t n = 0;
  for (const NamedTensor& p : named_parameters())
    if (!trainable_only || p.tensor.requires_grad()) n += p.tensor.numel();
  return n;
}

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, uint64_t seed, DType dtype) {
  Generator gen(seed);
  const double bound = 1.0 / std::sqrt(double(in_features));
  auto uniform = [&](const Shape& shape) {
    NoGradGuard no_grad;
    return add(mul(rand(shape, gen, dtype), 2.0 * bound), -bound);
  };
  weight = register_parameter("weight", uniform({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", uniform({out_features}));
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

}  // namespace frost
