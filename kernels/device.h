// device.h: what a backend and its allocators need of a device, below the engine: where memory
// lives ("cpu" or "cuda:N"), an allocator with live and peak byte counters, and what a backend
// hands the engine's registry (engine/device.h) for its devices: their allocators, its copy
// routine, its uploads the host does not wait for, and its pinned host allocator.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace frost {

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
  static Device parse(const std::string& text);  // "cpu", "cuda", "cuda:1"; throws naming the text
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  std::string str() const;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// One allocator per device. Counters are in bytes and count only what this allocator handed
// out (a memory-mapped checkpoint is not "live" memory).
class Allocator {
 public:
  virtual ~Allocator() = default;
  void* allocate(size_t bytes);
  void release(void* ptr, size_t bytes);
  size_t live_bytes() const { return live_.load(); }
  size_t peak_bytes() const { return peak_.load(); }
  void reset_peak() { peak_.store(live_.load()); }
  // Bytes handed out since the process started (never decreases): what a span of code allocated.
  size_t allocated_total() const { return total_.load(std::memory_order_relaxed); }

 protected:
  virtual void* raw_allocate(size_t bytes) = 0;
  virtual void raw_release(void* ptr, size_t bytes) = 0;

 private:
  std::atomic<size_t> live_{0};
  std::atomic<size_t> peak_{0};
  std::atomic<size_t> total_{0};
};

// The CPU's allocator: host tensors and the CPU kernels' scratch (so its peak counts both).
Allocator& cpu_allocator();

// dst <- src, `bytes` bytes, between any two devices of the backend (and the host).
using CopyFn = void (*)(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

// A backend's host -> device copies that the host does not wait for (engine/upload.h uses them).
// queue: copies `bytes` from page-locked `src` to `dst` on the device's copy stream, after all the
// work queued so far on the compute stream, and returns a ticket; compute_waits: the compute
// stream's next work waits for that copy; host_waits: the host waits for it (src may be reused);
// release: frees the ticket.
struct AsyncCopyOps {
  void* (*queue)(void* dst, Device dst_device, const void* src, size_t bytes) = nullptr;
  void (*compute_waits)(void* ticket) = nullptr;
  void (*host_waits)(void* ticket) = nullptr;
  void (*release)(void* ticket) = nullptr;
};

// What a backend offers for its device type: one allocator per device (index = device index),
// copies, uploads, and page-locked host memory (null when it has none).
struct BackendDevices {
  std::vector<Allocator*> allocators;
  CopyFn copy = nullptr;
  AsyncCopyOps async;
  Allocator* pinned = nullptr;
};

}  // namespace frost
