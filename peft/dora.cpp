// dora.cpp: DoRA (Liu et al. 2024) as HF peft builds it (peft/tuners/lora/dora.py): a LoRA layer
// plus a magnitude vector m (out), initialised to the row norms of the base weight W, so
//   W' = m / ||W + s B A||_row * (W + s B A)     (norm over every dim but the output one)
// and with B = 0 at init W' = W. The norm is detached from the graph (DoRA section 4.3), so
//   y = base(x) + (m/n - 1) * (W x) + (m/n) * s * B A x
// where x is the (dropped-out) LoRA input and W x excludes the bias. Merge folds m/n into the rows
// (LoraLayer::fold). The `dora` method is LoRA with use_dora; its adapter folder is peft's, with
// "<module>.lora_magnitude_vector" beside lora_A and lora_B.
#include <cmath>

#include "engine/autograd.h"
#include "peft/lora.h"

namespace frost::peft {

namespace {

Tensor row_norm(const Tensor& w) {  // sqrt(sum over dims 1.. of w^2): (out)
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < w.dim(); ++d) dims.push_back(d);
  return sqrt(sum(mul(w, w), dims));
}

}  // namespace

void LoraLayer::enable_dora() {
  Tensor m;
  {
    NoGradGuard no_grad;
    m = row_norm(base_weight.detach()).contiguous();
  }
  magnitude = register_parameter("lora_magnitude_vector", m);
}

Tensor dora_row_scale(const LoraLayer& layer) {
  Tensor norm;
  {
    NoGradGuard no_grad;
    norm = row_norm(add(layer.base_weight.detach(), layer.delta_weight().detach().to(layer.base_weight.dtype())));
  }
  return div(layer.magnitude, norm);
}

Tensor dora_forward(const LoraLayer& layer, const Tensor& x, const Tensor& base_out) {
  Tensor scale = dora_row_scale(layer);  // (out): broadcasts over a Linear's (..., out)
  Tensor wx;                             // W x without the bias
  const std::shared_ptr<Layer> plain = innermost(layer.base);
  if (auto* lin = dynamic_cast<const Linear*>(plain.get())) {
    wx = linear(x, lin->weight);
  } else if (auto* conv = dynamic_cast<const Conv2d*>(plain.get())) {
    wx = conv2d(x, conv->weight, Tensor(), conv->options);
    scale = scale.reshape({scale.size(0), 1, 1});  // over (B, out, H, W)
  } else {
    throw std::logic_error("DoRA wraps a Linear or Conv2d, not a " + plain->kind());
  }
  const Tensor update = mul(layer.lora_B->forward(layer.lora_A->forward(x)), layer.scaling);
  return add(add(base_out, mul(add(scale, -1.0), wx)), mul(scale, update));
}

}  // namespace frost::peft
