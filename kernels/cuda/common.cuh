// common.cuh: what every CUDA kernel file shares: launch sizes, a grid-stride loop, warp and block
// reductions, up-to-8-d strided indexing (dims merged on the host first, as on the CPU), and
// scratch memory from the device's caching allocator (no cudaMalloc in a training step).
// Everything runs on the legacy default stream, so the caching allocator's reuse is ordered
// with the kernels that used a block before.
#pragma once
#include <cuda_runtime.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cpu/strided.h"
#include "kernels/cuda/backend.h"
#include "kernels/cuda/check.h"
#include "kernels/dtype.h"

namespace frost::cuda {

constexpr int kThreads = 256;

// The dtype of a kernel's element type (for copy_strided and fill inside kernels).
template <typename T>
constexpr DType storage_dtype() {
  return std::is_same_v<T, double> ? DType::f64 : std::is_same_v<T, bf16> ? DType::bf16 : DType::f32;
}

// Blocks for n elements at `threads` per block in a grid-stride loop (capped: each thread then
// takes several elements).
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return unsigned(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

#define FROST_GRID_LOOP(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < int64_t(n); i += int64_t(blockDim.x) * gridDim.x)

// After every launch: a bad configuration is reported where it happened (and, under
// FROST_CUDA_SYNC=1, a fault while it ran).
#define FROST_LAUNCH_CHECK()              \
  do {                                    \
    FROST_CUDA_CHECK(cudaGetLastError()); \
    FROST_SYNC_CHECK("kernel launch");    \
  } while (0)

struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct MaxOp {  // NaN never wins here; callers that need NaN to propagate get it through exp/sum
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return b > a ? b : a;
  }
};

template <typename T, typename Op>
__device__ inline T warp_reduce(T v, Op op) {
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Every thread of the block gets op over all threads' v. blockDim.x must be a multiple of 32
// (at most 1024). Safe to call several times in a row.
template <typename T, typename Op>
__device__ inline T block_reduce(T v, Op op, T identity) {
  __shared__ T partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // readers of the previous call are done with `partial`
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  return warp_reduce(lane < warps ? partial[lane] : identity, op);
}

// Up to 8 merged dims of N operands: element i of a row-major walk over `shape` -> offsets.
constexpr int kMaxDims = 8;
template <int N>
struct StridedArgs {
  int rank = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};

  __device__ inline void offsets(int64_t i, int64_t (&off)[N]) const {
    for (int o = 0; o < N; ++o) off[o] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t idx = i % shape[d];
      i /= shape[d];
      for (int o = 0; o < N; ++o) off[o] += idx * strides[o][d];
    }
  }
};

template <int N>
StridedArgs<N> strided_args(const cpu::Dims& shape, const std::array<cpu::Dims, N>& strides) {
  const cpu::StridedLayout<N> layout = cpu::merge_dims<N>(shape, strides);
  if (layout.shape.size() > size_t(kMaxDims))
    throw std::invalid_argument("cuda: a strided operand with " + std::to_string(layout.shape.size()) +
                                " non-mergeable dims (at most " + std::to_string(kMaxDims) + ")");
  StridedArgs<N> args;
  args.rank = int(layout.shape.size());
  for (int d = 0; d < args.rank; ++d) {
    args.shape[d] = layout.shape[d];
    for (int o = 0; o < N; ++o) args.strides[o][d] = layout.strides[o][d];
  }
  return args;
}

inline int64_t shape_numel_dims(const cpu::Dims& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

inline cpu::Dims contiguous_dims(const cpu::Dims& shape) {
  cpu::Dims strides(shape.size(), 1);
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d) strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

inline int current_device() {
  int device = 0;
  FROST_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

// Temporary device memory for one kernel call, from (and back to) the caching allocator.
class Scratch {
 public:
  explicit Scratch(size_t bytes)
      : allocator_(&device_allocator(current_device())), bytes_(bytes), ptr_(bytes ? allocator_->allocate(bytes) : nullptr) {}
  ~Scratch() {
    if (ptr_) allocator_->release(ptr_, bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  Allocator* allocator_;
  size_t bytes_;
  void* ptr_;
};

// Host data -> a scratch block (e.g. index tables built on the host).
template <typename T>
void upload(const Scratch& dst, const T* src, int64_t n) {
  if (n > 0) FROST_CUDA_CHECK(cudaMemcpy(dst.as<T>(), src, size_t(n) * sizeof(T), cudaMemcpyHostToDevice));
}

}  // namespace frost::cuda
