// module.cpp: parameter registration, the depth-first walk that names them, and slot replacement.
#include "engine/module.h"

#include <stdexcept>

namespace frost {

namespace {
thread_local DType parameter_dtype = DType::f32;

Tensor in_parameter_dtype(Tensor value) {
  if (parameter_dtype == DType::f32 || value.dtype() != DType::f32) return value;
  return value.detach().to(parameter_dtype);
}
}  // namespace

ParameterDTypeGuard::ParameterDTypeGuard(DType dtype) : previous_(parameter_dtype) { parameter_dtype = dtype; }
ParameterDTypeGuard::~ParameterDTypeGuard() { parameter_dtype = previous_; }

Tensor Module::register_parameter(const std::string& name, Tensor value, bool trainable) {
  for (const NamedTensor& p : parameters_)
    if (p.name == name) throw std::invalid_argument("register_parameter: '" + name + "' already exists");
  value = in_parameter_dtype(std::move(value));
  value.set_requires_grad(trainable);
  parameters_.push_back({name, value});
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  value = in_parameter_dtype(std::move(value));
  buffers_.push_back({name, value});
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module, Setter setter) {
  if (!module) throw std::invalid_argument("register_module: '" + name + "' is null");
  for (const auto& child : children_)
    if (child.first == name) throw std::invalid_argument("register_module: '" + name + "' already exists");
  children_.emplace_back(name, std::move(module));
  setters_.push_back(std::move(setter));
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

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child);
    for (auto& [sub, module] : child->named_modules()) out.emplace_back(name + "." + sub, module);
  }
  return out;
}

std::shared_ptr<Module> Module::find(const std::string& path) const {
  // Child names may themselves contain dots ("blocks.0"): try every child that prefixes the path.
  for (const auto& [name, child] : children_) {
    if (path == name) return child;
    if (path.size() > name.size() && path.compare(0, name.size(), name) == 0 && path[name.size()] == '.')
      if (auto found = child->find(path.substr(name.size() + 1))) return found;
  }
  return nullptr;
}

void Module::replace(const std::string& path, std::shared_ptr<Module> module) {
  if (!module) throw std::invalid_argument("replace: the new module for '" + path + "' is null");
  replace_at(path, path, std::move(module));
}

void Module::replace_at(const std::string& path, const std::string& full, std::shared_ptr<Module> module) {
  for (size_t i = 0; i < children_.size(); ++i) {
    const std::string& name = children_[i].first;
    if (path == name) {
      if (!setters_[i]) throw std::invalid_argument("module '" + full + "' is not replaceable");
      if (!setters_[i](module))
        throw std::invalid_argument("module '" + full + "' (a " + children_[i].second->kind() + ") cannot be replaced by a " +
                                    module->kind());
      children_[i].second = std::move(module);
      return;
    }
    if (path.size() > name.size() && path.compare(0, name.size(), name) == 0 && path[name.size()] == '.' &&
        children_[i].second->find(path.substr(name.size() + 1))) {
      children_[i].second->replace_at(path.substr(name.size() + 1), full, std::move(module));
      return;
    }
  }
  throw std::invalid_argument("replace: no module named '" + full + "'");
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
  for (const NamedTensor& p : named_parameters()) {
    if (!trainable_only)
      n += p.tensor.numel();
    else if (p.tensor.requires_grad() && !p.tensor.grad_mask().defined())
      n += p.tensor.numel();
    else if (p.tensor.requires_grad())
      for (double v : p.tensor.grad_mask().to_doubles()) n += v != 0.0;
  }
  return n;
}

void Module::to(Device device) {
  for (NamedTensor& t : state_dict()) t.tensor.move_storage_to(device);
  move_constants_to(device);
  for (auto& [path, m] : named_modules()) m->move_constants_to(device);
}

int64_t Module::convert_frozen_parameters(DType dtype) {
  int64_t freed = 0;
  for (NamedTensor& p : named_parameters()) {
    Tensor& t = p.tensor;
    if (t.requires_grad() || !dtype_is_float(t.dtype()) || t.dtype() == dtype) continue;
    const int64_t before = int64_t(t.nbytes());
    t.convert_storage_to(dtype);
    freed += before - int64_t(t.nbytes());
  }
  return freed;
}

Device Module::device() const {
  const std::vector<NamedTensor> params = named_parameters();
  return params.empty() ? Device::cpu() : params.front().tensor.device();
}

}  // namespace frost
