// tensor.h: Tensor, a small value type viewing refcounted Storage through shape, element strides
// and an element offset (c10's TensorImpl/StorageImpl split, ggml's ne/nb). Copies of a Tensor
// share storage and autograd identity; views share storage only. Autograd state lives in a
// separate AutogradMeta (engine/autograd.h), created only for tensors that take part in it.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "kernels/dtype.h"

namespace frost {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);  // "[2, 3, 4]"
int64_t shape_numel(const Shape& shape);

// A block of elements of one dtype on one device. Owned storage goes back to its allocator; external storage
// (a memory-mapped file) is kept alive by `keep_alive` and counted by no allocator.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device;
  DType dtype = DType::f32;  // of every element (views never reinterpret the bytes)
  Allocator* allocator = nullptr;
  std::shared_ptr<void> keep_alive;
  ~Storage();
};

struct AutogradMeta;
class Node;

class Tensor {
 public:
  Tensor() = default;

  // ---- creation (contiguous, on `device`) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  // A CPU tensor in page-locked memory (pinned_host_allocator), or ordinary CPU memory without one.
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::f32);
  // A 1-d i64 tensor of exactly these values, on `device` (labels, index tables).
  static Tensor from_indices(const std::vector<int64_t>& values, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor arange(int64_t n, DType dtype = DType::i64, Device device = Device::cpu());
  // Copies `values` (converted to dtype) into a new CPU tensor of `shape`.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::f32);
  // Wraps memory owned elsewhere (e.g. an mmap) without copying.
  static Tensor from_external(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<void> keep_alive);

  // ---- metadata ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t dim() const { return int64_t(shape_.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return storage_ ? storage_->dtype : DType::f32; }
  Device device() const { return storage_ ? storage_->device : Device::cpu(); }
  bool is_contiguous() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype()); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  std::string describe() const;  // "f32[2, 3] cpu"

  // Raw element pointer (offset applied). typed_data<T>() checks that T matches the dtype.
  void* raw_data() const;
  template <typename T>
  T* typed_data() const;

  // ---- views (differentiable; defined in engine/ops_shape.cpp) ----
  Tensor view(const Shape& shape) const;     // needs compatible strides; -1 infers one size
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor expand(const Shape& shape) const;  // broadcast size-1 dims (stride 0)
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor contiguous() const;  // itself if already contiguous

  // ---- conversion (differentiable for float dtypes on the same device) ----
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor clone() const;
  // Moves this tensor's whole storage to `device` in place: every handle and view sharing it
  // follows, and so do its gradient and gradient mask. How a model's parameters go to a GPU
  // (Module::to): wrappers that adopted a parameter keep pointing at the same tensor.
  void move_storage_to(Device device);
  // Converts this tensor's whole storage to `dtype` in place, every handle following: how a frozen
  // weight is stored once in bf16 under mixed precision (Model::set_precision). The tensor must
  // cover its storage contiguously (a parameter does) and must not have a gradient.
  void convert_storage_to(DType dtype);

  // ---- autograd (engine/autograd.cpp) ----
  bool requires_grad() const;
  Tensor& set_requires_grad(bool value);  // only on leaves
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward reaches this leaf
  void zero_grad();     // drops the gradient buffer
  // 0/1 mask, same shape as this parameter: masked (0) entries get zero gradient and are never
  // changed by an optimizer. Any numeric dtype; stored as this tensor's dtype.
  void set_grad_mask(const Tensor& mask);
  Tensor grad_mask() const;
  std::shared_ptr<Node> grad_fn() const;
  Tensor detach() const;  // same storage, no autograd history
  void backward() const;  // of a one-element tensor
  void backward(const Tensor& grad_output) const;
  const std::shared_ptr<AutogradMeta>& meta() const { return meta_; }
  AutogradMeta& ensure_meta();

  // ---- reading values (any device, any dtype; copies to the host) ----
  double item() const;                     // a one-element tensor's value
  std::vector<double> to_doubles() const;  // row-major over the logical shape
  double at(const std::vector<int64_t>& index) const;

 private:
  static Tensor empty_from(const Shape& shape, DType dtype, Device device, Allocator& allocator);
  friend Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;  // in elements
  int64_t offset_ = 0;
  std::shared_ptr<AutogradMeta> meta_;
};

// A view of base's storage with new geometry and no autograd history (ops attach it).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);
Shape contiguous_strides(const Shape& shape);
int64_t normalize_dim(int64_t dim, int64_t rank, const char* what);  // throws naming `what`

template <typename T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::f64;
};
template <>
struct dtype_of<bf16> {
  static constexpr DType value = DType::bf16;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::i64;
};
template <>
struct dtype_of<uint8_t> {
  static constexpr DType value = DType::u8;
};

void check_dtype_matches(const Tensor& t, DType expected);

template <typename T>
T* Tensor::typed_data() const {
  check_dtype_matches(*this, dtype_of<T>::value);
  return static_cast<T*>(raw_data());
}

}  // namespace frost
