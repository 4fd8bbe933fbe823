// module.h: the Module tree. A module owns named parameters and child modules; the dotted path
// of a parameter is its state_dict key (timm's names, so checkpoints load by name), and PEFT
// methods find their places by these names. Parameters are plain Tensors with requires_grad:
// freezing is a flag, and what is frozen gets no gradient buffer and no optimizer state.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace frost {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

class Module {
 public:
  virtual ~Module() = default;

  // Adds a parameter (made trainable unless `trainable` is false) and returns its handle.
  Tensor register_parameter(const std::string& name, Tensor value, bool trainable = true);
  // Adds a non-trainable tensor that is still part of the state dict (e.g. a running stat).
  Tensor register_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

  // Dotted names in registration order, depth first: "blocks.0.attn.qkv.weight".
  std::vector<NamedTensor> named_parameters() const;
  std::vector<NamedTensor> trainable_parameters() const;
  std::vector<NamedTensor> state_dict() const;  // parameters and buffers
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }

  void train(bool on = true);
  bool is_training() const { return training_; }
  void set_requires_grad(bool trainable);  // on every parameter below this module
  int64_t parameter_count(bool trainable_only = false) const;

 private:
  void collect(const std::string& prefix, bool with_buffers, std::vector<NamedTensor>& out) const;
  std::vector<NamedTensor> parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// y = x W^T + b, W (out, in); init uniform(-1/sqrt(in), 1/sqrt(in)) (nn.Linear's bound) from a
// seeded generator; models overwrite it from checkpoints.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, uint64_t seed,
         DType dtype = DType::f32);
  Tensor forward(const Tensor& x) const;
  Tensor weight, bias;
};

}  // namespace frost
