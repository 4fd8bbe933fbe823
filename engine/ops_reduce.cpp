// ops_reduce.cpp: sum, mean and max over dims.
//   sum:  dx = expand(g, keepdim shape)            saves nothing
//   mean: dx = expand(g, keepdim shape) / R        saves nothing
//   max:  dx = g at the argmax, 0 elsewhere         saves the argmax (i64), not x
#include <algorithm>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/reduce.h"

namespace frost {

namespace {

std::vector<int64_t> normalized_dims(std::vector<int64_t> dims, int64_t rank, const char* op) {
  if (dims.empty())
    for (int64_t d = 0; d < rank; ++d) dims.push_back(d);
  for (int64_t& d : dims) d = normalize_dim(d, rank, op);
  std::sort(dims.begin(), dims.end());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end()) throw std::invalid_argument(std::string(op) + ": repeated dim");
  return dims;
}

Shape keepdim_shape(const Shape& in, const std::vector<int64_t>& dims) {
  Shape s = in;
  for (int64_t d : dims) s[d] = 1;
  return s;
}

Shape reduced_shape(const Shape& in, const std::vector<int64_t>& dims, bool keepdim) {
  if (keepdim) return keepdim_shape(in, dims);
  Shape s;
  for (int64_t d = 0; d < int64_t(in.size()); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) s.push_back(in[d]);
  return s;
}

// Sum of x over `dims` (sorted) into a contiguous tensor of keepdim shape. Contiguous input with
// a contiguous block of dims is read in place as [outer, R, inner]; anything else is permuted so
// the reduced dims come last.
Tensor sum_raw(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor src = x.detach();
  int64_t outer = 1, R = 1, inner = 1;
  const bool block = dims.back() - dims.front() + 1 == int64_t(dims.size());
  if (block && src.is_contiguous()) {
    for (int64_t d = 0; d < src.dim(); ++d) {
      if (d < dims.front())
        outer *= src.size(d);
      else if (d > dims.back())
        inner *= src.size(d);
      else
        R *= src.size(d);
    }
  } else {
    std::vector<int64_t> order;
    for (int64_t d = 0; d < src.dim(); ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) {
        order.push_back(d);
        outer *= src.size(d);
      }
    for (int64_t d : dims) {
      order.push_back(d);
      R *= src.size(d);
    }
    src = src.permute(order).contiguous();
  }
  Tensor out = Tensor::empty(keepdim_shape(x.shape(), dims), x.dtype(), x.device());
  dispatch_float(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, sum_middle<T>)(static_cast<const T*>(src.raw_data()), outer, R, inner, static_cast<T*>(out.raw_data()));
  });
  return out;
}

struct SumBackward : Node {
  Shape in_shape, keep_shape;
  double scale;
  SumBackward(const char* name, Shape in, Shape keep, double s)
      : Node(name), in_shape(std::move(in)), keep_shape(std::move(keep)), scale(s) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor gx = g.reshape(keep_shape).expand(in_shape);
    return {scale == 1.0 ? gx : mul(gx.contiguous(), scale)};
  }
};

Tensor reduce_mean_or_sum(const Tensor& x, std::vector<int64_t> dims, bool keepdim, bool mean, const char* op) {
  profile::Scope scope(op, {&x});
  check_float_operands(op, {&x});
  if (x.dim() == 0) return mul(x, 1.0);  // a scalar is its own sum and mean
  dims = normalized_dims(std::move(dims), x.dim(), op);
  int64_t R = 1;
  for (int64_t d : dims) R *= x.size(d);
  const double scale = mean ? 1.0 / double(R) : 1.0;
  Tensor out = sum_raw(x, dims);
  if (mean) out = mul(out, scale);
  out = out.reshape(reduced_shape(x.shape(), dims, keepdim));  // untracked: sum_raw reads x detached
  if (auto node = record<SumBackward>({&x}, op, x.shape(), keepdim_shape(x.shape(), dims), scale)) attach(out, node);
  return out;
}

struct MaxBackward : Node {
  Shape in_shape;
  int64_t outer, R, inner;
  Tensor argmax;
  MaxBackward(Shape in, int64_t o, int64_t r, int64_t i) : Node("max"), in_shape(std::move(in)), outer(o), R(r), inner(i) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(in_shape, g.dtype(), g.device());
    dispatch_float(g.dtype(), "max", [&](auto tag) {
      using T = decltype(tag);
      FROST_KERNEL(dx, max_middle_backward<T>)
      (static_cast<const T*>(gc.raw_data()), argmax.typed_data<int64_t>(), outer, R, inner, static_cast<T*>(dx.raw_data()));
    });
    return {dx};
  }
  void release_saved() override { argmax = Tensor(); }
};

}  // namespace

Tensor sum(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  return reduce_mean_or_sum(x, std::move(dims), keepdim, false, "sum");
}

Tensor mean(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  return reduce_mean_or_sum(x, std::move(dims), keepdim, true, "mean");
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  profile::Scope scope("max", {&x});
  check_float_operands("max", {&x});
  dim = normalize_dim(dim, x.dim(), "max");
  if (x.size(dim) == 0) throw std::invalid_argument("max: empty dim " + std::to_string(dim) + " of " + x.describe());
  const Tensor xc = x.detach().contiguous();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
  for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  Tensor out = Tensor::empty(reduced_shape(x.shape(), {dim}, keepdim), x.dtype(), x.device());
  Tensor argmax = Tensor::empty({outer * inner}, DType::i64, x.device());
  dispatch_float(x.dtype(), "max", [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(out, max_middle<T>)
    (static_cast<const T*>(xc.raw_data()), outer, x.size(dim), inner, static_cast<T*>(out.raw_data()),
     argmax.typed_data<int64_t>());
  });
  if (auto node = record<MaxBackward>({&x}, x.shape(), outer, x.size(dim), inner)) {
    node->argmax = argmax;
    attach(out, node);
  }
  return out;
}

Tensor sum_to_shape(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - int64_t(shape.size());
  if (lead < 0) throw std::invalid_argument("sum_to_shape: " + x.describe() + " has fewer dims than " + shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead)
      dims.push_back(d);
    else if (shape[d - lead] == 1 && x.size(d) != 1)
      dims.push_back(d);
    else if (shape[d - lead] != x.size(d))
      throw std::invalid_argument("sum_to_shape: " + x.describe() + " does not reduce to " + shape_str(shape));
  }
  Tensor out = dims.empty() ? x : sum(x, dims, /*keepdim=*/true);
  return out.reshape(shape);
}

}  // namespace frost
