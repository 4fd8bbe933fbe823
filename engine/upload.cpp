// upload.cpp: the staging ring behind Uploader (upload.h).
#include "engine/upload.h"

#include <cstring>
#include <stdexcept>

namespace frost {

namespace {

std::shared_ptr<void> make_ticket(const AsyncCopyOps* ops, void* ticket) {
  return std::shared_ptr<void>(ticket, [ops](void* t) { ops->release(t); });
}

}  // namespace

PendingUpload& PendingUpload::operator=(PendingUpload&& other) noexcept {
  if (this != &other) {
    wait_quietly();
    tensor_ = std::move(other.tensor_);
    ticket_ = std::move(other.ticket_);
  }
  return *this;
}

PendingUpload::~PendingUpload() { wait_quietly(); }

void PendingUpload::wait() {
  if (!ticket_) return;
  async_copy_ops(tensor_.device())->compute_waits(ticket_.get());
  ticket_.reset();
}

// A destructor path: compute_waits only queues a wait, and a failing device reports itself at its
// next synchronising call.
void PendingUpload::wait_quietly() noexcept {
  try {
    wait();
  } catch (...) {
    ticket_.reset();
  }
}

Tensor PendingUpload::take() {
  if (!tensor_.defined()) throw std::logic_error("PendingUpload::take: nothing staged, or already taken");
  wait();
  return std::move(tensor_);
}

Uploader::Uploader(Device device, int buffers) : device_(device), slots_(size_t(buffers < 1 ? 1 : buffers)) {}

PendingUpload Uploader::stage(const void* data, const Shape& shape, DType dtype) {
  PendingUpload p;
  const AsyncCopyOps* ops = async_copy_ops(device_);
  const size_t bytes = size_t(shape_numel(shape)) * dtype_size(dtype);
  if (!ops) {  // the CPU: the copy is the upload
    p.tensor_ = Tensor::empty(shape, dtype, device_);
    copy_bytes(p.tensor_.raw_data(), device_, data, Device::cpu(), bytes);
    return p;
  }
  Slot& slot = slots_[next_++ % slots_.size()];
  if (slot.ticket) ops->host_waits(slot.ticket.get());  // that copy has read the buffer
  if (!slot.pinned.defined() || slot.pinned.nbytes() < bytes) slot.pinned = Tensor::empty_pinned({int64_t(bytes)}, DType::u8);
  if (bytes) std::memcpy(slot.pinned.raw_data(), data, bytes);
  p.tensor_ = Tensor::empty(shape, dtype, device_);
  if (bytes == 0) return p;
  p.ticket_ = make_ticket(ops, ops->queue(p.tensor_.raw_data(), device_, slot.pinned.raw_data(), bytes));
  slot.ticket = p.ticket_;
  return p;
}

}  // namespace frost
