// caching_allocator.h: an Allocator that keeps released blocks for reuse instead of returning
// them to the device, so a training loop's steady state makes no device allocation at all (the
// CUDA backend's allocator; device-agnostic, so the CPU tests check its bookkeeping with a fake
// device). A request is rounded up to its size class: a multiple of 512 bytes up to 1 MiB, of
// 2 MiB above; a released block goes on its class's free list, and the next request of that class
// takes it. When the device refuses a request, every cached block is given back and the request
// retried once; if it fails again, the error names the device, the request and the live, peak
// and cached bytes. live/peak are the engine's counters (requested bytes, as the CPU's).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/device.h"

namespace frost {

class CachingAllocator : public Allocator {
 public:
  static size_t size_class(size_t bytes);
  size_t cached_bytes() const;
  int64_t device_allocations() const;  // device calls made so far (reuse does not count)
  void empty_cache();                  // gives every cached block back to the device
  // Tests: every block handed out is first filled with 0xFF bytes (NaN in every float dtype), so
  // a kernel that leaves part of its output unwritten fails its comparison.
  void set_poison(bool on);

 protected:
  // The device's own calls: device_allocate returns nullptr when the device is out of memory
  // (other failures throw).
  virtual void* device_allocate(size_t bytes) = 0;
  virtual void device_release(void* ptr, size_t bytes) = 0;
  virtual std::string device_name() const = 0;
  virtual void device_fill(void* ptr, size_t bytes, uint8_t value) = 0;

 private:
  void* raw_allocate(size_t bytes) override;
  void raw_release(void* ptr, size_t bytes) override;
  void empty_cache_locked();
  void* take_block(size_t bytes);

  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // by size class
  size_t cached_ = 0;
  int64_t device_allocations_ = 0;
  std::atomic<bool> poison_{false};
};

}  // namespace frost
