// device.cpp: device names and the allocators' byte counters.
#include "kernels/device.h"

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

}  // namespace frost
