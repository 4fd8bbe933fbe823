// caching_allocator.cpp: see caching_allocator.h.
#include "kernels/caching_allocator.h"

#include <new>
#include <stdexcept>

namespace frost {

namespace {
std::string mib(size_t bytes) { return std::to_string(double(bytes) / (1024.0 * 1024.0)).substr(0, 8) + " MiB"; }
}  // namespace

size_t CachingAllocator::size_class(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20, kSmallLimit = size_t(1) << 20;
  if (bytes == 0) return kSmall;
  if (bytes <= kSmallLimit) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

size_t CachingAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_;
}

int64_t CachingAllocator::device_allocations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return device_allocations_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  empty_cache_locked();
}

void CachingAllocator::empty_cache_locked() {
  for (auto& [size, blocks] : free_)
    for (void* p : blocks) device_release(p, size);
  free_.clear();
  cached_ = 0;
}

void CachingAllocator::set_poison(bool on) { poison_ = on; }

void* CachingAllocator::raw_allocate(size_t bytes) {
  void* p = take_block(bytes);
  if (poison_) device_fill(p, size_class(bytes), 0xFF);
  return p;
}

void* CachingAllocator::take_block(size_t bytes) {
  const size_t size = size_class(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= size;
    return p;
  }
  void* p = device_allocate(size);
  if (!p && cached_ > 0) {  // out of memory: give the cache back and try once more
    empty_cache_locked();
    p = device_allocate(size);
  }
  if (!p)
    throw std::runtime_error(device_name() + ": out of memory allocating " + std::to_string(bytes) + " bytes (" + mib(size) +
                             " block); live " + mib(live_bytes()) + ", peak " + mib(peak_bytes()) + ", cache emptied");
  ++device_allocations_;
  return p;
}

void CachingAllocator::raw_release(void* ptr, size_t bytes) {
  if (!ptr) return;
  const size_t size = size_class(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  free_[size].push_back(ptr);
  cached_ += size;
}

}  // namespace frost
