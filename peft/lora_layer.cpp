// lora_layer.cpp: the LoRA wrapper layers (peft/tuners/lora/layer.py): y = base(x) + scaling *
// B(A(dropout(x))) around a Linear or a Conv2d, its fused fast path, delta_weight and the fold
// W += scaling B A (DoRA's row scale too, dora.cpp).
#include "engine/autograd.h"
#include "peft/lora.h"

namespace frost::peft {

namespace {

Tensor maybe_dropout(const Tensor& x, double p, bool training, const std::shared_ptr<Generator>& rng) {
  return training && p > 0 ? frost::dropout(x, p, true, *rng) : x;
}

void zero_(Tensor& t) {
  NoGradGuard no_grad;
  copy_into(t, Tensor::zeros(t.shape(), t.dtype()));
}

}  // namespace

void LoraLayer::init(std::shared_ptr<Layer> base_layer, std::shared_ptr<Layer> a, std::shared_ptr<Layer> b, double s, double p,
                     std::shared_ptr<Generator> g) {
  scaling = s;
  dropout = p;
  rng = std::move(g);
  adopt(std::move(base_layer));  // weight, bias: the base's own tensors, frozen
  base_weight = weight_of(*base);
  lora_A = register_module("lora_A", std::move(a));
  lora_B = register_module("lora_B", std::move(b));
  for (NamedTensor& t : lora_B->named_parameters()) zero_(t.tensor);
}

Tensor LoraLayer::forward(const Tensor& x) const {
  // The common case, a plain Linear base with no dropout, DoRA or LoRA bias: one fused op.
  const auto* plain = dynamic_cast<const Linear*>(base.get());
  const auto* down = dynamic_cast<const Linear*>(lora_A.get());
  const auto* up = dynamic_cast<const Linear*>(lora_B.get());
  if (plain && down && up && plain->kind() == "Linear" && !magnitude.defined() && !up->bias.defined() &&
      (dropout == 0.0 || !is_training()))
    return linear_low_rank(x, plain->weight, plain->bias, down->weight, up->weight, scaling);
  const Tensor dropped = maybe_dropout(x, dropout, is_training(), rng);
  if (magnitude.defined()) return dora_forward(*this, dropped, base->forward(x));
  const Tensor update = lora_B->forward(lora_A->forward(dropped));
  return add(base->forward(x), mul(update, scaling));
}

Tensor LoraLayer::delta_weight() const {
  const Tensor a = lora_A->named_parameters()[0].tensor, b = lora_B->named_parameters()[0].tensor;
  return mul(matmul(b.reshape({b.size(0), b.size(1)}), a.reshape({a.size(0), -1})), scaling).reshape(base_weight.shape());
}

void LoraLayer::fold(Layer& plain) const {
  Tensor w = weight_of(plain);
  Tensor merged = add(w, delta_weight().to(w.dtype()));
  if (magnitude.defined()) {
    Shape per_row(size_t(w.dim()), 1);
    per_row[0] = w.size(0);
    merged = mul(merged, dora_row_scale(*this).reshape(per_row));
  }
  assign_(w, merged);
  const auto& b_params = lora_B->own_parameters();
  for (const NamedTensor& p : b_params)
    if (p.name == "bias") {
      Tensor bias = bias_of(plain);
      if (!bias.defined()) throw std::invalid_argument("LoRA bias cannot merge into a layer without bias");
      assign_(bias, add(bias, mul(p.tensor, scaling)));
    }
}

LoraLinear::LoraLinear(std::shared_ptr<Linear> b, int64_t r, double s, double p, bool lora_bias, std::shared_ptr<Generator> g,
                       uint64_t seed) {
  auto a = std::make_shared<Linear>(b->in_features(), r, false, seed);  // nn.Linear's init = kaiming-uniform(a=sqrt 5)
  auto up = std::make_shared<Linear>(r, b->out_features(), lora_bias, seed + 1);
  init(std::move(b), std::move(a), std::move(up), s, p, std::move(g));
}

LoraConv2d::LoraConv2d(std::shared_ptr<Conv2d> b, int64_t r, double s, double p, bool lora_bias, std::shared_ptr<Generator> g,
                       uint64_t seed) {
  Conv2dOptions a_options = b->options;
  a_options.groups = 1;
  auto a = std::make_shared<Conv2d>(b->weight.size(1), r, b->weight.size(2), a_options, false, seed);
  auto up = std::make_shared<Conv2d>(r, b->weight.size(0), 1, Conv2dOptions{}, lora_bias, seed + 1);
  init(std::move(b), std::move(a), std::move(up), s, p, std::move(g));
}

}  // namespace frost::peft
