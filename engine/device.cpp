// device.cpp: the registry of devices: the CPU's allocator (kernels/device.h) and the CUDA
// backend's devices (kernels/cuda/backend.h) when the build has one.
#include "engine/device.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

#include "engine/backends.h"

namespace frost {

namespace {

// The CUDA backend's devices, asked for once (none without CUDA in the build or without a GPU).
const BackendDevices& cuda_devices() {
#ifdef FROST_HAVE_CUDA
  return cuda::backend_devices();
#else
  static const BackendDevices none;
  return none;
#endif
}

}  // namespace

Allocator& allocator_for(Device device) {
  if (device.is_cpu()) return cpu_allocator();
  const std::vector<Allocator*>& all = cuda_devices().allocators;
  if (all.empty())
    throw std::runtime_error("device " + device.str() +
                             (kCudaBuild ? ": no CUDA device is visible (no driver or no GPU on this machine)"
                                         : ": this build of frost has no CUDA backend (rebuild with -Dcuda=enabled)"));
  if (device.index < 0 || size_t(device.index) >= all.size() || !all[size_t(device.index)])
    throw std::runtime_error("device " + device.str() + ": no such device (" + std::to_string(all.size()) +
                             " CUDA devices visible)");
  return *all[size_t(device.index)];
}

const AsyncCopyOps* async_copy_ops(Device device) {
  if (device.is_cpu()) return nullptr;
  allocator_for(device);  // throws naming a device that is not there
  const AsyncCopyOps& ops = cuda_devices().async;
  return ops.queue ? &ops : nullptr;
}

Allocator* pinned_host_allocator() { return cuda_devices().pinned; }

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
  const CopyFn fn = cuda_devices().copy;
  if (!fn)
    throw std::runtime_error("copy " + src_device.str() + " -> " + dst_device.str() +
                             ": this build of frost has no CUDA backend");
  fn(dst, dst_device, src, src_device, bytes);
}

}  // namespace frost
