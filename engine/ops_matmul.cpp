// ops_matmul.cpp: matrix products.
//   matmul c = a b:      da = g b^T  (saves b, only if a needs grad)
//                        db = a^T g  (saves a, only if b needs grad); both summed over broadcast batch
//   linear y = x W^T + b: dx = g W   (saves W, only if x needs grad: W is resident anyway)
//                        dW = g^T x  (saves x, only if W needs grad: a frozen W keeps no activation)
//                        db = sum_rows g (saves nothing)
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/gemm_call.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/gemm.h"

namespace frost {

namespace {

// Element offset of batch element i (row-major over batch_shape) in a tensor with `strides`.
int64_t batch_offset(int64_t i, const Shape& batch_shape, const Shape& strides) {
  int64_t off = 0;
  for (int64_t d = int64_t(batch_shape.size()) - 1; d >= 0; --d) {
    off += (i % batch_shape[d]) * strides[d];
    i /= batch_shape[d];
  }
  return off;
}

// The single stride s with offset(i) = i s for every batch element, if there is one.
bool uniform_batch_stride(const Tensor& t, const Shape& batch_shape, int64_t batch, int64_t& stride) {
  stride = batch > 1 ? batch_offset(1, batch_shape, t.strides()) : 0;
  for (int64_t i = 2; i < batch; ++i)
    if (batch_offset(i, batch_shape, t.strides()) != i * stride) return false;
  return true;
}

// out (batch..., M, N) = a (batch..., M, K) x b (batch..., K, N); a and b already expanded to the
// same batch dims (stride 0 where broadcast); any strides.
Tensor batched_gemm(Tensor a, Tensor b) {
  const int64_t r = a.dim();
  const int64_t M = a.size(r - 2), K = a.size(r - 1), N = b.size(r - 1);
  Shape out_shape(a.shape().begin(), a.shape().end() - 2);
  const Shape batch_shape = out_shape;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  const int64_t batch = shape_numel(batch_shape);
  // One strided batch: a batch layout no single stride describes (several broadcast dims) is made contiguous.
  auto batch_stride = [&](Tensor& t) {
    int64_t s = 0;
    if (!uniform_batch_stride(t, batch_shape, batch, s)) {
      t = t.contiguous();
      uniform_batch_stride(t, batch_shape, batch, s);
    }
    return s;
  };
  const int64_t sa = batch_stride(a), sb = batch_stride(b);
  dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, gemm<T>)
    (M, N, K, acc_t<T>(1), {a.raw_data(), a.strides()[r - 2], a.strides()[r - 1]},
     {b.raw_data(), b.strides()[r - 2], b.strides()[r - 1]}, acc_t<T>(0), static_cast<T*>(out.raw_data()), N,
     {batch, sa, sb, M * N}, nullptr);
  });
  return out;
}

struct MatmulBackward : Node {
  Shape a_shape, b_shape;
  Tensor a, b;
  MatmulBackward(Shape as, Shape bs) : Node("matmul"), a_shape(std::move(as)), b_shape(std::move(bs)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor ga, gb;
    if (needs(0)) ga = sum_to_shape(matmul(g, b.transpose(-1, -2)), a_shape);
    if (needs(1)) gb = sum_to_shape(matmul(a.transpose(-1, -2), g), b_shape);
    return {ga, gb};
  }
  double backward_flops() const override {
    return (double(needs(0)) + double(needs(1))) * 2.0 * double(shape_numel(output_shape)) * double(a_shape.back());
  }
  void release_saved() override { a = b = Tensor(); }
};

struct LinearBackward : Node {
  Tensor x, weight;  // x as (R, in)
  Shape x_shape;
  LinearBackward(Shape xs) : Node("linear"), x_shape(std::move(xs)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const int64_t out_features = g.size(-1);
    const Tensor g2 = g.reshape({-1, out_features});  // (R, out)
    Tensor gx, gw, gb;
    if (needs(0)) gx = matmul(g2, weight).reshape(x_shape);  // (R, in)
    if (needs(1)) gw = matmul(g2.transpose(0, 1), x);        // (out, in)
    if (needs(2)) gb = sum(g2, {0});                         // (out)
    return {gx, gw, gb};
  }
  double backward_flops() const override {  // dx and dW are each a GEMM of the forward's size
    return (double(needs(0)) + double(needs(1))) * 2.0 * double(shape_numel(output_shape)) * double(x_shape.back());
  }
  void release_saved() override { x = weight = Tensor(); }
};

}  // namespace

void gemm_into(Tensor& out, int64_t M, int64_t N, int64_t K, double alpha, GemmOperand A, GemmOperand B, double beta,
               const Tensor& bias) {
  auto ref = [](const GemmOperand& o) {  // op(X): X's element strides, swapped for X^T
    const int64_t s0 = o.t->strides()[0], s1 = o.t->strides()[1];
    return o.transposed ? cpu::MatrixRef{o.t->raw_data(), s1, s0} : cpu::MatrixRef{o.t->raw_data(), s0, s1};
  };
  const cpu::MatrixRef a = ref(A), b = ref(B);
  dispatch_float(out.dtype(), "gemm", [&](auto tag) {
    using T = decltype(tag);
    using Acc = acc_t<T>;
    T* c = static_cast<T*>(out.raw_data());
    const T* pb = bias.defined() ? static_cast<const T*>(bias.raw_data()) : nullptr;
    FROST_KERNEL(out, gemm<T>)(M, N, K, Acc(alpha), a, b, Acc(beta), c, N, {}, pb);  // the bias rides in the epilogue
  });
}

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  const DType dt = promote_float_operands("matmul", {&a_in, &b_in});  // mixed precision: bf16
  profile::Scope scope("matmul", {&a_in, &b_in});
  const Tensor a = cast_to(a_in, dt), b = cast_to(b_in, dt);
  if (a.dim() < 2 || b.dim() < 2)
    throw std::invalid_argument("matmul: needs at least 2-d operands, got " + a.describe() + " and " + b.describe());
  if (a.size(-1) != b.size(-2)) throw std::invalid_argument("matmul: inner sizes differ: " + a.describe() + " x " + b.describe());
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  scope.add_flops(2.0 * double(shape_numel(batch)) * double(a.size(-2)) * double(a.size(-1)) * double(b.size(-1)));
  Shape a_full = batch, b_full = batch;
  a_full.push_back(a.size(-2));
  a_full.push_back(a.size(-1));
  b_full.push_back(b.size(-2));
  b_full.push_back(b.size(-1));
  Tensor out = batched_gemm(a.detach().expand(a_full), b.detach().expand(b_full));
  if (auto node = record<MatmulBackward>({&a, &b}, a.shape(), b.shape())) {
    if (node->needs(0)) node->b = b.detach();
    if (node->needs(1)) node->a = a.detach();
    attach(out, node);
  }
  return out;
}

Tensor linear(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in) {
  const DType dt = promote_float_operands("linear", {&x_in, &weight_in, &bias_in});  // mixed precision: bf16
  profile::Scope scope("linear", {&x_in, &weight_in, &bias_in});
  const Tensor x = cast_to(x_in, dt), weight = cast_to(weight_in, dt), bias = cast_to(bias_in, dt);
  if (weight.dim() != 2 || x.dim() < 1 || x.size(-1) != weight.size(1))
    throw std::invalid_argument("linear: input " + x.describe() + " does not match weight " + weight.describe() +
                                " (expected (..., in) and (out, in))");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0)))
    throw std::invalid_argument("linear: bias " + bias.describe() + " does not match weight " + weight.describe());
  const int64_t in_features = weight.size(1), out_features = weight.size(0);
  const Tensor x2 = x.detach().reshape({-1, in_features});  // (R, in), any strides
  const int64_t R = x2.size(0);
  scope.add_flops(2.0 * double(R) * double(in_features) * double(out_features));
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  Tensor out2 = out.reshape({R, out_features});
  const Tensor w = weight.detach();
  gemm_into(out2, R, out_features, in_features, 1.0, plain(x2), transposed(w), 0.0,
            bias.defined() ? bias.detach().contiguous() : Tensor());
  if (auto node = record<LinearBackward>({&x, &weight, &bias}, x.shape())) {
    if (node->needs(0)) node->weight = w;
    if (node->needs(1)) node->x = x2;
    attach(out, node);
  }
  return out;
}

}  // namespace frost
