// optim.h: optimizers, gradient clipping and learning-rate schedules.
// An optimizer keeps only the parameters that require grad, and state (momentum, moments) only
// for those: a frozen backbone costs nothing here. Entries whose gradient mask is 0 are never
// written: no gradient step, no weight decay, no moment update.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/module.h"

namespace frost {

class Optimizer {
 public:
  explicit Optimizer(std::vector<NamedTensor> params);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();  // drops gradient buffers
  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  const std::vector<NamedTensor>& params() const { return params_; }
  size_t state_bytes() const;  // bytes of optimizer state held
  // State tensor `slot` of parameter `name` (for tests and checkpoints); undefined if none.
  Tensor state(const std::string& name, size_t slot) const;
  int64_t steps() const { return steps_; }
  // For checkpoints: every state tensor as "<param>.<slot>" and the step count as "steps" (0-d f64).
  std::vector<NamedTensor> state_tensors() const;
  // Restores them; throws naming `origin` and the tensor when a name, shape or count differs.
  void load_state_tensors(const std::vector<NamedTensor>& tensors, const std::string& origin);

 protected:
  std::vector<NamedTensor> params_;
  std::vector<std::vector<Tensor>> state_;  // per param
  double lr_ = 0.0;
  int64_t steps_ = 0;
};

struct SGDOptions {
  double lr = 0.01, momentum = 0.0, weight_decay = 0.0, dampening = 0.0;
  bool nesterov = false;
};
// PyTorch's SGD: g += wd p; buf = momentum buf + (1 - dampening) g (buf = g on the first step);
// step direction = nesterov ? g + momentum buf : buf; p -= lr direction.
class SGD : public Optimizer {
 public:
  SGD(std::vector<NamedTensor> params, SGDOptions options);
  void step() override;

 private:
  SGDOptions opt_;
};

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
  // Which parameters get weight decay; default: no decay on tensors of rank <= 1 and on
  // position embeddings, class/distillation/register tokens and relative-position tables.
  std::function<bool(const NamedTensor&)> decays;
};
bool default_weight_decay_rule(const NamedTensor& p);
// Decoupled weight decay (Loshchilov & Hutter): p -= lr wd p; then the bias-corrected Adam step.
class AdamW : public Optimizer {
 public:
  AdamW(std::vector<NamedTensor> params, AdamWOptions options);
  void step() override;
  bool decays(size_t param_index) const { return decay_[param_index]; }

 private:
  AdamWOptions opt_;
  std::vector<bool> decay_;
};

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(const std::vector<NamedTensor>& params, double max_norm);

// Cosine decay to min_lr after a linear warmup from warmup_start_lr (timm's CosineLRScheduler
// with per-step updates).
struct CosineSchedule {
  double base_lr, min_lr = 0.0, warmup_start_lr = 0.0;
  int64_t warmup_steps = 0, total_steps = 1;
  double lr(int64_t step) const;
};
// lr = base_lr gamma^(floor(step / step_size)), after the same linear warmup.
struct StepSchedule {
  double base_lr, gamma = 0.1, warmup_start_lr = 0.0;
  int64_t step_size = 1, warmup_steps = 0;
  double lr(int64_t step) const;
};

}  // namespace frost
