// tensor.cpp: creation, geometry queries, element conversion between dtypes and host read-back.
// Views and conversions that take part in autograd are in ops_shape.cpp.
#include "engine/tensor.h"

#include <sstream>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/profile.h"
#include "kernels/cpu/strided.h"

namespace frost {

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

namespace {

[[noreturn]] void too_large(const Shape& shape) {
  throw std::length_error("shape " + shape_str(shape) + " has a negative size or more elements than an int64 can count");
}

}  // namespace

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    if (s < 0 || __builtin_mul_overflow(n, s, &n)) too_large(shape);
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    strides[d] = s;
    if (shape[d] < 0 || __builtin_mul_overflow(s, shape[d], &s)) too_large(shape);
  }
  return strides;
}

int64_t normalize_dim(int64_t dim, int64_t rank, const char* what) {
  int64_t d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank)
    throw std::invalid_argument(std::string(what) + ": dim " + std::to_string(dim) + " is out of range for a tensor of rank " +
                                std::to_string(rank));
  return d;
}

void check_dtype_matches(const Tensor& t, DType expected) {
  bool ok = t.dtype() == expected || (expected == DType::u8 && t.dtype() == DType::boolean);
  if (!ok)
    throw std::invalid_argument(std::string("tensor of dtype ") + dtype_name(t.dtype()) + " accessed as " + dtype_name(expected));
}

Storage::~Storage() {
  if (allocator && data) allocator->release(data, bytes);
}

// ---------------------------------------------------------------------------------------
// Creation

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return empty_from(shape, dtype, device, allocator_for(device));
}

Tensor Tensor::empty_from(const Shape& shape, DType dtype, Device device, Allocator& allocator) {
  for (int64_t s : shape)
    if (s < 0) throw std::invalid_argument("Tensor::empty: negative size in shape " + shape_str(shape));
  Tensor t;
  auto storage = std::make_shared<Storage>();
  storage->bytes = size_t(shape_numel(shape)) * dtype_size(dtype);
  storage->device = device;
  storage->allocator = &allocator;
  storage->dtype = dtype;
  storage->data = allocator.allocate(storage->bytes);
  t.storage_ = std::move(storage);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  Allocator* pinned = pinned_host_allocator();
  return pinned ? empty_from(shape, dtype, Device::cpu(), *pinned) : empty(shape, dtype);
}

Tensor Tensor::from_indices(const std::vector<int64_t>& values, Device device) {
  Tensor t = empty({int64_t(values.size())}, DType::i64, device);  // an upload: no host read
  if (!values.empty()) copy_bytes(t.raw_data(), device, values.data(), Device::cpu(), values.size() * sizeof(int64_t));
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (t.numel() > 0) FROST_KERNEL(t, fill)(t.raw_data(), dtype, t.numel(), value);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  if (!device.is_cpu()) return full(shape, 0.0, dtype, device);
  Tensor t = empty(shape, dtype, device);
  if (t.nbytes()) std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
  Tensor t = empty({n}, dtype);
  for (int64_t i = 0; i < n; ++i) store_value(t.raw_data(), dtype, i, double(i));
  return t.to(device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  if (int64_t(values.size()) != shape_numel(shape))
    throw std::invalid_argument("Tensor::from_vector: " + std::to_string(values.size()) + " values for shape " +
                                shape_str(shape));
  Tensor t = empty(shape, dtype);
  for (size_t i = 0; i < values.size(); ++i) store_value(t.raw_data(), dtype, int64_t(i), values[i]);
  return t;
}

Tensor Tensor::from_external(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<void> keep_alive) {
  Tensor t;
  auto storage = std::make_shared<Storage>();
  storage->data = data;
  storage->bytes = size_t(shape_numel(shape)) * dtype_size(dtype);
  storage->device = device;
  storage->keep_alive = std::move(keep_alive);
  storage->dtype = dtype;
  t.storage_ = std::move(storage);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  Tensor t;
  t.storage_ = base.storage_;
  t.shape_ = shape;
  t.strides_ = strides;
  t.offset_ = offset;
  return t;
}

// ---------------------------------------------------------------------------------------
// Queries

int64_t Tensor::size(int64_t d) const { return shape_[normalize_dim(d, dim(), "Tensor::size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape_[d] == 1) continue;
    if (strides_[d] != expected) return false;
    expected *= shape_[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  if (!storage_) throw std::logic_error("raw_data() of an undefined tensor");
  return static_cast<char*>(storage_->data) + offset_ * int64_t(dtype_size(dtype()));
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype())) + shape_str(shape_) + " " + device().str();
}

// ---------------------------------------------------------------------------------------
// Copies and conversions (not differentiable here; ops_shape.cpp wraps them)

Tensor copy_contiguous(const Tensor& src, DType dtype) {
  profile::Scope scope(src.dtype() == dtype ? "contiguous" : "cast", {&src});
  check_device("copy_contiguous", src);
  Tensor out = Tensor::empty(src.shape(), dtype, src.device());
  if (src.numel() > 0) FROST_KERNEL(out, copy_strided)
  (src.shape(), out.raw_data(), dtype, out.strides(), src.raw_data(), src.dtype(), src.strides());
  return out;
}

Tensor Tensor::clone() const { return copy_contiguous(*this, dtype()); }

void Tensor::move_storage_to(Device device) {
  if (!storage_) throw std::logic_error("move_storage_to() of an undefined tensor");
  Storage& s = *storage_;
  if (s.device != device) {
    Allocator& target = allocator_for(device);
    void* data = s.bytes ? target.allocate(s.bytes) : nullptr;
    if (s.bytes) copy_bytes(data, device, s.data, s.device, s.bytes);
    if (s.allocator && s.data) s.allocator->release(s.data, s.bytes);
    s.keep_alive.reset();  // a mapped file is no longer referenced
    s.data = data;
    s.device = device;
    s.allocator = &target;
  }
  if (meta_) {
    if (meta_->grad.defined()) meta_->grad.move_storage_to(device);
    if (meta_->grad_mask.defined()) meta_->grad_mask.move_storage_to(device);
  }
}

void Tensor::convert_storage_to(DType dtype) {
  if (!storage_) throw std::logic_error("convert_storage_to() of an undefined tensor");
  if (dtype == this->dtype()) return;
  if (!is_contiguous() || offset_ != 0 || nbytes() != storage_->bytes)
    throw std::invalid_argument("convert_storage_to(" + std::string(dtype_name(dtype)) + "): " + describe() +
                                " does not cover its storage contiguously (a view of a larger tensor)");
  if (meta_ && (meta_->grad.defined() || meta_->grad_fn))
    throw std::invalid_argument("convert_storage_to(" + std::string(dtype_name(dtype)) + "): " + describe() +
                                " has a gradient or a history; convert frozen leaves only");
  const Tensor converted = copy_contiguous(detach(), dtype);  // same device
  Storage& s = *storage_;
  if (s.allocator && s.data) s.allocator->release(s.data, s.bytes);
  s.keep_alive.reset();
  s.data = converted.storage_->data;
  s.bytes = converted.storage_->bytes;
  s.allocator = converted.storage_->allocator;
  s.dtype = dtype;
  converted.storage_->data = nullptr;  // ownership moved: its destructor releases nothing
  converted.storage_->allocator = nullptr;
}

// ---------------------------------------------------------------------------------------
// Host read-back

std::vector<double> Tensor::to_doubles() const {
  if (device().is_cpu()) count_host_read(device());  // to() counts the others
  Tensor host = device().is_cpu() ? *this : to(Device::cpu());
  Tensor flat = host.is_contiguous() ? host : copy_contiguous(host, dtype());
  std::vector<double> values(static_cast<size_t>(flat.numel()));
  for (int64_t i = 0; i < flat.numel(); ++i) values[i] = load_value(flat.raw_data(), flat.dtype(), i);
  return values;
}

double Tensor::item() const {
  if (numel() != 1)
    throw std::invalid_argument("item() of a tensor with " + std::to_string(numel()) + " elements (shape " + shape_str(shape_) +
                                ")");
  return to_doubles()[0];
}

double Tensor::at(const std::vector<int64_t>& index) const {
  if (int64_t(index.size()) != dim())
    throw std::invalid_argument("at(): " + std::to_string(index.size()) + " indices for shape " + shape_str(shape_));
  int64_t off = offset_;
  for (size_t d = 0; d < index.size(); ++d) {
    if (index[d] < 0 || index[d] >= shape_[d])
      throw std::invalid_argument("at(): index out of range for shape " + shape_str(shape_));
    off += index[d] * strides_[d];
  }
  Tensor one = make_view(*this, {}, {}, off);
  return one.to_doubles()[0];
}

}  // namespace frost
