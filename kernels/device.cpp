// device.cpp: device names, the allocators' byte counters and the CPU allocator (64-byte
// aligned, for AVX-512 loads).
#include "kernels/device.h"

#include <malloc.h>

#include <cstdlib>
#include <new>
#include <stdexcept>

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

std::string Device::str() const { return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index); }

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

}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator allocator;
  return allocator;
}

}  // namespace frost
