// backend.h: the CUDA backend's entry points seen from the engine (compiled only with CUDA).
#pragma once

namespace frost::cuda {

// Registers an allocator and the copy routine for every visible device; idempotent. Returns the
// number of devices (0 when no driver or GPU is present: then cuda:N tensors throw clearly).
int register_backend();
int device_count();
void set_device(int index);  // cudaSetDevice, checked
void synchronize_device();   // cudaDeviceSynchronize, checked

}  // namespace frost::cuda
