// elementwise.cu: unary activations (forward and backward), broadcasting binary arithmetic over
// strided operands, scale/shift, strided copies with dtype conversion, and fills. Formulas are
// kernels/cpu/elementwise.cpp's (math.cuh holds the per-element forms). bf16 operands are
// computed in f32 (acc_t) and rounded once at the store.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/math.cuh"

namespace frost::cuda {

namespace {

template <typename T>
__global__ void unary_forward_kernel(UnaryOp op, const T* x, T* y, int64_t n) {
  using A = acc_t<T>;
  FROST_GRID_LOOP(i, n) y[i] = T(unary_value(op, A(x[i])));
}

template <typename T>
__global__ void unary_backward_kernel(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  using A = acc_t<T>;
  FROST_GRID_LOOP(i, n) dx[i] = T(A(dy[i]) * unary_derivative(op, x ? A(x[i]) : A(0), y ? A(y[i]) : A(0)));
}

template <typename T>
__device__ inline T binary_value(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add:
      return a + b;
    case BinaryOp::sub:
      return a - b;
    case BinaryOp::mul:
      return a * b;
    case BinaryOp::div:
      return a / b;
  }
  return a;
}

// out contiguous; a and b through strides (0 where broadcast).
template <typename T>
__global__ void binary_kernel(BinaryOp op, StridedArgs<3> args, const T* a, const T* b, T* out, int64_t n) {
  FROST_GRID_LOOP(i, n) {
    int64_t off[3];
    args.offsets(i, off);
    out[off[0]] = T(binary_value(op, acc_t<T>(a[off[1]]), acc_t<T>(b[off[2]])));
  }
}

// Both operands contiguous and of the same shape: no index arithmetic.
template <typename T>
__global__ void binary_flat_kernel(BinaryOp op, const T* a, const T* b, T* out, int64_t n) {
  FROST_GRID_LOOP(i, n) out[i] = T(binary_value(op, acc_t<T>(a[i]), acc_t<T>(b[i])));
}

template <typename T>
__global__ void scale_shift_kernel(const T* x, T* out, int64_t n, acc_t<T> scale, acc_t<T> shift) {
  FROST_GRID_LOOP(i, n) out[i] = T(acc_t<T>(x[i]) * scale + shift);
}

// ---- dtype conversion through double, as the CPU's load_value / store_value ----

__device__ inline double load_as_double(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::f32:
      return static_cast<const float*>(p)[i];
    case DType::f64:
      return static_cast<const double*>(p)[i];
    case DType::bf16:
      return bf16::widen(static_cast<const uint16_t*>(p)[i]);
    case DType::f16:
      return __half2float(__ushort_as_half(static_cast<const uint16_t*>(p)[i]));
    case DType::i64:
      return double(static_cast<const int64_t*>(p)[i]);
    case DType::u8:
      return static_cast<const uint8_t*>(p)[i];
    case DType::boolean:
      return static_cast<const uint8_t*>(p)[i] ? 1.0 : 0.0;
  }
  return 0;
}

__device__ inline void store_from_double(void* p, DType t, int64_t i, double v) {
  switch (t) {
    case DType::f32:
      static_cast<float*>(p)[i] = float(v);
      break;
    case DType::f64:
      static_cast<double*>(p)[i] = v;
      break;
    case DType::bf16:
      static_cast<uint16_t*>(p)[i] = bf16::round(float(v));
      break;
    case DType::f16:
      static_cast<uint16_t*>(p)[i] = __half_as_ushort(__float2half_rn(float(v)));
      break;
    case DType::i64:
      static_cast<int64_t*>(p)[i] = int64_t(v);
      break;
    case DType::u8:
      static_cast<uint8_t*>(p)[i] = uint8_t(v);
      break;
    case DType::boolean:
      static_cast<uint8_t*>(p)[i] = v != 0.0;
      break;
  }
}

template <typename W>  // same dtype: move words of the element's size
__global__ void copy_words_kernel(StridedArgs<2> args, W* dst, const W* src, int64_t n) {
  FROST_GRID_LOOP(i, n) {
    int64_t off[2];
    args.offsets(i, off);
    dst[off[0]] = src[off[1]];
  }
}

__global__ void convert_kernel(StridedArgs<2> args, void* dst, DType dt, const void* src, DType st, int64_t n) {
  FROST_GRID_LOOP(i, n) {
    int64_t off[2];
    args.offsets(i, off);
    if (st == DType::i64 && dt == DType::i64)
      static_cast<int64_t*>(dst)[off[0]] = static_cast<const int64_t*>(src)[off[1]];
    else
      store_from_double(dst, dt, off[0], load_as_double(src, st, off[1]));
  }
}

__global__ void fill_kernel(void* dst, DType t, int64_t n, double value) {
  FROST_GRID_LOOP(i, n) store_from_double(dst, t, i, value);
}

}  // namespace

template <typename T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n) {
  if (n == 0) return;
  unary_forward_kernel<T><<<grid_for(n), kThreads>>>(op, x, y, n);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  if (n == 0) return;
  const bool from_y = cpu::unary_backward_reads_output(op);
  unary_backward_kernel<T><<<grid_for(n), kThreads>>>(op, from_y ? nullptr : x, from_y ? y : nullptr, dy, dx, n);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void binary_forward(BinaryOp op, const Dims& shape, const T* a, const Dims& a_strides, const T* b, const Dims& b_strides,
                    T* out) {
  const int64_t n = shape_numel_dims(shape);
  if (n == 0) return;
  const Dims out_strides = contiguous_dims(shape);
  if (a_strides == out_strides && b_strides == out_strides) {
    binary_flat_kernel<T><<<grid_for(n), kThreads>>>(op, a, b, out, n);
  } else {
    const StridedArgs<3> args = strided_args<3>(shape, {out_strides, a_strides, b_strides});
    binary_kernel<T><<<grid_for(n), kThreads>>>(op, args, a, b, out, n);
  }
  FROST_LAUNCH_CHECK();
}

template <typename T>
void scale_shift(const T* x, T* out, int64_t n, acc_t<T> scale, acc_t<T> shift) {
  if (n == 0) return;
  scale_shift_kernel<T><<<grid_for(n), kThreads>>>(x, out, n, scale, shift);
  FROST_LAUNCH_CHECK();
}

void copy_strided(const Dims& shape, void* dst, DType dst_type, const Dims& dst_strides, const void* src, DType src_type,
                  const Dims& src_strides) {
  const int64_t n = shape_numel_dims(shape);
  if (n == 0) return;
  const StridedArgs<2> args = strided_args<2>(shape, {dst_strides, src_strides});
  if (dst_type == src_type) {
    switch (dtype_size(dst_type)) {
      case 1:
        copy_words_kernel<uint8_t>
            <<<grid_for(n), kThreads>>>(args, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), n);
        break;
      case 2:
        copy_words_kernel<uint16_t>
            <<<grid_for(n), kThreads>>>(args, static_cast<uint16_t*>(dst), static_cast<const uint16_t*>(src), n);
        break;
      case 4:
        copy_words_kernel<uint32_t>
            <<<grid_for(n), kThreads>>>(args, static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), n);
        break;
      default:
        copy_words_kernel<uint64_t>
            <<<grid_for(n), kThreads>>>(args, static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), n);
        break;
    }
  } else {
    convert_kernel<<<grid_for(n), kThreads>>>(args, dst, dst_type, src, src_type, n);
  }
  FROST_LAUNCH_CHECK();
}

void fill(void* dst, DType type, int64_t n, double value) {
  if (n == 0) return;
  if (value == 0.0 && !std::signbit(value)) {  // all-zero bits in every dtype
    FROST_CUDA_CHECK(cudaMemsetAsync(dst, 0, size_t(n) * dtype_size(type)));
    return;
  }
  fill_kernel<<<grid_for(n), kThreads>>>(dst, type, n, value);
  FROST_LAUNCH_CHECK();
}

#define FROST_INSTANTIATE(T)                                                                                \
  template void unary_forward<T>(UnaryOp, const T*, T*, int64_t);                                           \
  template void unary_backward<T>(UnaryOp, const T*, const T*, const T*, T*, int64_t);                      \
  template void binary_forward<T>(BinaryOp, const Dims&, const T*, const Dims&, const T*, const Dims&, T*); \
  template void scale_shift<T>(const T*, T*, int64_t, acc_t<T>, acc_t<T>);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)
FROST_INSTANTIATE(bf16)

}  // namespace frost::cuda
