// device.h: the engine's registry of devices: each device's allocator (Device and Allocator are in
// kernels/device.h), copies between devices, uploads the host does not wait for, pinned host
// memory, host-read counters and device selection. Memory use is measured, not guessed: tests and
// `frost bench` read the allocators' counters. A backend hands its devices to the registry
// (device.cpp) when first asked for one, so the tensor API never changes when a backend is added.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/device.h"

namespace frost {

// The allocator for a device; throws if no backend for that device type is compiled in or the
// index is out of range.
Allocator& allocator_for(Device device);

// Copies between devices (and within one).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

const AsyncCopyOps* async_copy_ops(Device device);  // null for the CPU, or with no such backend

// Page-locked host memory (a CPU allocator): host->device copies from it run at full bus speed,
// so the trainer stages batches there. Null when no CUDA device is visible.
Allocator* pinned_host_allocator();

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
