// module.h: the Module tree. A module owns named parameters and child modules; the dotted path
// of a parameter is its state_dict key (timm's names, so checkpoints load by name), and PEFT
// methods find their places by these names. Parameters are plain Tensors with requires_grad:
// freezing is a flag, and what is frozen gets no gradient buffer and no optimizer state.
//
// A child registered through a slot (`register_module(name, member)`) can later be swapped for
// another module of a compatible type with `replace(path, module)`: the parent's member then
// points at the new module, so its forward calls it. This is how PEFT methods wrap a Linear or a
// whole attention branch without the model knowing about them.
#pragma once
#include <functional>
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
  Module() = default;
  Module(const Module&) = delete;  // slots point into modules: they never move
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  // A short type name for messages ("Linear", "Attention", ...).
  virtual std::string kind() const { return "Module"; }

  // Adds a parameter (made trainable unless `trainable` is false) and returns its handle.
  Tensor register_parameter(const std::string& name, Tensor value, bool trainable = true);
  // Adds a non-trainable tensor that is still part of the state dict (e.g. a running stat).
  Tensor register_buffer(const std::string& name, Tensor value);
  // Adds a child that cannot be replaced.
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module, nullptr);
    return module;
  }
  // Adds `slot` (a member of this module) as the child `name`; replace() can later point it
  // at any module that is an M. The slot must keep its address for the module's lifetime: a
  // member, or an element of a container that is never resized after registration.
  template <typename M>
  void register_slot(const std::string& name, std::shared_ptr<M>& slot) {
    add_child(name, slot, [&slot](const std::shared_ptr<Module>& m) {
      auto typed = std::dynamic_pointer_cast<M>(m);
      if (typed) slot = typed;
      return bool(typed);
    });
  }

  // Dotted names in registration order, depth first: "blocks.0.attn.qkv.weight".
  std::vector<NamedTensor> named_parameters() const;
  std::vector<NamedTensor> trainable_parameters() const;
  std::vector<NamedTensor> state_dict() const;  // parameters and buffers
  // Every module below this one (not this one), depth first, with its dotted path.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;
  // The module at a dotted path, or null.
  std::shared_ptr<Module> find(const std::string& path) const;
  // Swaps the module at `path` (which must have been registered through a slot) for `module`;
  // throws naming the path when there is none, it is fixed, or the type does not fit.
  void replace(const std::string& path, std::shared_ptr<Module> module);
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
  // This module's own parameters and buffers (not its children's), in registration order.
  const std::vector<NamedTensor>& own_parameters() const { return parameters_; }
  const std::vector<NamedTensor>& own_buffers() const { return buffers_; }

  // Moves every parameter and buffer below this module to `device`, in place (handles held by
  // wrappers follow), and each module's constants (move_constants_to). Apply PEFT methods first:
  // tensors created afterwards start on the CPU.
  void to(Device device);
  Device device() const;  // of the first parameter (the CPU when there is none)
  // Mixed precision: stores every frozen float parameter below this module as `dtype` (bf16), in
  // place and once (no f32 copy is kept; handles held by wrappers follow). Trainable parameters
  // stay f32 master weights, cast per use by the ops. Returns the bytes this frees.
  int64_t convert_frozen_parameters(DType dtype);

  virtual void train(bool on = true);  // this module and its children
  bool is_training() const { return training_; }
  void set_requires_grad(bool trainable);  // on every parameter below this module
  // Elements of all parameters, or of the trainable ones (a gradient mask counts its 1 entries).
  int64_t parameter_count(bool trainable_only = false) const;

 protected:
  // Tensors a module keeps outside its parameters and buffers (Swin's shift mask): a module that
  // has any moves them here.
  virtual void move_constants_to(Device) {}

 private:
  using Setter = std::function<bool(const std::shared_ptr<Module>&)>;  // false: wrong type
  void replace_at(const std::string& path, const std::string& full, std::shared_ptr<Module> module);
  void add_child(const std::string& name, std::shared_ptr<Module> module, Setter setter);
  void collect(const std::string& prefix, bool with_buffers, std::vector<NamedTensor>& out) const;
  std::vector<NamedTensor> parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<Setter> setters_;  // one per child; empty for fixed children
  bool training_ = true;
};

// While one is alive on this thread, register_parameter and register_buffer store f32 tensors
// as `dtype` (and return that handle): a whole model built in f64 for finite-difference checks.
class ParameterDTypeGuard {
 public:
  explicit ParameterDTypeGuard(DType dtype);
  ~ParameterDTypeGuard();
  ParameterDTypeGuard(const ParameterDTypeGuard&) = delete;
  ParameterDTypeGuard& operator=(const ParameterDTypeGuard&) = delete;

 private:
  DType previous_;
};

// A module with one input and one output: what a model calls for its Linear, Conv2d and
// LayerNorm layers, and what a PEFT wrapper of one of them must also be.
class Layer : public Module {
 public:
  virtual Tensor forward(const Tensor& x) const = 0;
};

}  // namespace frost
