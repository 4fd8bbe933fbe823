// bottleneck.cpp: see bottleneck.h.
#include "peft/bottleneck.h"

#include <cmath>

#include "engine/autograd.h"
#include "peft/wrapper.h"

namespace frost::peft {

Activation parse_activation(Options& o, const std::string& fallback) {
  const std::string a = o.choice("act", fallback, {"gelu", "quick_gelu", "relu"});
  return a == "gelu" ? Activation::gelu : a == "relu" ? Activation::relu : Activation::quick_gelu;
}

Tensor activate(const Tensor& x, Activation a) {
  switch (a) {
    case Activation::gelu:
      return gelu(x);
    case Activation::relu:
      return relu(x);
    default:
      return quick_gelu(x);
  }
}

Bottleneck::Bottleneck(int64_t dim, int64_t hidden, Activation a, double p, double s, const std::string& down_init,
                       std::shared_ptr<Generator> g, uint64_t seed)
    : act(a), dropout(p), scale(s), rng(std::move(g)) {
  down = std::make_shared<Linear>(dim, hidden, true, seed);  // kaiming-uniform(a=sqrt 5)
  up = std::make_shared<Linear>(hidden, dim, true, seed + 1);
  DType dtype = down->weight.dtype();
  Generator gen(seed + 2);
  if (down_init == "xavier") init_uniform_(down->weight, std::sqrt(6.0 / double(dim + hidden)), gen);
  assign_(down->bias, Tensor::zeros({hidden}, dtype));
  assign_(up->weight, Tensor::zeros({dim, hidden}, dtype));
  assign_(up->bias, Tensor::zeros({dim}, dtype));
}

void Bottleneck::register_in(Module& owner) const {
  owner.register_module("down", down);
  owner.register_module("up", up);
}

Tensor Bottleneck::forward(const Tensor& x, bool training) const {
  Tensor h = activate(down->forward(x), act);
  if (training && dropout > 0) h = frost::dropout(h, dropout, true, *rng);
  return mul(up->forward(h), scale);
}

BottleneckHook::BottleneckHook(Bottleneck b, bool channels_first, bool parallel, std::string kind)
    : bottleneck(std::move(b)), channels_first_(channels_first), parallel_(parallel), kind_(std::move(kind)) {
  bottleneck.register_in(*this);
}

Tensor BottleneckHook::forward(const Tensor& x, const models::BranchFn& branch) const {
  const Tensor y = branch(x);
  const Tensor& in = parallel_ ? x : y;
  return add(y, on_channels(in, channels_first_, [&](const Tensor& t) { return bottleneck.forward(t, is_training()); }));
}

}  // namespace frost::peft
