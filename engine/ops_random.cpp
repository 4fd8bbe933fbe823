// ops_random.cpp: dropout, drop-path and random tensors on the Philox stream of a Generator.
// Each call takes offset++ as its stream id, and the backward regenerates the same mask from
// (seed, offset): nothing is saved. dx = dy * mask / (1 - p), the same map as the forward.
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/random.h"

namespace frost {

namespace {

struct DropBackward : Node {
  bool per_sample;
  double p;
  uint64_t seed, offset;
  DropBackward(bool ps, double pp, uint64_t s, uint64_t o)
      : Node(ps ? "drop_path" : "dropout"), per_sample(ps), p(pp), seed(s), offset(o) {}
  std::vector<Tensor> backward(const Tensor& g) override;
};

Tensor apply_drop(const Tensor& x, bool per_sample, double p, uint64_t seed, uint64_t offset) {
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), per_sample ? "drop_path" : "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(xc.raw_data());
    T* py = static_cast<T*>(out.raw_data());
    if (per_sample) {
      const int64_t batch = x.size(0);
      FROST_KERNEL(out, drop_path_apply<T>)(px, py, batch, batch ? x.numel() / batch : 0, p, seed, offset);
    } else {
      FROST_KERNEL(out, dropout_apply<T>)(px, py, x.numel(), p, seed, offset);
    }
  });
  return out;
}

std::vector<Tensor> DropBackward::backward(const Tensor& g) { return {apply_drop(g, per_sample, p, seed, offset)}; }

Tensor drop_common(const Tensor& x, double p, bool training, Generator& gen, bool per_sample) {
  profile::Scope scope(per_sample ? "drop_path" : "dropout", {&x});
  const char* op = per_sample ? "drop_path" : "dropout";
  if (p < 0.0 || p >= 1.0)
    throw std::invalid_argument(std::string(op) + ": probability must be in [0, 1), got " + std::to_string(p));
  if (!training || p == 0.0) return x;
  check_float_operands(op, {&x});
  if (per_sample && x.dim() < 1) throw std::invalid_argument("drop_path: needs a batch dim");
  const uint64_t offset = gen.offset++;
  Tensor out = apply_drop(x, per_sample, p, gen.seed, offset);
  if (auto node = record<DropBackward>({&x}, per_sample, p, gen.seed, offset)) attach(out, node);
  return out;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) { return drop_common(x, p, training, gen, false); }

Tensor drop_path(const Tensor& x, double p, bool training, Generator& gen) { return drop_common(x, p, training, gen, true); }

namespace {
// A new tensor filled from stream (seed, offset++): element i depends only on (seed, offset, i).
Tensor fill_from_stream(const Shape& shape, Generator& gen, DType dtype, bool normal) {
  Tensor t = Tensor::empty(shape, dtype);
  const uint64_t offset = gen.offset++;
  if (dtype == DType::f32 || dtype == DType::f64) {
    dispatch_f32_f64(dtype, normal ? "randn" : "rand", [&](auto tag) {
      using T = decltype(tag);
      T* out = static_cast<T*>(t.raw_data());
      normal ? cpu::fill_normal<T>(out, t.numel(), gen.seed, offset) : cpu::fill_uniform<T>(out, t.numel(), gen.seed, offset);
    });
    return t;
  }
  for (int64_t i = 0; i < t.numel(); ++i)
    store_value(t.raw_data(), dtype, i,
                normal ? cpu::philox_normal(gen.seed, offset, uint64_t(i)) : cpu::philox_uniform(gen.seed, offset, uint64_t(i)));
  return t;
}
}  // namespace

Tensor randn(const Shape& shape, Generator& gen, DType dtype) { return fill_from_stream(shape, gen, dtype, true); }

Tensor rand(const Shape& shape, Generator& gen, DType dtype) { return fill_from_stream(shape, gen, dtype, false); }

}  // namespace frost
