// layers.cpp: see layers.h.
#include "engine/layers.h"

#include <cmath>
#include <cstring>

#include "engine/autograd.h"

namespace frost {

namespace {
thread_local bool skip_init = false;

bool zero_instead(Tensor& t) {
  if (!skip_init) return false;
  NoGradGuard no_grad;
  if (t.is_contiguous() && t.device().is_cpu())
    std::memset(t.raw_data(), 0, t.nbytes());
  else
    copy_into(t, Tensor::zeros(t.shape(), t.dtype()));
  return true;
}
}  // namespace

SkipInitGuard::SkipInitGuard() : previous_(skip_init) { skip_init = true; }
SkipInitGuard::~SkipInitGuard() { skip_init = previous_; }

void init_normal_(Tensor& t, double std, Generator& gen) {
  if (zero_instead(t)) return;
  NoGradGuard no_grad;
  copy_into(t, mul(randn(t.shape(), gen, t.dtype()), std));
}

void init_uniform_(Tensor& t, double bound, Generator& gen) {
  if (zero_instead(t)) return;
  NoGradGuard no_grad;
  copy_into(t, add(mul(rand(t.shape(), gen, t.dtype()), 2.0 * bound), -bound));
}

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, uint64_t seed, DType dtype) {
  Generator gen(seed);
  const double bound = 1.0 / std::sqrt(double(in_features));
  weight = register_parameter("weight", Tensor::empty({out_features, in_features}, dtype));
  init_uniform_(weight, bound, gen);
  if (with_bias) {
    bias = register_parameter("bias", Tensor::empty({out_features}, dtype));
    init_uniform_(bias, bound, gen);
  }
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, const Conv2dOptions& o, bool with_bias, uint64_t seed)
    : options(o) {
  Generator gen(seed);
  const double bound = 1.0 / std::sqrt(double(in_channels / o.groups * kernel * kernel));
  weight = register_parameter("weight", Tensor::empty({out_channels, in_channels / o.groups, kernel, kernel}));
  init_uniform_(weight, bound, gen);
  if (with_bias) {
    bias = register_parameter("bias", Tensor::empty({out_channels}));
    init_uniform_(bias, bound, gen);
  }
}

Tensor Conv2d::forward(const Tensor& x) const { return conv2d(x, weight, bias, options); }

LayerNorm::LayerNorm(int64_t dim, double e, bool cf) : eps(e), channels_first(cf) {
  weight = register_parameter("weight", Tensor::ones({dim}));
  bias = register_parameter("bias", Tensor::zeros({dim}));
}

Tensor LayerNorm::forward(const Tensor& x) const {
  return channels_first ? layer_norm_channels_first(x, weight, bias, eps) : layer_norm(x, weight, bias, eps);
}

}  // namespace frost
