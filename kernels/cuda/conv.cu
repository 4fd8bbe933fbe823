// conv.cu: 2-D convolution forward and backward (NCHW; kernels/cpu/conv.h has the formulas).
// General case: the whole batch is unfolded once into col [Cin*kh*kw, B*Ho*Wo] (im2col, each
// group's rows contiguous), so each group is ONE cuBLASLt GEMM over every image:
//   Y'_g [Cout_g, B*HoWo] = W_g col_g;        y = permute(Y') + bias
//   dcol_g = W_g^T dy'_g  -> col2im -> dx;    dW_g = dy'_g col_g^T;   db = rowsum(dy')
// where dy' is dy permuted to [Cout, B*HoWo]. col2im gathers (each input pixel sums the columns
// that read it): no atomics, same result every run. Depthwise (groups == Cin == Cout, ConvNeXt's
// 7x7) runs direct kernels; its weight and bias gradients are block reductions in double.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"

namespace frost::cuda {

namespace {

template <typename T>
__global__ void im2col_kernel(Conv2dGeometry g, const T* x, T* col, int64_t n) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), columns = g.batch * Ho * Wo;
  FROST_GRID_LOOP(e, n) {
    const int64_t column = e % columns, row = e / columns;
    const int64_t kx = row % g.kernel_w, ky = (row / g.kernel_w) % g.kernel_h, c = row / (g.kernel_w * g.kernel_h);
    const int64_t ox = column % Wo, oy = (column / Wo) % Ho, b = column / (Wo * Ho);
    const int64_t iy = oy * g.stride_h - g.pad_h + ky, ix = ox * g.stride_w - g.pad_w + kx;
    col[e] = (iy >= 0 && iy < g.height && ix >= 0 && ix < g.width) ? x[((b * g.in_channels + c) * g.height + iy) * g.width + ix]
                                                                   : T(0);
  }
}

template <typename T>
__global__ void col2im_kernel(Conv2dGeometry g, const T* dcol, T* dx, int64_t n) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), columns = g.batch * Ho * Wo;
  FROST_GRID_LOOP(e, n) {
    const int64_t ix = e % g.width, iy = (e / g.width) % g.height, c = (e / (g.width * g.height)) % g.in_channels,
                  b = e / (g.width * g.height * g.in_channels);
    T total = T(0);
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      const int64_t ty = iy + g.pad_h - ky;
      if (ty < 0 || ty % g.stride_h) continue;
      const int64_t oy = ty / g.stride_h;
      if (oy >= Ho) continue;
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const int64_t tx = ix + g.pad_w - kx;
        if (tx < 0 || tx % g.stride_w) continue;
        const int64_t ox = tx / g.stride_w;
        if (ox >= Wo) continue;
        const int64_t row = (c * g.kernel_h + ky) * g.kernel_w + kx;
        total += dcol[row * columns + (b * Ho + oy) * Wo + ox];
      }
    }
    dx[e] = total;
  }
}

// [B, C, P] <-> [C, B*P]; the forward direction also adds the bias.
template <typename T>
__global__ void channels_to_front_kernel(const T* y, int64_t B, int64_t C, int64_t P, T* out, int64_t n) {
  FROST_GRID_LOOP(e, n) {  // e indexes out [C, B, P]
    const int64_t p = e % P, b = (e / P) % B, c = e / (P * B);
    out[e] = y[(b * C + c) * P + p];
  }
}

template <typename T>
__global__ void channels_to_back_kernel(const T* front, const T* bias, int64_t B, int64_t C, int64_t P, T* y, int64_t n) {
  FROST_GRID_LOOP(e, n) {  // e indexes y [B, C, P]
    const int64_t p = e % P, c = (e / P) % C, b = e / (P * C);
    y[e] = front[(c * B + b) * P + p] + (bias ? bias[c] : T(0));
  }
}

// ---- depthwise ----

template <typename T>
__global__ void depthwise_forward_kernel(Conv2dGeometry g, const T* x, const T* w, const T* bias, T* y, int64_t n) {
  const int64_t Ho = g.out_height(), Wo = g.out_width();
  FROST_GRID_LOOP(e, n) {
    const int64_t ox = e % Wo, oy = (e / Wo) % Ho, c = (e / (Wo * Ho)) % g.in_channels, b = e / (Wo * Ho * g.in_channels);
    const T* xp = x + (b * g.in_channels + c) * g.height * g.width;
    const T* wp = w + c * g.kernel_h * g.kernel_w;
    T acc = bias ? bias[c] : T(0);
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      const int64_t iy = oy * g.stride_h - g.pad_h + ky;
      if (iy < 0 || iy >= g.height) continue;
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const int64_t ix = ox * g.stride_w - g.pad_w + kx;
        if (ix >= 0 && ix < g.width) acc += wp[ky * g.kernel_w + kx] * xp[iy * g.width + ix];
      }
    }
    y[e] = acc;
  }
}

template <typename T>
__global__ void depthwise_backward_input_kernel(Conv2dGeometry g, const T* dy, const T* w, T* dx, int64_t n) {
  const int64_t Ho = g.out_height(), Wo = g.out_width();
  FROST_GRID_LOOP(e, n) {
    const int64_t ix = e % g.width, iy = (e / g.width) % g.height, c = (e / (g.width * g.height)) % g.in_channels,
                  b = e / (g.width * g.height * g.in_channels);
    const T* dyp = dy + (b * g.in_channels + c) * Ho * Wo;
    const T* wp = w + c * g.kernel_h * g.kernel_w;
    T acc = T(0);
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      const int64_t ty = iy + g.pad_h - ky;
      if (ty < 0 || ty % g.stride_h || ty / g.stride_h >= Ho) continue;
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const int64_t tx = ix + g.pad_w - kx;
        if (tx < 0 || tx % g.stride_w || tx / g.stride_w >= Wo) continue;
        acc += wp[ky * g.kernel_w + kx] * dyp[(ty / g.stride_h) * Wo + tx / g.stride_w];
      }
    }
    dx[e] = acc;
  }
}

// One block per weight (c, ky, kx), or per channel for the bias (ky = kx = -1): a sum over the
// batch and the output positions.
template <typename T>
__global__ void depthwise_backward_params_kernel(Conv2dGeometry g, const T* dy, const T* x, T* dw, T* db) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), taps = g.kernel_h * g.kernel_w;
  const int64_t jobs = g.in_channels * (taps + 1);
  for (int64_t job = blockIdx.x; job < jobs; job += gridDim.x) {
    const int64_t c = job / (taps + 1), tap = job % (taps + 1);  // tap == taps: the bias
    if ((tap == taps && !db) || (tap < taps && !dw)) continue;   // uniform over the block
    const int64_t ky = tap / g.kernel_w, kx = tap % g.kernel_w;
    double acc = 0;
    for (int64_t e = threadIdx.x; e < g.batch * Ho * Wo; e += blockDim.x) {
      const int64_t ox = e % Wo, oy = (e / Wo) % Ho, b = e / (Wo * Ho);
      const T d = dy[((b * g.in_channels + c) * Ho + oy) * Wo + ox];
      if (tap == taps) {
        acc += double(d);
        continue;
      }
      const int64_t iy = oy * g.stride_h - g.pad_h + ky, ix = ox * g.stride_w - g.pad_w + kx;
      if (iy >= 0 && iy < g.height && ix >= 0 && ix < g.width)
        acc += double(d) * double(x[((b * g.in_channels + c) * g.height + iy) * g.width + ix]);
    }
    acc = block_reduce(acc, SumOp{}, 0.0);
    if (threadIdx.x == 0) {
      if (tap == taps)
        db[c] = T(acc);
      else
        dw[c * taps + tap] = T(acc);
    }
  }
}

// col [Cin*kh*kw, B*Ho*Wo] of x
template <typename T>
void unfold(const Conv2dGeometry& g, const T* x, T* col) {
  const int64_t n = g.in_channels * g.kernel_h * g.kernel_w * g.batch * g.out_height() * g.out_width();
  im2col_kernel<T><<<grid_for(n), kThreads>>>(g, x, col, n);
  FROST_LAUNCH_CHECK();
}

// dy [B, Cout, P] -> [Cout, B*P]
template <typename T>
void to_front(const Conv2dGeometry& g, const T* dy, T* front) {
  const int64_t P = g.out_height() * g.out_width(), n = g.batch * g.out_channels * P;
  channels_to_front_kernel<T><<<grid_for(n), kThreads>>>(dy, g.batch, g.out_channels, P, front, n);
  FROST_LAUNCH_CHECK();
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t P = g.out_height() * g.out_width(), n = g.batch * g.out_channels * P;
  if (n == 0) return;
  if (g.depthwise()) {
    depthwise_forward_kernel<T><<<grid_for(n), kThreads>>>(g, x, w, bias, y, n);
    FROST_LAUNCH_CHECK();
    return;
  }
  const int64_t columns = g.batch * P, CKg = g.in_channels / g.groups * g.kernel_h * g.kernel_w;
  const int64_t Cg = g.out_channels / g.groups;
  Scratch col(size_t(CKg * g.groups * columns) * sizeof(T)), front(size_t(g.out_channels * columns) * sizeof(T));
  unfold(g, x, col.as<T>());
  for (int64_t grp = 0; grp < g.groups; ++grp)
    cuda::gemm<T>(Cg, columns, CKg, acc_t<T>(1), {w + grp * Cg * CKg, CKg, 1}, {col.as<T>() + grp * CKg * columns, columns, 1},
                  acc_t<T>(0), front.as<T>() + grp * Cg * columns, columns);
  channels_to_back_kernel<T><<<grid_for(n), kThreads>>>(front.as<T>(), bias, g.batch, g.out_channels, P, y, n);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void conv2d_backward_input(const Conv2dGeometry& g, const T* dy, const T* w, T* dx) {
  const int64_t n = g.batch * g.in_channels * g.height * g.width;
  if (n == 0) return;
  if (g.depthwise()) {
    depthwise_backward_input_kernel<T><<<grid_for(n), kThreads>>>(g, dy, w, dx, n);
    FROST_LAUNCH_CHECK();
    return;
  }
  const int64_t P = g.out_height() * g.out_width(), columns = g.batch * P;
  const int64_t CKg = g.in_channels / g.groups * g.kernel_h * g.kernel_w, Cg = g.out_channels / g.groups;
  Scratch front(size_t(g.out_channels * columns) * sizeof(T)), dcol(size_t(CKg * g.groups * columns) * sizeof(T));
  to_front(g, dy, front.as<T>());
  for (int64_t grp = 0; grp < g.groups; ++grp)  // dcol_g = W_g^T dy'_g
    cuda::gemm<T>(CKg, columns, Cg, acc_t<T>(1), {w + grp * Cg * CKg, 1, CKg}, {front.as<T>() + grp * Cg * columns, columns, 1},
                  acc_t<T>(0), dcol.as<T>() + grp * CKg * columns, columns);
  col2im_kernel<T><<<grid_for(n), kThreads>>>(g, dcol.as<T>(), dx, n);
  FROST_LAUNCH_CHECK();
}

template <typename T>
void conv2d_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw, T* db) {
  if (!dw && !db) return;
  const int64_t P = g.out_height() * g.out_width(), columns = g.batch * P;
  const int64_t CKg = g.in_channels / g.groups * g.kernel_h * g.kernel_w, Cg = g.out_channels / g.groups;
  if (columns == 0) {  // no output positions: zero gradients
    if (dw) fill(dw, storage_dtype<T>(), g.out_channels * CKg, 0.0);
    if (db) fill(db, storage_dtype<T>(), g.out_channels, 0.0);
    return;
  }
  if (g.depthwise()) {
    depthwise_backward_params_kernel<T>
        <<<grid_for(g.in_channels * (g.kernel_h * g.kernel_w + 1), 1), kThreads>>>(g, dy, x, dw, db);
    FROST_LAUNCH_CHECK();
    return;
  }
  Scratch front(size_t(g.out_channels * columns) * sizeof(T));
  to_front(g, dy, front.as<T>());
  if (db) sum_middle<T>(front.as<T>(), g.out_channels, columns, 1, db);
  if (!dw) return;
  Scratch col(size_t(CKg * g.groups * columns) * sizeof(T));
  unfold(g, x, col.as<T>());
  for (int64_t grp = 0; grp < g.groups; ++grp)  // dW_g = dy'_g col_g^T
    cuda::gemm<T>(Cg, CKg, columns, acc_t<T>(1), {front.as<T>() + grp * Cg * columns, columns, 1},
                  {col.as<T>() + grp * CKg * columns, 1, columns}, acc_t<T>(0), dw + grp * Cg * CKg, CKg);
}

#define FROST_INSTANTIATE(T)                                                                \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input<T>(const Conv2dGeometry&, const T*, const T*, T*);    \
  template void conv2d_backward_weight<T>(const Conv2dGeometry&, const T*, const T*, T*, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cuda
