// upload.h: host batches to a device without the host waiting for the copy. Uploader::stage copies
// the data into one of its page-locked staging buffers and queues the copy on the device's copy
// stream, after the work already queued on the compute stream (engine/device.h AsyncCopyOps), so
// a batch staged before a step is queued travels while that step runs. PendingUpload::take makes
// the compute stream wait for the copy and hands the tensor over. A staging buffer is written
// again only after its previous copy is done (the host waits for that copy, long finished when
// the buffers outnumber the batches in flight). On the CPU, stage copies and take returns the copy.
#pragma once
#include <memory>
#include <vector>

#include "engine/tensor.h"

namespace frost {

class PendingUpload {
 public:
  PendingUpload() = default;
  PendingUpload(PendingUpload&&) noexcept = default;
  PendingUpload& operator=(PendingUpload&& other) noexcept;
  PendingUpload(const PendingUpload&) = delete;
  PendingUpload& operator=(const PendingUpload&) = delete;
  ~PendingUpload();  // not taken: the compute stream waits all the same (the block may be reused)
  bool defined() const { return tensor_.defined(); }
  Tensor take();  // the compute stream's next work sees the uploaded data

 private:
  friend class Uploader;
  void wait();  // the compute stream waits for the copy (once)
  void wait_quietly() noexcept;
  Tensor tensor_;
  std::shared_ptr<void> ticket_;
};

class Uploader {
 public:
  explicit Uploader(Device device, int buffers = 3);
  // Queues an upload of `shape` elements of `dtype` from host memory at `data`; returns at once.
  PendingUpload stage(const void* data, const Shape& shape, DType dtype);
  Device device() const { return device_; }

 private:
  struct Slot {
    Tensor pinned;
    std::shared_ptr<void> ticket;  // of the copy that last read `pinned`
  };
  Device device_;
  std::vector<Slot> slots_;
  size_t next_ = 0;
};

}  // namespace frost
