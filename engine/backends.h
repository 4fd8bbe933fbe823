// backends.h: the one header where the engine learns which kernel backends this build has (the
// other place is the device registry, engine/device.cpp). Every op reaches its kernels through
// FROST_KERNEL, so no op is written twice and none tests the build itself.
#pragma once
#include "kernels/cpu/attention.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/copy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/index.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"
#include "kernels/device.h"
#ifdef FROST_HAVE_CUDA
#include "kernels/cuda/backend.h"
#include "kernels/cuda/kernels.h"
#endif

// FROST_KERNEL(t, fn): the kernel `fn` (e.g. softmax_forward<T>) of the backend that holds tensor
// t: cpu::fn, or cuda::fn for a cuda:N tensor. Both backends declare it from one signature
// (kernels/api/<family>.inc), so a pointer to either has one type and a drift does not compile.
// For a cuda:N tensor it first makes device N current, so the kernel launches where its operands live.
#ifdef FROST_HAVE_CUDA
#define FROST_KERNEL(t, fn) (::frost::kernel_device((t).device()) ? &::frost::cuda::fn : &::frost::cpu::fn)
#else
#define FROST_KERNEL(t, fn) (&::frost::cpu::fn)
#endif

namespace frost {

#ifdef FROST_HAVE_CUDA
inline constexpr bool kCudaBuild = true;
// FROST_KERNEL's device step: true (and device N made current) for cuda:N.
inline bool kernel_device(Device d) {
  if (!d.is_cuda()) return false;
  cuda::set_device(d.index);
  return true;
}
#else
inline constexpr bool kCudaBuild = false;
#endif

}  // namespace frost
