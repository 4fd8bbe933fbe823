// device.cu: the CUDA device allocator (a CachingAllocator over cudaMalloc/cudaFree: no cudaMalloc
// in a training loop's steady state; out of memory is an error naming the request and the
// live/peak bytes), host/device copies (pinned staging for host->device; uploads on a copy stream
// that the host does not wait for), and device selection.
// The op kernels are in the other .cu files of this folder (kernels.h).
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/caching_allocator.h"
#include "kernels/cuda/backend.h"
#include "kernels/cuda/check.h"

// The caching allocator hands a released block to the next request at once, with no event: that
// is safe only because every kernel, copy and cuBLASLt call runs on the legacy default stream,
// which orders them after whatever used the block before. Per-thread default streams (nvcc
// --default-stream per-thread) would break that ordering silently; they are refused until blocks
// carry the stream events that would make them safe.
#if defined(CUDA_API_PER_THREAD_DEFAULT_STREAM)
#error "frost's CUDA allocator assumes the legacy default stream: build without --default-stream per-thread"
#endif

namespace frost::cuda {

namespace {

class CudaAllocator final : public CachingAllocator {
 public:
  explicit CudaAllocator(int device) : device_(device) {}

 protected:
  void* device_allocate(size_t bytes) override {
    int previous = 0;  // allocate on our device without changing the caller's current one
    FROST_CUDA_CHECK(cudaGetDevice(&previous));
    FROST_CUDA_CHECK(cudaSetDevice(device_));
    void* ptr = nullptr;
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    FROST_CUDA_CHECK(cudaSetDevice(previous));
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it: out of memory is reported by the caching allocator
      return nullptr;
    }
    FROST_CUDA_CHECK(status);
    return ptr;
  }
  void device_release(void* ptr, size_t) override {
    if (ptr) cudaFree(ptr);  // never throws from a destructor path
  }
  std::string device_name() const override { return "cuda:" + std::to_string(device_); }
  void device_fill(void* ptr, size_t bytes, uint8_t value) override { FROST_CUDA_CHECK(cudaMemset(ptr, value, bytes)); }

 private:
  int device_;
};

// Page-locked host blocks, cached like device blocks (cudaHostAlloc is slow).
class PinnedAllocator final : public CachingAllocator {
 protected:
  void* device_allocate(size_t bytes) override {
    void* ptr = nullptr;
    const cudaError_t status = cudaHostAlloc(&ptr, bytes, cudaHostAllocDefault);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      return nullptr;
    }
    FROST_CUDA_CHECK(status);
    return ptr;
  }
  void device_release(void* ptr, size_t) override {
    if (ptr) cudaFreeHost(ptr);
  }
  std::string device_name() const override { return "pinned host memory"; }
  void device_fill(void* ptr, size_t bytes, uint8_t value) override { std::memset(ptr, value, bytes); }
};

void cuda_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  cudaMemcpyKind kind = cudaMemcpyDefault;
  if (dst_device.is_cpu())
    kind = cudaMemcpyDeviceToHost;
  else if (src_device.is_cpu())
    kind = cudaMemcpyHostToDevice;
  else
    kind = cudaMemcpyDeviceToDevice;
  FROST_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}

// Uploads the host does not wait for, on one non-blocking copy stream per device. A copy first
// waits for everything queued on the legacy stream so far: its destination block may have just
// come back to the caching allocator from that work (the contract above stays true). The ticket
// is the event recorded after the copy.
cudaStream_t copy_stream(int device) {
  static std::mutex mutex;
  static std::vector<cudaStream_t> streams;
  std::lock_guard<std::mutex> lock(mutex);
  if (streams.size() <= size_t(device)) streams.resize(size_t(device) + 1, nullptr);
  if (!streams[size_t(device)]) FROST_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[size_t(device)], cudaStreamNonBlocking));
  return streams[size_t(device)];
}

void* queue_upload(void* dst, Device dst_device, const void* src, size_t bytes) {
  set_device(dst_device.index);
  const cudaStream_t stream = copy_stream(dst_device.index);
  cudaEvent_t queued = nullptr, done = nullptr;
  FROST_CUDA_CHECK(cudaEventCreateWithFlags(&queued, cudaEventDisableTiming));
  FROST_CUDA_CHECK(cudaEventRecord(queued, cudaStreamLegacy));
  FROST_CUDA_CHECK(cudaStreamWaitEvent(stream, queued, 0));
  FROST_CUDA_CHECK(cudaEventDestroy(queued));  // released once the wait is satisfied
  FROST_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  FROST_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  FROST_CUDA_CHECK(cudaEventRecord(done, stream));
  FROST_SYNC_CHECK("cudaMemcpyAsync (upload)");
  return done;
}

void compute_waits(void* ticket) { FROST_CUDA_CHECK(cudaStreamWaitEvent(cudaStreamLegacy, static_cast<cudaEvent_t>(ticket), 0)); }
void host_waits(void* ticket) { FROST_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(ticket))); }
void release_ticket(void* ticket) { cudaEventDestroy(static_cast<cudaEvent_t>(ticket)); }  // never throws

}  // namespace

const BackendDevices& backend_devices() {
  static const BackendDevices devices = [] {
    BackendDevices d;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) count = 0;
    static std::vector<std::unique_ptr<CudaAllocator>> allocators;
    for (int i = 0; i < count; ++i) {
      allocators.push_back(std::make_unique<CudaAllocator>(i));
      d.allocators.push_back(allocators.back().get());
    }
    d.copy = cuda_copy;
    d.async = AsyncCopyOps{queue_upload, compute_waits, host_waits, release_ticket};
    if (count > 0) {
      static PinnedAllocator pinned;
      d.pinned = &pinned;
      cublasLtHandle_t handle;  // cuBLASLt must come up wherever a device does
      FROST_CUBLAS_CHECK(cublasLtCreate(&handle));
      FROST_CUBLAS_CHECK(cublasLtDestroy(handle));
    }
    return d;
  }();
  return devices;
}

int device_count() { return int(backend_devices().allocators.size()); }

Allocator& device_allocator(int index) {
  const std::vector<Allocator*>& all = backend_devices().allocators;
  if (index < 0 || size_t(index) >= all.size())
    throw std::runtime_error("cuda:" + std::to_string(index) + ": no such device (" + std::to_string(all.size()) + " visible)");
  return *all[size_t(index)];
}

void set_device(int index) {
  int current = -1;
  FROST_CUDA_CHECK(cudaGetDevice(&current));  // a host-side query: no synchronisation
  if (current != index) FROST_CUDA_CHECK(cudaSetDevice(index));
}

void synchronize_device() { FROST_CUDA_CHECK(cudaDeviceSynchronize()); }

std::string device_name(int index) {
  cudaDeviceProp prop{};
  FROST_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return prop.name;
}

EventTimer::EventTimer() {
  cudaEvent_t a = nullptr, b = nullptr;
  FROST_CUDA_CHECK(cudaEventCreate(&a));
  FROST_CUDA_CHECK(cudaEventCreate(&b));
  start_ = a;
  stop_ = b;
}

EventTimer::~EventTimer() {
  cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}

void EventTimer::start() { FROST_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(start_), 0)); }

double EventTimer::stop_ms() {
  FROST_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(stop_), 0));
  FROST_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(stop_)));
  float ms = 0;
  FROST_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), static_cast<cudaEvent_t>(stop_)));
  return ms;
}

}  // namespace frost::cuda
