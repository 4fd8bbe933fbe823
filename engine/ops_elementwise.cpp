// ops_elementwise.cpp: broadcasting arithmetic and activations.
//   add:  da = g, db = g                 (each summed back to its input's shape)
//   sub:  da = g, db = -g
//   mul:  da = g b, db = g a             saves b only if a needs grad, a only if b does
//   div:  da = g / b, db = -g a / b^2    saves b for either, a only for db
//   unary f: dx = g f'(x), saving x or y = f(x) (whichever f' reads; see kernels/cpu/elementwise.h)
#include <cstring>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/strided.h"

namespace frost {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

using cpu::BinaryOp;
using cpu::UnaryOp;

Tensor binary_raw(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_float_operands(name, {&a, &b});
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  const Tensor ae = a.detach().expand(shape), be = b.detach().expand(shape);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, binary_forward<T>)
    (op, shape, static_cast<const T*>(ae.raw_data()), ae.strides(), static_cast<const T*>(be.raw_data()), be.strides(),
     static_cast<T*>(out.raw_data()));
  });
  return out;
}

struct BinaryBackward : Node {
  BinaryOp op;
  Shape a_shape, b_shape;
  Tensor a, b;  // saved per the table in the header comment
  BinaryBackward(BinaryOp o, const char* name, Shape as, Shape bs)
      : Node(name), op(o), a_shape(std::move(as)), b_shape(std::move(bs)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor ga, gb;
    switch (op) {
      case BinaryOp::add:
        if (needs(0)) ga = g;
        if (needs(1)) gb = g;
        break;
      case BinaryOp::sub:
        if (needs(0)) ga = g;
        if (needs(1)) gb = neg(g);
        break;
      case BinaryOp::mul:
        if (needs(0)) ga = mul(g, b);
        if (needs(1)) gb = mul(g, a);
        break;
      case BinaryOp::div:
        if (needs(0)) ga = div(g, b);
        if (needs(1)) gb = neg(div(mul(g, a), mul(b, b)));
        break;
    }
    if (ga.defined()) ga = sum_to_shape(ga, a_shape);
    if (gb.defined()) gb = sum_to_shape(gb, b_shape);
    return {ga, gb};
  }
  void release_saved() override { a = b = Tensor(); }
};

Tensor binary(BinaryOp op, const Tensor& a_in, const Tensor& b_in, const char* name) {
  profile::Scope scope(name, {&a_in, &b_in});
  const DType dt = promote_float_operands(name, {&a_in, &b_in});  // an f32 parameter meets bf16 activations
  const Tensor a = cast_to(a_in, dt), b = cast_to(b_in, dt);
  Tensor out = binary_raw(op, a, b, name);
  if (auto node = record<BinaryBackward>({&a, &b}, op, name, a.shape(), b.shape())) {
    const bool da = node->needs(0), db = node->needs(1);
    if (op == BinaryOp::mul) {
      if (da) node->b = b.detach();
      if (db) node->a = a.detach();
    } else if (op == BinaryOp::div) {
      node->b = b.detach();
      if (db) node->a = a.detach();
    }
    attach(out, node);
  }
  return out;
}

// y = x * scale + shift
struct AffineScalarBackward : Node {
  double scale;
  explicit AffineScalarBackward(double s) : Node("affine_scalar"), scale(s) {}
  std::vector<Tensor> backward(const Tensor& g) override { return {scale == 1.0 ? g : mul(g, scale)}; }
};

Tensor affine_scalar(const Tensor& x, double scale, double shift, const char* name) {
  profile::Scope scope(name, {&x});
  check_float_operands(name, {&x});
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, scale_shift<T>)
    (static_cast<const T*>(xc.raw_data()), static_cast<T*>(out.raw_data()), x.numel(), acc_t<T>(scale), acc_t<T>(shift));
  });
  if (auto node = record<AffineScalarBackward>({&x}, scale)) attach(out, node);
  return out;
}

struct UnaryBackward : Node {
  UnaryOp op;
  Tensor saved;  // x, or y when the derivative reads the output
  UnaryBackward(UnaryOp o, const char* name) : Node(name), op(o) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(gc.shape(), gc.dtype(), gc.device());
    const bool from_y = cpu::unary_backward_reads_output(op);
    dispatch_float(gc.dtype(), name().c_str(), [&](auto tag) {
      using T = decltype(tag);
      const T* s = static_cast<const T*>(saved.raw_data());
      FROST_KERNEL(dx, unary_backward<T>)
      (op, from_y ? nullptr : s, from_y ? s : nullptr, static_cast<const T*>(gc.raw_data()), static_cast<T*>(dx.raw_data()),
       gc.numel());
    });
    return {dx};
  }
  void release_saved() override { saved = Tensor(); }
};

Tensor unary(UnaryOp op, const Tensor& x, const char* name) {
  profile::Scope scope(name, {&x});
  check_float_operands(name, {&x});
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, unary_forward<T>)(op, static_cast<const T*>(xc.raw_data()), static_cast<T*>(out.raw_data()), x.numel());
  });
  if (op == UnaryOp::neg) {  // linear: no saved tensor
    if (auto node = record<AffineScalarBackward>({&x}, -1.0)) attach(out, node);
    return out;
  }
  if (auto node = record<UnaryBackward>({&x}, op, name)) {
    node->saved = cpu::unary_backward_reads_output(op) ? out.detach() : xc;
    attach(out, node);
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b, "add"); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b, "sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b, "mul"); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b, "div"); }
Tensor add(const Tensor& a, double s) { return affine_scalar(a, 1.0, s, "add_scalar"); }
Tensor mul(const Tensor& a, double s) { return affine_scalar(a, s, 0.0, "mul_scalar"); }
Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x, "neg"); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x, "exp"); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x, "log"); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x, "sqrt"); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x, "tanh"); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x, "relu"); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x, "sigmoid"); }
Tensor gelu(const Tensor& x, bool tanh_approximation) {
  return tanh_approximation ? unary(UnaryOp::gelu_tanh, x, "gelu_tanh") : unary(UnaryOp::gelu_erf, x, "gelu");
}
Tensor quick_gelu(const Tensor& x) { return unary(UnaryOp::quick_gelu, x, "quick_gelu"); }

void add_(Tensor& dst, const Tensor& src) {
  if (!dst.is_contiguous()) throw std::invalid_argument("add_: destination " + dst.describe() + " must be contiguous");
  Tensor sum_value = binary_raw(BinaryOp::add, dst, src, "add_");
  if (sum_value.shape() != dst.shape())
    throw std::invalid_argument("add_: " + src.describe() + " does not broadcast to " + dst.describe());
  copy_bytes(dst.raw_data(), dst.device(), sum_value.raw_data(), sum_value.device(), dst.nbytes());
}

void copy_into(const Tensor& dst, const Tensor& src) {
  check_device("copy_into", dst);
  check_device("copy_into", src);
  if (dst.device() != src.device()) {  // one transfer of src's elements, then a copy on dst's device
    copy_into(dst, src.detach().to(dst.device()));
    return;
  }
  const Tensor se = src.detach().expand(dst.shape());
  if (dst.numel() > 0) FROST_KERNEL(dst, copy_strided)
  (dst.shape(), dst.raw_data(), dst.dtype(), dst.strides(), se.raw_data(), se.dtype(), se.strides());
}

}  // namespace frost
