// ops_shape.cpp: views (no copy; the backward maps the gradient back through the inverse view),
// joins and padding.
//   view/reshape: g.reshape(in)    permute: g.permute(inverse)    expand: sum_to_shape(g, in)
//   narrow: g written into zeros(in) at the slice     cat: narrow(g) per input
//   pad: narrow(g) to the unpadded region             contiguous / to(): identity / convert back
#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"

namespace frost {

namespace {

// Backward of any view whose inverse is a function of (g, input shape).
template <typename Fn>
struct ViewBackward : Node {
  Fn inverse;
  ViewBackward(const char* name, Fn f) : Node(name), inverse(std::move(f)) {}
  std::vector<Tensor> backward(const Tensor& g) override { return {inverse(g)}; }
};

template <typename Fn>
Tensor finish_view(const Tensor& input, Tensor out, const char* name, Fn inverse) {
  if (auto node = record<ViewBackward<Fn>>({&input}, name, std::move(inverse))) attach(out, node);
  return out;
}

Shape infer_shape(const Shape& requested, int64_t numel, const char* op) {
  Shape shape = requested;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer_at >= 0) throw std::invalid_argument(std::string(op) + ": more than one -1 in " + shape_str(requested));
      infer_at = int64_t(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer_at >= 0 && known != 0) shape[infer_at] = numel / known;
  if (shape_numel(shape) != numel)
    throw std::invalid_argument(std::string(op) + ": cannot view " + std::to_string(numel) + " elements as " +
                                shape_str(requested));
  return shape;
}

// Strides for `shape` over the same elements as (old_shape, old_strides), or empty if the
// memory layout does not allow a view (PyTorch's computeStride rule).
Shape view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape) {
  Shape strides(shape.size());
  int64_t view_d = int64_t(shape.size()) - 1;
  int64_t chunk_base = old_strides.empty() ? 1 : old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return {};
      if (d > 0) {
        chunk_base = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) {
    for (; view_d >= 0; --view_d) strides[view_d] = 1;  // leftover size-1 dims
  }
  return strides;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), "view");
  Shape strides = numel() == 0 ? contiguous_strides(shape) : view_strides(shape_, strides_, shape);
  if (strides.empty() && !shape.empty())
    throw std::invalid_argument("view: " + describe() + " with strides " + shape_str(strides_) + " cannot be viewed as " +
                                shape_str(shape) + " (use reshape)");
  const Shape in = shape_;
  return finish_view(*this, make_view(*this, shape, strides, offset_), "view", [in](const Tensor& g) { return g.reshape(in); });
}

Tensor Tensor::reshape(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), "reshape");
  Shape strides = numel() == 0 ? contiguous_strides(shape) : view_strides(shape_, strides_, shape);
  if (!strides.empty() || shape.empty()) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  if (int64_t(dims.size()) != dim())
    throw std::invalid_argument("permute: " + std::to_string(dims.size()) + " dims for " + describe());
  Shape shape(dims.size()), strides(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = normalize_dim(dims[i], dim(), "permute");
    if (inverse[d] != -1) throw std::invalid_argument("permute: dim " + std::to_string(d) + " repeated");
    inverse[d] = int64_t(i);
    shape[i] = shape_[d];
    strides[i] = strides_[d];
  }
  return finish_view(*this, make_view(*this, shape, strides, offset_), "permute",
                     [inverse](const Tensor& g) { return g.permute(inverse); });
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  std::vector<int64_t> dims(static_cast<size_t>(dim()));
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[normalize_dim(a, dim(), "transpose")], dims[normalize_dim(b, dim(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = normalize_dim(d, dim(), "narrow");
  if (start < 0 || length < 0 || start + length > shape_[d])
    throw std::invalid_argument("narrow: [" + std::to_string(start) + ", " + std::to_string(start + length) +
                                ") is outside dim " + std::to_string(d) + " of " + describe());
  Shape shape = shape_;
  shape[d] = length;
  const Shape in = shape_;
  const DType dt = dtype();
  return finish_view(*this, make_view(*this, shape, strides_, offset_ + start * strides_[d]), "narrow",
                     [in, dt, d, start, length](const Tensor& g) {
                       Tensor full = Tensor::zeros(in, dt, g.device());
                       copy_into(full.narrow(d, start, length), g);
                       return full;
                     });
}

Tensor Tensor::expand(const Shape& shape) const {
  if (shape.size() < shape_.size()) throw std::invalid_argument("expand: " + describe() + " to fewer dims " + shape_str(shape));
  const size_t lead = shape.size() - shape_.size();
  Shape strides(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) continue;
    const int64_t have = shape_[i - lead];
    if (have == shape[i])
      strides[i] = strides_[i - lead];
    else if (have != 1)
      throw std::invalid_argument("expand: " + describe() + " cannot expand to " + shape_str(shape));
  }
  if (shape == shape_) return *this;
  const Shape in = shape_;
  return finish_view(*this, make_view(*this, shape, strides, offset_), "expand",
                     [in](const Tensor& g) { return sum_to_shape(g, in); });
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = normalize_dim(d, dim() + 1, "unsqueeze");
  Shape shape = shape_;
  shape.insert(shape.begin() + d, 1);
  return view(shape);
}

Tensor Tensor::squeeze(int64_t d) const {
  d = normalize_dim(d, dim(), "squeeze");
  if (shape_[d] != 1) throw std::invalid_argument("squeeze: dim " + std::to_string(d) + " of " + describe() + " is not 1");
  Shape shape = shape_;
  shape.erase(shape.begin() + d);
  return view(shape);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = normalize_dim(start, dim(), "flatten");
  end = normalize_dim(end, dim(), "flatten");
  Shape shape(shape_.begin(), shape_.begin() + start);
  int64_t n = 1;
  for (int64_t d = start; d <= end; ++d) n *= shape_[d];
  shape.push_back(n);
  shape.insert(shape.end(), shape_.begin() + end + 1, shape_.end());
  return reshape(shape);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return finish_view(*this, copy_contiguous(*this, dtype()), "contiguous", [](const Tensor& g) { return g; });
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  const DType from = this->dtype();
  Tensor out = copy_contiguous(*this, dtype);
  if (!dtype_is_float(dtype)) return out;  // no gradient through integer casts
  return finish_view(*this, out, "to_dtype", [from](const Tensor& g) { return g.to(from); });
}

Tensor cast_to(const Tensor& t, DType dtype) { return t.defined() && t.dtype() != dtype ? t.to(dtype) : t; }

Tensor Tensor::to(Device device) const {
  if (device.is_cpu()) count_host_read(this->device());  // a CPU tensor's too: see device.h
  if (device == this->device()) return *this;
  const Tensor src = detach().contiguous();
  Tensor out = Tensor::empty(shape_, dtype(), device);
  copy_bytes(out.raw_data(), device, src.raw_data(), src.device(), src.nbytes());
  const Device from = this->device();
  return finish_view(*this, out, "to_device", [from](const Tensor& g) { return g.to(from); });
}

// ---------------------------------------------------------------------------------------
// Joins

struct CatBackward : Node {
  int64_t dim;
  std::vector<int64_t> sizes;
  CatBackward(int64_t d, std::vector<int64_t> s) : Node("cat"), dim(d), sizes(std::move(s)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    std::vector<Tensor> grads;
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); start += sizes[i], ++i)
      grads.push_back(needs(i) ? g.narrow(dim, start, sizes[i]) : Tensor());
    return grads;
  }
};

Tensor cat(const std::vector<Tensor>& inputs, int64_t dim) {
  profile::Scope scope("cat");
  if (inputs.empty()) throw std::invalid_argument("cat: no tensors");
  std::vector<Tensor> tensors = inputs;
  std::vector<const Tensor*> operands;
  for (const Tensor& t : inputs) operands.push_back(&t);
  if (mixes_bf16_and_f32(operands)) {  // f32 prompt or class-token parameters meet bf16 tokens: join in bf16
    const DType dt = promote_float_operands("cat", operands);
    for (Tensor& t : tensors) t = cast_to(t, dt);
  }
  const Tensor& first = tensors[0];
  dim = normalize_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[dim] = 0;
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) {
    Shape s = t.shape();
    if (t.dim() != first.dim() || t.dtype() != first.dtype() || t.device() != first.device())
      throw std::invalid_argument("cat: " + t.describe() + " does not match " + first.describe());
    s[dim] = 0;
    Shape expect = first.shape();
    expect[dim] = 0;
    if (s != expect)
      throw std::invalid_argument("cat: " + t.describe() + " differs from " + first.describe() + " outside dim " +
                                  std::to_string(dim));
    sizes.push_back(t.size(dim));
    shape[dim] += t.size(dim);
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    copy_into(out.detach().narrow(dim, start, t.size(dim)), t);
    start += t.size(dim);
  }
  if (grad_enabled()) {
    std::vector<Edge> edges;
    for (const Tensor& t : tensors) edges.push_back(collect_edges({&t})[0]);
    bool any = std::any_of(edges.begin(), edges.end(), [](const Edge& e) { return e.valid(); });
    if (any) {
      auto node = std::make_shared<CatBackward>(dim, sizes);
      node->inputs_ = std::move(edges);
      attach(out, node);
    }
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim) {
  dim = normalize_dim(dim, x.dim(), "split");
  if (size <= 0) throw std::invalid_argument("split: chunk size must be positive");
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < x.size(dim); start += size)
    parts.push_back(x.narrow(dim, start, std::min(size, x.size(dim) - start)));
  return parts;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  if (tensors.empty()) throw std::invalid_argument("stack: no tensors");
  dim = normalize_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(dim));
  return cat(expanded, dim);
}

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims) {
  profile::Scope scope("roll", {&x});
  if (shifts.size() != dims.size())
    throw std::invalid_argument("roll: " + std::to_string(shifts.size()) + " shifts for " + std::to_string(dims.size()) +
                                " dims");
  Tensor out = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = normalize_dim(dims[i], x.dim(), "roll"), n = x.size(d);
    if (n == 0) continue;
    const int64_t s = ((shifts[i] % n) + n) % n;
    if (s == 0) continue;
    // out[j] = in[(j - s) mod n]: the last s entries come first
    out = cat({out.narrow(d, n - s, s), out.narrow(d, 0, n - s)}, d);
  }
  return out;
}

struct PadBackward : Node {
  std::vector<int64_t> starts, lengths;
  PadBackward(std::vector<int64_t> s, std::vector<int64_t> l) : Node("pad"), starts(std::move(s)), lengths(std::move(l)) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor out = g;
    for (size_t d = 0; d < starts.size(); ++d) out = out.narrow(int64_t(d), starts[d], lengths[d]);
    return {out};
  }
};

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  profile::Scope scope("pad", {&x});
  if (pads.size() % 2 != 0 || int64_t(pads.size()) > 2 * x.dim())
    throw std::invalid_argument("pad: " + std::to_string(pads.size()) + " pad values for " + x.describe());
  Shape shape = x.shape();
  std::vector<int64_t> starts(size_t(x.dim()), 0), lengths = x.shape();
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    const int64_t d = x.dim() - 1 - int64_t(i);
    if (pads[2 * i] < 0 || pads[2 * i + 1] < 0) throw std::invalid_argument("pad: negative padding");
    shape[d] += pads[2 * i] + pads[2 * i + 1];
    starts[d] = pads[2 * i];
  }
  Tensor out = Tensor::full(shape, value, x.dtype(), x.device());
  Tensor region = out.detach();
  for (int64_t d = 0; d < x.dim(); ++d) region = region.narrow(d, starts[d], lengths[d]);
  copy_into(region, x);
  if (auto node = record<PadBackward>({&x}, starts, lengths)) attach(out, node);
  return out;
}

}  // namespace frost
