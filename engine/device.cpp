// device.cpp: device parsing, the CPU allocator (64-byte aligned, for AVX-512 loads) and the
// registry of per-device allocators and copy routines.
#include "engine/device.h"

#ifdef FROST_HAVE_CUDA
#include "kernels/cuda/backend.h"
#endif

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

namespace frost {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5) {
    size_t used = 0;
    int index = -1;
    try {
      index = std::stoi(text.substr(5), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == text.size() - 5 && index >= 0) return cuda(index);
  }
  throw std::invalid_argument("unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
}

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

void* Allocator::allocate(size_t bytes) {
  void* ptr = raw_allocate(bytes);
  size_t live = live_.fetch_add(bytes) + bytes;
  total_.fetch_add(bytes, std::memory_order_relaxed);
  size_t peak = peak_.load();
  while (live > peak && !peak_.compare_exchange_weak(peak, live)) {
  }
  return ptr;
}

void Allocator::release(void* ptr, size_t bytes) {
  raw_release(ptr, bytes);
  live_.fetch_sub(bytes);
}

namespace {

class CpuAllocator final : public Allocator {
 public:
  // Keep freed blocks in the heap instead of returning them to the kernel: tensors of the same
  // sizes come and go every step, and a fresh mmap costs a page fault per 4 KiB touched.
  CpuAllocator() {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }

 protected:
  void* raw_allocate(size_t bytes) override {
    size_t rounded = (bytes + 63) / 64 * 64;
    void* ptr = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!ptr) throw std::bad_alloc();
    return ptr;
  }
  void raw_release(void* ptr, size_t) override { std::free(ptr); }
};

struct Registry {
  std::mutex mutex;
  std::vector<Allocator*> cuda_allocators;
  CopyFn cuda_copy = nullptr;
  AsyncCopyOps cuda_async;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

Allocator& allocator_for(Device device) {
  static CpuAllocator cpu_allocator;
  if (device.is_cpu()) return cpu_allocator;
#ifdef FROST_HAVE_CUDA
  cuda::register_backend();
#endif
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.cuda_allocators.empty()) {
#ifdef FROST_HAVE_CUDA
    throw std::runtime_error("device " + device.str() + ": no CUDA device is visible (no driver or no GPU on this machine)");
#else
    throw std::runtime_error("device " + device.str() +
                             ": this build of frost has no CUDA backend (rebuild with -Dcuda=enabled)");
#endif
  }
  if (device.index < 0 || size_t(device.index) >= r.cuda_allocators.size() ||
      !r.cuda_allocators[device.index])
    throw std::runtime_error("device " + device.str() + ": no such device (" +
                             std::to_string(r.cuda_allocators.size()) + " CUDA devices visible)");
  return *r.cuda_allocators[device.index];
}

void register_allocator(Device device, Allocator* allocator) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (device.is_cpu()) throw std::logic_error("the CPU allocator is built in");
  if (r.cuda_allocators.size() <= size_t(device.index)) r.cuda_allocators.resize(device.index + 1);
  r.cuda_allocators[device.index] = allocator;
}

void register_copy(DeviceType type, CopyFn fn) {
  if (type == DeviceType::cuda) registry().cuda_copy = fn;
}

void register_async_copy(DeviceType type, const AsyncCopyOps& ops) {
  if (type == DeviceType::cuda) registry().cuda_async = ops;
}

const AsyncCopyOps* async_copy_ops(Device device) {
  if (device.is_cpu()) return nullptr;
  allocator_for(device);  // brings the backend up; throws naming a device that is not there
  const AsyncCopyOps& ops = registry().cuda_async;
  return ops.queue ? &ops : nullptr;
}

namespace {
Allocator* g_pinned = nullptr;
}

Allocator* pinned_host_allocator() {
#ifdef FROST_HAVE_CUDA
  cuda::register_backend();
#endif
  return g_pinned;
}

void register_pinned_allocator(Allocator* allocator) { g_pinned = allocator; }

void select_device(Device device) {
  if (device.is_cpu()) return;
  allocator_for(device);  // checks the backend and the index
#ifdef FROST_HAVE_CUDA
  cuda::set_device(device.index);
#endif
}

void synchronize(Device device) {
  if (device.is_cpu()) return;
  select_device(device);
#ifdef FROST_HAVE_CUDA
  cuda::synchronize_device();
#endif
}

namespace {
constexpr int kCountedDevices = 17;  // the CPU, then cuda:0..15 (more share the last slot)
std::atomic<int64_t> g_host_reads[kCountedDevices];
int host_read_slot(Device d) { return d.is_cpu() ? 0 : 1 + (d.index < kCountedDevices - 2 ? d.index : kCountedDevices - 2); }
}  // namespace

void count_host_read(Device from) { g_host_reads[host_read_slot(from)].fetch_add(1, std::memory_order_relaxed); }
int64_t host_reads(Device from) { return g_host_reads[host_read_slot(from)].load(std::memory_order_relaxed); }
int64_t host_reads_total() {
  int64_t n = 0;
  for (const auto& c : g_host_reads) n += c.load(std::memory_order_relaxed);
  return n;
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef FROST_HAVE_CUDA
  cuda::register_backend();
#endif
  CopyFn fn = registry().cuda_copy;
  if (!fn)
    throw std::runtime_error("copy " + src_device.str() + " -> " + dst_device.str() +
                             ": this build of frost has no CUDA backend");
  fn(dst, dst_device, src, src_device, bytes);
}

}  // namespace frost
