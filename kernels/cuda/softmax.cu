// softmax.cu: softmax / log_softmax over the last dim of a contiguous [rows, C] and the fused
// cross-entropy (formulas in kernels/cpu/softmax.h). One block per row; max by a block
// reduction, sums in double. A fully masked row (max = -inf) is all zeros, as on the CPU.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/math.cuh"

namespace frost::cuda {

namespace {

constexpr int kRowThreads = 128;

template <typename T>
__device__ inline T row_max(const T* xr, int64_t C) {
  T m = T(-INFINITY);
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = MaxOp{}(m, xr[c]);
  return block_reduce(m, MaxOp{}, T(-INFINITY));
}

// log sum exp over the row, in double (m = +-inf: the row's max itself).
template <typename T>
__device__ inline double row_lse(const T* xr, int64_t C) {
  const T m = row_max(xr, C);
  double sum = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sum += double(d_exp(T(xr[c] - m)));
  sum = block_reduce(sum, SumOp{}, 0.0);
  if (isinf(m)) return double(m);
  return log(sum) + double(m);
}

template <typename T>
__global__ void softmax_forward_kernel(const T* x, int64_t rows, int64_t C, T* y) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    const T m = row_max(xr, C);
    if (isinf(m) && m < T(0)) {
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] = T(0);
      continue;
    }
    double sum = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const T e = d_exp(T(xr[c] - m));
      yr[c] = e;  // y may alias x: each element is read before it is written, by one thread
      sum += double(e);
    }
    const T inv = T(1.0 / block_reduce(sum, SumOp{}, 0.0));
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] *= inv;
  }
}

template <typename T>
__global__ void softmax_backward_kernel(const T* y, const T* dy, int64_t rows, int64_t C, T* dx) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* yr = y + r * C;
    const T* dyr = dy + r * C;
    double dot = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dot += double(dyr[c]) * double(yr[c]);
    const T d = T(block_reduce(dot, SumOp{}, 0.0));
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dx[r * C + c] = yr[c] * (dyr[c] - d);
  }
}

template <typename T>
__global__ void log_softmax_forward_kernel(const T* x, int64_t rows, int64_t C, T* y) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const double lse = row_lse(x + r * C, C);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) y[r * C + c] = T(double(x[r * C + c]) - lse);
  }
}

template <typename T>
__global__ void log_softmax_backward_kernel(const T* y, const T* dy, int64_t rows, int64_t C, T* dx) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double sum = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sum += double(dy[r * C + c]);
    const T s = T(block_reduce(sum, SumOp{}, 0.0));
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dx[r * C + c] = dy[r * C + c] - d_exp(y[r * C + c]) * s;
  }
}

// Target distribution q: labels with smoothing, or given soft targets; q_sum = sum_c q_c.
template <typename T>
__global__ void cross_entropy_forward_kernel(const T* logits, const int64_t* labels, const T* soft, double smoothing,
                                             int64_t rows, int64_t C, T* loss, double* lse) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = logits + r * C;
    const double l = row_lse(xr, C);
    double x_sum = 0, dot = 0, q_sum = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      x_sum += double(xr[c]);
      if (soft) {
        dot += double(soft[r * C + c]) * double(xr[c]);
        q_sum += double(soft[r * C + c]);
      }
    }
    x_sum = block_reduce(x_sum, SumOp{}, 0.0);
    dot = block_reduce(dot, SumOp{}, 0.0);
    q_sum = block_reduce(q_sum, SumOp{}, 0.0);
    if (labels) {
      const int64_t y = labels[r];  // the engine does not read device labels back: out of range is NaN here
      dot = y >= 0 && y < C ? (1.0 - smoothing) * double(xr[y]) + smoothing / double(C) * x_sum : NAN;
      q_sum = 1.0;
    }
    if (threadIdx.x == 0) {
      lse[r] = l;
      loss[r] = T(q_sum * l - dot);
    }
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* logits, const double* lse, const int64_t* labels, const T* soft,
                                              double smoothing, const T* row_grad, int64_t rows, int64_t C, T* dlogits) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = logits + r * C;
    double q_sum = 1.0;
    if (soft) {
      double s = 0;
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += double(soft[r * C + c]);
      q_sum = block_reduce(s, SumOp{}, 0.0);
    }
    const double g = double(row_grad[r]);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const double q = labels ? smoothing / double(C) + (c == labels[r] ? 1.0 - smoothing : 0.0) : double(soft[r * C + c]);
      dlogits[r * C + c] = T(g * (q_sum * exp(double(xr[c]) - lse[r]) - q));
    }
  }
}

// Rows of no classes still get their outputs written where a row has one (the cross-entropy's
// loss and log-sum-exp: the kernels' loops over C are then empty); the others have no elements.
template <typename Kernel, typename... Args>
void launch_rows(Kernel kernel, int64_t rows, int64_t C, bool per_row_output, Args... args) {
  if (rows == 0 || (C == 0 && !per_row_output)) return;
  kernel<<<grid_for(rows, 1), kRowThreads>>>(args...);
  FROST_LAUNCH_CHECK();
}

}  // namespace

template <typename T>
void softmax_forward(const T* x, int64_t rows, int64_t C, T* y) {
  launch_rows(softmax_forward_kernel<T>, rows, C, false, x, rows, C, y);
}
template <typename T>
void softmax_backward(const T* y, const T* dy, int64_t rows, int64_t C, T* dx) {
  launch_rows(softmax_backward_kernel<T>, rows, C, false, y, dy, rows, C, dx);
}
template <typename T>
void log_softmax_forward(const T* x, int64_t rows, int64_t C, T* y) {
  launch_rows(log_softmax_forward_kernel<T>, rows, C, false, x, rows, C, y);
}
template <typename T>
void log_softmax_backward(const T* y, const T* dy, int64_t rows, int64_t C, T* dx) {
  launch_rows(log_softmax_backward_kernel<T>, rows, C, false, y, dy, rows, C, dx);
}
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* labels, const T* soft, double smoothing, int64_t rows, int64_t C,
                           T* loss, double* lse) {
  launch_rows(cross_entropy_forward_kernel<T>, rows, C, true, logits, labels, soft, smoothing, rows, C, loss, lse);
}
template <typename T>
void cross_entropy_backward(const T* logits, const double* lse, const int64_t* labels, const T* soft, double smoothing,
                            const T* row_grad, int64_t rows, int64_t C, T* dlogits) {
  launch_rows(cross_entropy_backward_kernel<T>, rows, C, false, logits, lse, labels, soft, smoothing, row_grad, rows, C, dlogits);
}

#define FROST_INSTANTIATE(T)                                                                                                     \
  template void softmax_forward<T>(const T*, int64_t, int64_t, T*);                                                              \
  template void softmax_backward<T>(const T*, const T*, int64_t, int64_t, T*);                                                   \
  template void log_softmax_forward<T>(const T*, int64_t, int64_t, T*);                                                          \
  template void log_softmax_backward<T>(const T*, const T*, int64_t, int64_t, T*);                                               \
  template void cross_entropy_forward<T>(const T*, const int64_t*, const T*, double, int64_t, int64_t, T*, double*);             \
  template void cross_entropy_backward<T>(const T*, const double*, const int64_t*, const T*, double, const T*, int64_t, int64_t, \
                                          T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cuda
