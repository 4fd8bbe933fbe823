// backend.h: the CUDA backend's entry points seen from the engine (compiled only with CUDA).
#pragma once
#include <string>

#include "kernels/device.h"

namespace frost::cuda {

// Every visible device's allocator, the copy routine, uploads and pinned host memory, set up on
// the first call (no allocators when no driver or GPU is present: then cuda:N tensors throw
// clearly). The engine's registry (engine/device.cpp) asks for them.
const BackendDevices& backend_devices();
int device_count();
// The caching allocator of device `index` (kernels' scratch: counted in its live and peak bytes).
Allocator& device_allocator(int index);
// Makes device `index` current unless it already is (cudaSetDevice, checked). Every op's kernel
// call goes through it (FROST_KERNEL): kernels launch on the current device, which must be the
// one that holds the operands.
void set_device(int index);
void synchronize_device();           // cudaDeviceSynchronize, checked
std::string device_name(int index);  // "NVIDIA H200", from cudaGetDeviceProperties

// Times work on the current device's default stream with CUDA events (benchmarks).
class EventTimer {
 public:
  EventTimer();
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void start();
  double stop_ms();  // waits for the stop event; milliseconds since start()

 private:
  void* start_ = nullptr;
  void* stop_ = nullptr;
};

}  // namespace frost::cuda
