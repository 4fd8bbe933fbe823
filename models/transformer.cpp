// transformer.cpp: see transformer.h.
#include "models/transformer.h"

#include <stdexcept>

#include "engine/autograd.h"

namespace frost::models {

Attention::Attention(int64_t d, int64_t h, bool qkv_bias, uint64_t seed) : dim(d), heads(h) {
  qkv = std::make_shared<Linear>(dim, 3 * dim, qkv_bias, seed + 1);
  proj = std::make_shared<Linear>(dim, dim, true, seed + 2);
  register_slot("qkv", qkv);
  register_slot("proj", proj);
}

void Attention::use_qv_bias() {
  q_bias = register_parameter("q_bias", Tensor::zeros({dim}));
  v_bias = register_parameter("v_bias", Tensor::zeros({dim}));
}

Tensor Attention::project_qkv(const Tensor& x) const {
  const Tensor y = qkv->forward(x);
  if (!q_bias.defined()) return y;
  const Tensor k_bias = Tensor::zeros(q_bias.shape(), q_bias.dtype(), q_bias.device());
  return add(y, cat({q_bias, k_bias, v_bias}, 0));
}

void Attention::add_prefix(const std::string& name, std::shared_ptr<KVRows> rows) {
  register_module(name, rows);
  prefixes_.push_back(std::move(rows));
}

Tensor Attention::forward(const Tensor& x, const Tensor& bias) const {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2), D = C / heads;
  if (prefixes_.empty()) return proj->forward(packed_qkv_attention(project_qkv(x), heads, bias));
  const Tensor qkv_heads = project_qkv(x).reshape({B, N, 3, heads, D}).permute({2, 0, 3, 1, 4});  // (3, B, H, N, D)
  const Tensor q = qkv_heads.narrow(0, 0, 1).squeeze(0);
  Tensor k = qkv_heads.narrow(0, 1, 1).squeeze(0), v = qkv_heads.narrow(0, 2, 1).squeeze(0);
  Tensor full_bias = bias;
  for (const auto& prefix : prefixes_) {
    auto [pk, pv] = prefix->rows();  // (H, L, D)
    if (pk.dim() != 3 || pk.size(0) != heads || pk.size(2) != D || pv.shape() != pk.shape())
      throw std::invalid_argument("attention prefix: rows " + pk.describe() + " / " + pv.describe() + " do not fit (" +
                                  std::to_string(heads) + ", L, " + std::to_string(D) + ")");
    const int64_t L = pk.size(1);
    k = cat({pk.unsqueeze(0).expand({B, heads, L, D}), k}, 2);
    v = cat({pv.unsqueeze(0).expand({B, heads, L, D}), v}, 2);
    if (full_bias.defined()) full_bias = pad(full_bias, {L, 0});  // prefix columns get no bias
  }
  const Tensor out = scaled_dot_product_attention(q, k, v, full_bias);  // (B, H, N, D)
  return proj->forward(out.transpose(1, 2).reshape({B, N, C}));
}

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = {"gelu", "gelu_tanh", "quick_gelu"};
  return names;
}

Activation parse_activation(const std::string& name) {
  const std::vector<std::string>& names = activation_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return Activation(i);
  throw std::invalid_argument("unknown activation '" + name + "'");
}

Tensor activate(Activation act, const Tensor& x) {
  switch (act) {
    case Activation::gelu:
      return gelu(x);
    case Activation::gelu_tanh:
      return gelu(x, /*tanh_approximation=*/true);
    case Activation::quick_gelu:
      return quick_gelu(x);
  }
  throw std::logic_error("activate: unhandled activation");
}

Mlp::Mlp(int64_t dim, int64_t hidden, uint64_t seed, Activation a) : act(a) {
  fc1 = std::make_shared<Linear>(dim, hidden, true, seed + 1);
  fc2 = std::make_shared<Linear>(hidden, dim, true, seed + 2);
  register_slot("fc1", fc1);
  register_slot("fc2", fc2);
}

Tensor Mlp::forward(const Tensor& x) const { return fc2->forward(activate(act, fc1->forward(x))); }

LayerScale::LayerScale(int64_t dim, double init_values) { gamma = register_parameter("gamma", Tensor::full({dim}, init_values)); }

void init_timm_weights(Module& root, double std, Generator& gen, bool convs) {
  NoGradGuard no_grad;
  auto reset = [&](Tensor& weight, Tensor& bias) {
    init_normal_(weight, std, gen);
    if (bias.defined()) copy_into(bias, Tensor::zeros(bias.shape(), bias.dtype()));
  };
  for (auto& [path, module] : root.named_modules()) {
    if (auto* l = dynamic_cast<Linear*>(module.get())) reset(l->weight, l->bias);
    if (auto* c = dynamic_cast<Conv2d*>(module.get()); c && convs) reset(c->weight, c->bias);
  }
}

}  // namespace frost::models
