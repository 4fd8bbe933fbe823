// host_device.h: FROST_HOST_DEVICE marks a function that CPU and CUDA kernels both compile
// (__host__ __device__ under nvcc, nothing for the host compiler).
#pragma once

#if defined(__CUDACC__)
#define FROST_HOST_DEVICE __host__ __device__
#else
#define FROST_HOST_DEVICE
#endif
