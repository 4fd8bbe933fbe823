// device.h: where a tensor lives ("cpu" or "cuda:N") and the per-device allocator with live
// and peak byte counters. Memory use is measured, not guessed: tests and `frost bench` read
// these counters. A backend registers its allocator for its device type at start-up, so the
// tensor API never changes when a backend is added.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

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

// The allocator for a device; throws if no backend for that device type is compiled in or the
// index is out of range.
Allocator& allocator_for(Device device);
// Backends call this once (kernels/cuda registers cuda devices when built with CUDA).
void register_allocator(Device device, Allocator* allocator);

// Copies between devices (and within one). Backends register their copy routine.
using CopyFn = void (*)(void* dst, Device dst_device, const void* src, Device src_device,
                        size_t bytes);
void register_copy(DeviceType type, CopyFn fn);
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

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
void register_async_copy(DeviceType type, const AsyncCopyOps& ops);
const AsyncCopyOps* async_copy_ops(Device device);  // null for the CPU, or with no such backend

// Page-locked host memory (a CPU allocator): host->device copies from it run at full bus speed,
// so the trainer stages batches there. Null when no CUDA device is visible.
Allocator* pinned_host_allocator();
void register_pinned_allocator(Allocator* allocator);

// Host reads: each request to see tensor data on the host (item(), to_doubles(), a copy to the
// CPU). On a GPU each one waits for the device (a synchronisation inside a step). They are
// counted on every backend, a CPU tensor's too, so that a step's count is the same code path's
// count without a GPU: `frost bench step` reports it per step.
void count_host_read(Device from);
int64_t host_reads(Device from);  // since the process started
int64_t host_reads_total();       // every device

// Makes `device` the one kernels launch on from this thread (cudaSetDevice); the CPU: nothing.
void select_device(Device device);
// Waits until every kernel launched on `device` has finished (timing); the CPU: nothing.
void synchronize(Device device);

}  // namespace frost
