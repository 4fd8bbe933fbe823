// optim.cpp: SGD and AdamW over every trainable parameter, one kernel call per parameter on its
// device (kernels/cpu/optim.h: the element formulas, shared with CUDA), with the gradient mask
// folded in (a masked entry is skipped entirely). State lives on the parameter's device.
#include "engine/optim.h"

#include <cmath>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"

namespace frost {

namespace {

void check_parameter(const NamedTensor& p, const char* who) {
  if (!p.tensor.is_contiguous()) throw std::invalid_argument(std::string(who) + ": parameter '" + p.name + "' is not contiguous");
  check_float_operands(who, {&p.tensor});
}

template <typename T>
const T* mask_of(const Tensor& param) {
  const Tensor m = param.grad_mask();
  return m.defined() ? static_cast<const T*>(m.raw_data()) : nullptr;
}

// The gradient as a contiguous tensor on the parameter's device.
Tensor gradient_of(const Tensor& p) {
  const Tensor g = p.grad();
  if (!g.defined()) return g;
  if (g.device() != p.device())
    throw std::invalid_argument("optimizer: gradient " + g.describe() + " is not on its parameter's device (" + p.describe() +
                                ")");
  return g.contiguous();
}

}  // namespace

Optimizer::Optimizer(std::vector<NamedTensor> params) {
  for (NamedTensor& p : params)
    if (p.tensor.requires_grad()) params_.push_back(std::move(p));
  state_.resize(params_.size());
}

void Optimizer::zero_grad() {
  for (NamedTensor& p : params_) p.tensor.zero_grad();
}

size_t Optimizer::state_bytes() const {
  size_t n = 0;
  for (const auto& slots : state_)
    for (const Tensor& t : slots) n += t.defined() ? t.nbytes() : 0;
  return n;
}

Tensor Optimizer::state(const std::string& name, size_t slot) const {
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].name == name) return slot < state_[i].size() ? state_[i][slot] : Tensor();
  return Tensor();
}

std::vector<NamedTensor> Optimizer::state_tensors() const {
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < params_.size(); ++i)
    for (size_t s = 0; s < state_[i].size(); ++s) out.push_back({params_[i].name + "." + std::to_string(s), state_[i][s]});
  out.push_back({"steps", Tensor::scalar(double(steps_), DType::f64)});
  return out;
}

void Optimizer::load_state_tensors(const std::vector<NamedTensor>& tensors, const std::string& origin) {
  std::vector<std::pair<Tensor, Tensor>> copies;  // checked before any write
  const std::vector<NamedTensor> mine = state_tensors();
  if (tensors.size() != mine.size())
    throw std::invalid_argument(origin + ": " + std::to_string(tensors.size()) + " optimizer tensors, this optimizer has " +
                                std::to_string(mine.size()));
  int64_t steps = -1;
  for (const NamedTensor& want : mine) {
    const NamedTensor* got = nullptr;
    for (const NamedTensor& t : tensors)
      if (t.name == want.name) got = &t;
    if (!got) throw std::invalid_argument(origin + ": no optimizer tensor '" + want.name + "'");
    if (got->tensor.shape() != want.tensor.shape())
      throw std::invalid_argument(origin + ": optimizer tensor '" + want.name + "' has shape " + shape_str(got->tensor.shape()) +
                                  ", expected " + shape_str(want.tensor.shape()));
    if (want.name == "steps")
      steps = int64_t(got->tensor.item());
    else
      copies.emplace_back(want.tensor, got->tensor);
  }
  for (auto& [dst, src] : copies) copy_into(dst, src);
  steps_ = steps;
}

// ---------------------------------------------------------------------------------------

SGD::SGD(std::vector<NamedTensor> params, SGDOptions options) : Optimizer(std::move(params)), opt_(options) {
  lr_ = options.lr;
  if (opt_.nesterov && (opt_.momentum <= 0 || opt_.dampening != 0))
    throw std::invalid_argument("SGD: nesterov needs momentum > 0 and dampening 0");
  for (size_t i = 0; i < params_.size(); ++i) {
    check_parameter(params_[i], "SGD");
    const Tensor& t = params_[i].tensor;
    if (opt_.momentum > 0) state_[i].push_back(Tensor::zeros(t.shape(), t.dtype(), t.device()));
  }
}

void SGD::step() {
  NoGradGuard no_grad;
  profile::Phase phase("optimizer");
  profile::Scope scope("sgd");
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i].tensor;
    const Tensor gc = gradient_of(p);
    if (!gc.defined()) continue;
    const cpu::SGDUpdate u{lr_, opt_.momentum, opt_.dampening, opt_.weight_decay, opt_.nesterov, steps_ == 0};
    dispatch_f32_f64(p.dtype(), "SGD", [&](auto tag) {
      using T = decltype(tag);
      T* buf = opt_.momentum > 0 ? static_cast<T*>(state_[i][0].raw_data()) : nullptr;
      FROST_KERNEL(p, sgd_update<T>)
      (u, static_cast<T*>(p.raw_data()), static_cast<const T*>(gc.raw_data()), mask_of<T>(p), buf, p.numel());
    });
  }
  ++steps_;
}

// ---------------------------------------------------------------------------------------

bool default_weight_decay_rule(const NamedTensor& p) {
  if (p.tensor.dim() <= 1) return false;
  for (const char* token : {"pos_embed", "cls_token", "dist_token", "reg_token", "relative_position_bias_table"})
    if (p.name.find(token) != std::string::npos) return false;
  return true;
}

AdamW::AdamW(std::vector<NamedTensor> params, AdamWOptions options) : Optimizer(std::move(params)), opt_(std::move(options)) {
  lr_ = opt_.lr;
  if (!opt_.decays) opt_.decays = default_weight_decay_rule;
  for (size_t i = 0; i < params_.size(); ++i) {
    check_parameter(params_[i], "AdamW");
    const Tensor& t = params_[i].tensor;
    state_[i] = {Tensor::zeros(t.shape(), t.dtype(), t.device()), Tensor::zeros(t.shape(), t.dtype(), t.device())};  // m, v
    decay_.push_back(opt_.decays(params_[i]));
  }
}

void AdamW::step() {
  NoGradGuard no_grad;
  profile::Phase phase("optimizer");
  profile::Scope scope("adamw");
  ++steps_;
  const double bc1 = 1.0 - std::pow(opt_.beta1, double(steps_));
  const double bc2 = 1.0 - std::pow(opt_.beta2, double(steps_));
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i].tensor;
    const Tensor gc = gradient_of(p);
    if (!gc.defined()) continue;
    const cpu::AdamWUpdate u{lr_, opt_.beta1, opt_.beta2, opt_.eps, decay_[i] ? opt_.weight_decay : 0.0, bc1, bc2};
    dispatch_f32_f64(p.dtype(), "AdamW", [&](auto tag) {
      using T = decltype(tag);
      FROST_KERNEL(p, adamw_update<T>)
      (u, static_cast<T*>(p.raw_data()), static_cast<const T*>(gc.raw_data()), mask_of<T>(p),
       static_cast<T*>(state_[i][0].raw_data()), static_cast<T*>(state_[i][1].raw_data()), p.numel());
    });
  }
}

// ---------------------------------------------------------------------------------------

// One sum of squares over every gradient, accumulated in f64 on their device, and one read of it.
double clip_grad_norm(const std::vector<NamedTensor>& params, double max_norm) {
  std::vector<std::pair<const NamedTensor*, Tensor>> grads;
  for (const NamedTensor& p : params) {
    Tensor g = p.tensor.grad();
    if (!g.defined()) continue;
    if (!g.is_contiguous()) throw std::invalid_argument("clip_grad_norm: gradient of '" + p.name + "' is not contiguous");
    if (!grads.empty() && g.device() != grads.front().second.device())
      throw std::invalid_argument("clip_grad_norm: gradient of '" + p.name + "' is on " + g.device().str() + ", '" +
                                  grads.front().first->name + "' on " + grads.front().second.device().str());
    grads.emplace_back(&p, std::move(g));
  }
  if (grads.empty()) return 0.0;
  const Device device = grads.front().second.device();
  const Tensor acc = Tensor::zeros({1}, DType::f64, device);
  const Tensor scratch = Tensor::empty({cpu::kSquarePartials}, DType::f64, device);
  for (const auto& [p, g] : grads)
    dispatch_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      FROST_KERNEL(g, sum_squares<T>)
      (static_cast<const T*>(g.raw_data()), g.numel(), scratch.typed_data<double>(), acc.typed_data<double>());
    });
  const double norm = std::sqrt(acc.item());
  if (norm > max_norm && norm > 0) {
    const double scale = max_norm / (norm + 1e-6);
    for (const auto& [p, g] : grads)
      dispatch_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
        using T = decltype(tag);
        T* d = static_cast<T*>(g.raw_data());
        FROST_KERNEL(g, scale_shift<T>)(d, d, g.numel(), acc_t<T>(scale), acc_t<T>(0));
      });
  }
  return norm;
}

namespace {
double warmup_lr(double start, double base, int64_t step, int64_t warmup) {
  return start + (base - start) * double(step) / double(warmup);
}
}  // namespace

double CosineSchedule::lr(int64_t step) const {
  if (step < warmup_steps) return warmup_lr(warmup_start_lr, base_lr, step, warmup_steps);
  const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
  const double t = std::min(1.0, double(step - warmup_steps) / double(span));
  return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(M_PI * t));
}

double StepSchedule::lr(int64_t step) const {
  if (step < warmup_steps) return warmup_lr(warmup_start_lr, base_lr, step, warmup_steps);
  return base_lr * std::pow(gamma, double((step - warmup_steps) / std::max<int64_t>(1, step_size)));
}

}  // namespace frost
