// conv.cpp: im2col/col2im + GEMM for general convolutions, a direct loop for depthwise ones.
// Images are independent: with at least as many images as threads each thread takes whole
// images (serial GEMMs, private column buffers); otherwise images run one by one and the GEMM
// itself is parallel. Weight gradients are summed from per-thread partials in a fixed order.
#include "kernels/cpu/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace frost::cpu {

namespace {

// col[(c, i, j), (oh, ow)] = x[c, oh*s - p + i, ow*s - p + j] (0 outside), c over `channels`.
template <typename T>
void im2col(const Conv2dGeometry& g, const T* x, int64_t channels, T* col) {
  const int64_t Ho = g.out_height(), Wo = g.out_width();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < g.kernel_h; ++i)
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        T* out = col + ((c * g.kernel_h + i) * g.kernel_w + j) * Ho * Wo;
        for (int64_t oh = 0; oh < Ho; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + i;
          T* orow = out + oh * Wo;
          if (ih < 0 || ih >= g.height) {
            std::fill(orow, orow + Wo, T(0));
            continue;
          }
          const T* xrow = x + (c * g.height + ih) * g.width;
          for (int64_t ow = 0; ow < Wo; ++ow) {
            const int64_t iw = ow * g.stride_w - g.pad_w + j;
            orow[ow] = (iw >= 0 && iw < g.width) ? xrow[iw] : T(0);
          }
        }
      }
}

// The adjoint of im2col: x[c, ih, iw] += col[...].
template <typename T>
void col2im(const Conv2dGeometry& g, const T* col, int64_t channels, T* x) {
  const int64_t Ho = g.out_height(), Wo = g.out_width();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < g.kernel_h; ++i)
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const T* in = col + ((c * g.kernel_h + i) * g.kernel_w + j) * Ho * Wo;
        for (int64_t oh = 0; oh < Ho; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + i;
          if (ih < 0 || ih >= g.height) continue;
          T* xrow = x + (c * g.height + ih) * g.width;
          for (int64_t ow = 0; ow < Wo; ++ow) {
            const int64_t iw = ow * g.stride_w - g.pad_w + j;
            if (iw >= 0 && iw < g.width) xrow[iw] += in[oh * Wo + ow];
          }
        }
      }
}

// 1x1, stride 1, no padding: the image itself is the column matrix.
bool is_pointwise(const Conv2dGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
         g.pad_h == 0 && g.pad_w == 0;
}

bool per_image_threads(const Conv2dGeometry& g) {
  return g.batch >= omp_get_max_threads() && omp_get_max_threads() > 1;
}

// Output positions ow in [lo, hi) whose input column ow*s - p + j lies inside [0, W).
inline void valid_range(int64_t j, int64_t stride, int64_t pad, int64_t in, int64_t out,
                        int64_t& lo, int64_t& hi) {
  lo = std::max<int64_t>(0, (pad - j + stride - 1) / stride);
  hi = std::min<int64_t>(out, (in - 1 + pad - j) / stride + 1);
  if (in - 1 + pad - j < 0) hi = 0;
}

// Depthwise: for every (b, c) plane, visit (oh, i, j, ow) with the input index in bounds and
// call fn(y_index, x_index, w_index). Planes are independent, so each runs on one thread.
template <typename Fn>
void depthwise_plane(const Conv2dGeometry& g, int64_t c, Fn&& fn) {
  const int64_t Ho = g.out_height(), Wo = g.out_width();
  for (int64_t oh = 0; oh < Ho; ++oh)
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      const int64_t ih = oh * g.stride_h - g.pad_h + i;
      if (ih < 0 || ih >= g.height) continue;
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        int64_t lo, hi;
        valid_range(j, g.stride_w, g.pad_w, g.width, Wo, lo, hi);
        fn(oh * Wo, ih * g.width - g.pad_w + j, (c * g.kernel_h + i) * g.kernel_w + j, lo, hi);
      }
    }
}

template <typename T>
void depthwise_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t HWo = g.out_height() * g.out_width(), HW = g.height * g.width;
  const int64_t s = g.stride_w;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < g.batch * g.in_channels; ++plane) {
    const int64_t c = plane % g.in_channels;
    T* yp = y + plane * HWo;
    std::fill(yp, yp + HWo, bias ? bias[c] : T(0));
    const T* xp = x + plane * HW;
    depthwise_plane(g, c, [&](int64_t yo, int64_t xo, int64_t wi, int64_t lo, int64_t hi) {
      const T wv = w[wi];
#pragma omp simd
      for (int64_t ow = lo; ow < hi; ++ow) yp[yo + ow] += wv * xp[xo + ow * s];
    });
  }
}

template <typename T>
void depthwise_backward_input(const Conv2dGeometry& g, const T* dy, const T* w, T* dx) {
  const int64_t HWo = g.out_height() * g.out_width(), HW = g.height * g.width;
  const int64_t s = g.stride_w;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < g.batch * g.in_channels; ++plane) {
    const int64_t c = plane % g.in_channels;
    T* dxp = dx + plane * HW;
    std::fill(dxp, dxp + HW, T(0));
    const T* dyp = dy + plane * HWo;
    depthwise_plane(g, c, [&](int64_t yo, int64_t xo, int64_t wi, int64_t lo, int64_t hi) {
      const T wv = w[wi];
#pragma omp simd  // distinct ow write distinct dx entries, and dx never aliases dy
      for (int64_t ow = lo; ow < hi; ++ow) dxp[xo + ow * s] += wv * dyp[yo + ow];
    });
  }
}

template <typename T>
void depthwise_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw) {
  const int64_t HWo = g.out_height() * g.out_width(), HW = g.height * g.width;
  const int64_t s = g.stride_w, taps = g.kernel_h * g.kernel_w;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < g.in_channels; ++c) {
    std::vector<double> acc(size_t(taps), 0.0);
    for (int64_t b = 0; b < g.batch; ++b) {
      const T* dyp = dy + (b * g.in_channels + c) * HWo;
      const T* xp = x + (b * g.in_channels + c) * HW;
      depthwise_plane(g, c, [&](int64_t yo, int64_t xo, int64_t wi, int64_t lo, int64_t hi) {
        T sum = 0;  // one output row (<= Wo terms) in T, rows and images summed in double
#pragma omp simd reduction(+ : sum)
        for (int64_t ow = lo; ow < hi; ++ow) sum += dyp[yo + ow] * xp[xo + ow * s];
        acc[wi - c * taps] += double(sum);
      });
    }
    for (int64_t t = 0; t < taps; ++t) dw[c * taps + t] = T(acc[t]);
  }
}

// Stride-1 depthwise fast path. Each plane is copied into a zero-padded buffer, so every tap reads
// a full row without bounds checks, and each output row accumulates one kernel row (kw taps) per
// pass with the taps innermost: kw multiply-adds per load/store of the output, vectorised along ow.
// out[oh][ow] += sum_{i,j} k[i][j] * in[oh + i][ow + j], in with row stride `ld`.
template <typename T, int KW>  // KW > 0: kernel width known at compile time (unrolled taps); 0: kw
void correlate_rows(const T* in, int64_t ld, const T* k, int64_t kh, int64_t kw_runtime, T* out, int64_t Ho, int64_t Wo) {
  const int64_t kw = KW > 0 ? KW : kw_runtime;
  for (int64_t oh = 0; oh < Ho; ++oh) {
    T* orow = out + oh * Wo;
    for (int64_t i = 0; i < kh; ++i) {
      const T* irow = in + (oh + i) * ld;
      const T* krow = k + i * kw;
#pragma omp simd
      for (int64_t ow = 0; ow < Wo; ++ow) {
        T acc = orow[ow];
        for (int64_t j = 0; j < kw; ++j) acc += krow[j] * irow[ow + j];
        orow[ow] = acc;
      }
    }
  }
}

template <typename T>
void correlate_plane(const T* in, int64_t ld, const T* k, int64_t kh, int64_t kw, T* out, int64_t Ho, int64_t Wo) {
  switch (kw) {
    case 3: return correlate_rows<T, 3>(in, ld, k, kh, kw, out, Ho, Wo);
    case 5: return correlate_rows<T, 5>(in, ld, k, kh, kw, out, Ho, Wo);
    case 7: return correlate_rows<T, 7>(in, ld, k, kh, kw, out, Ho, Wo);
    default: return correlate_rows<T, 0>(in, ld, k, kh, kw, out, Ho, Wo);
  }
}

// Copies plane (H, W) into buf (H + top + bottom, W + left + right) at (top, left), zeros around.
template <typename T>
const T* padded(const T* plane, int64_t H, int64_t W, int64_t top, int64_t left, int64_t rows, int64_t cols,
                std::vector<T>& buf) {
  buf.assign(size_t(rows * cols), T(0));
  for (int64_t h = 0; h < H; ++h) std::copy(plane + h * W, plane + (h + 1) * W, buf.data() + (h + top) * cols + left);
  return buf.data();
}

template <typename T>
void depthwise_forward_s1(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), kh = g.kernel_h, kw = g.kernel_w;
  const int64_t rows = Ho + kh - 1, cols = Wo + kw - 1;
#pragma omp parallel
  {
    std::vector<T> buf;
#pragma omp for schedule(static)
    for (int64_t plane = 0; plane < g.batch * g.in_channels; ++plane) {
      const int64_t c = plane % g.in_channels;
      T* yp = y + plane * Ho * Wo;
      std::fill(yp, yp + Ho * Wo, bias ? bias[c] : T(0));
      const T* xp = padded(x + plane * g.height * g.width, g.height, g.width, g.pad_h, g.pad_w, rows, cols, buf);
      correlate_plane(xp, cols, w + c * kh * kw, kh, kw, yp, Ho, Wo);
    }
  }
}

// dx[ih][iw] = sum_{i,j} w[kh-1-i][kw-1-j] * dy_pad[ih + i][iw + j], dy padded by (k - 1 - p).
template <typename T>
void depthwise_backward_input_s1(const Conv2dGeometry& g, const T* dy, const T* w, T* dx) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), kh = g.kernel_h, kw = g.kernel_w;
  const int64_t rows = g.height + kh - 1, cols = g.width + kw - 1;
#pragma omp parallel
  {
    std::vector<T> buf, flipped(size_t(kh * kw));
#pragma omp for schedule(static)
    for (int64_t plane = 0; plane < g.batch * g.in_channels; ++plane) {
      const int64_t c = plane % g.in_channels;
      for (int64_t t = 0; t < kh * kw; ++t) flipped[size_t(t)] = w[c * kh * kw + kh * kw - 1 - t];
      T* dxp = dx + plane * g.height * g.width;
      std::fill(dxp, dxp + g.height * g.width, T(0));
      const T* dyp = padded(dy + plane * Ho * Wo, Ho, Wo, kh - 1 - g.pad_h, kw - 1 - g.pad_w, rows, cols, buf);
      correlate_plane(dyp, cols, flipped.data(), kh, kw, dxp, g.height, g.width);
    }
  }
}

// dw[c][i][j] = sum_{b, oh, ow} dy[b, c][oh][ow] * x_pad[b, c][oh + i][ow + j]. Per image and
// kernel row, kw x Wo lane sums in T (no horizontal reductions in the loop; <= Ho terms each), then
// folded into double.
template <typename T, int KW>
void depthwise_weight_rows(const T* xp, int64_t cols, const T* dyp, int64_t Ho, int64_t Wo, int64_t kh, int64_t kw_runtime,
                           std::vector<T>& lanes, double* acc) {
  const int64_t kw = KW > 0 ? KW : kw_runtime;
  for (int64_t i = 0; i < kh; ++i) {
    lanes.assign(size_t(kw * Wo), T(0));
    for (int64_t oh = 0; oh < Ho; ++oh) {
      const T* xrow = xp + (oh + i) * cols;
      const T* grow = dyp + oh * Wo;
      for (int64_t j = 0; j < kw; ++j) {
        T* lane = lanes.data() + j * Wo;
#pragma omp simd
        for (int64_t ow = 0; ow < Wo; ++ow) lane[ow] += grow[ow] * xrow[ow + j];
      }
    }
    for (int64_t j = 0; j < kw; ++j) {
      double sum = 0;
      for (int64_t ow = 0; ow < Wo; ++ow) sum += double(lanes[size_t(j * Wo + ow)]);
      acc[i * kw + j] += sum;
    }
  }
}

template <typename T>
void depthwise_backward_weight_s1(const Conv2dGeometry& g, const T* dy, const T* x, T* dw) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), kh = g.kernel_h, kw = g.kernel_w;
  const int64_t rows = Ho + kh - 1, cols = Wo + kw - 1;
#pragma omp parallel
  {
    std::vector<T> buf, lanes;
    std::vector<double> acc(size_t(kh * kw));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < g.in_channels; ++c) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t b = 0; b < g.batch; ++b) {
        const int64_t plane = b * g.in_channels + c;
        const T* xp = padded(x + plane * g.height * g.width, g.height, g.width, g.pad_h, g.pad_w, rows, cols, buf);
        const T* dyp = dy + plane * Ho * Wo;
        if (kw == 7) depthwise_weight_rows<T, 7>(xp, cols, dyp, Ho, Wo, kh, kw, lanes, acc.data());
        else if (kw == 3) depthwise_weight_rows<T, 3>(xp, cols, dyp, Ho, Wo, kh, kw, lanes, acc.data());
        else depthwise_weight_rows<T, 0>(xp, cols, dyp, Ho, Wo, kh, kw, lanes, acc.data());
      }
      for (int64_t t = 0; t < kh * kw; ++t) dw[c * kh * kw + t] = T(acc[size_t(t)]);
    }
  }
}

bool stride_one(const Conv2dGeometry& g) { return g.stride_h == 1 && g.stride_w == 1 && g.pad_h < g.kernel_h && g.pad_w < g.kernel_w; }

// Runs body(thread, image, group, col) for every (image, group) of a grouped convolution: whole
// images per thread when there are enough of them (GEMMs then run serially inside), else one
// thread and parallel GEMMs. `col` is the thread's (Cin/groups * kh * kw, Ho * Wo) column buffer;
// null for pointwise convolutions, whose input is its own column matrix.
// The one-thread case stays outside any parallel construct: inside one, even a team of one, the
// GEMMs' parallel regions would be nested ones, for which libgomp starts fresh threads each time.
template <typename T, typename Body>
void for_each_image_group(const Conv2dGeometry& g, int threads, Body&& body) {
  const int64_t Kc = g.in_channels / g.groups * g.kernel_h * g.kernel_w;
  const int64_t HWo = g.out_height() * g.out_width();
  auto images = [&] {  // its `omp for` binds to the team, or, called outside one, runs serially
    const bool pointwise = is_pointwise(g);
    std::vector<T> col(pointwise ? 0 : size_t(Kc * HWo));
    T* col_ptr = pointwise ? nullptr : col.data();
    const int t = omp_get_thread_num();
#pragma omp for schedule(static)
    for (int64_t b = 0; b < g.batch; ++b)
      for (int64_t grp = 0; grp < g.groups; ++grp) body(t, b, grp, col_ptr);
  };
  if (threads <= 1) return images();
#pragma omp parallel num_threads(threads)
  images();
}

int image_threads(const Conv2dGeometry& g) { return per_image_threads(g) ? omp_get_max_threads() : 1; }

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  if (g.depthwise()) return stride_one(g) ? depthwise_forward_s1(g, x, w, bias, y) : depthwise_forward(g, x, w, bias, y);
  const int64_t Cig = g.in_channels / g.groups, Cog = g.out_channels / g.groups;
  const int64_t HWo = g.out_height() * g.out_width(), Kc = Cig * g.kernel_h * g.kernel_w;
  for_each_image_group<T>(g, image_threads(g), [&](int, int64_t b, int64_t grp, T* col) {
    const T* xg = x + (b * g.in_channels + grp * Cig) * g.height * g.width;
    T* yg = y + (b * g.out_channels + grp * Cog) * HWo;
    if (col) im2col(g, xg, Cig, col);
    gemm(Cog, HWo, Kc, T(1), mat(w + grp * Cog * Kc, Kc), mat(col ? col : xg, HWo), T(0), yg, HWo);
    if (bias)
      for (int64_t co = 0; co < Cog; ++co)
        for (int64_t p = 0; p < HWo; ++p) yg[co * HWo + p] += bias[grp * Cog + co];
  });
}

template <typename T>
void conv2d_backward_input(const Conv2dGeometry& g, const T* dy, const T* w, T* dx) {
  if (g.depthwise()) return stride_one(g) ? depthwise_backward_input_s1(g, dy, w, dx) : depthwise_backward_input(g, dy, w, dx);
  const int64_t Cig = g.in_channels / g.groups, Cog = g.out_channels / g.groups;
  const int64_t HWo = g.out_height() * g.out_width(), Kc = Cig * g.kernel_h * g.kernel_w;
  for_each_image_group<T>(g, image_threads(g), [&](int, int64_t b, int64_t grp, T* col) {
    T* dxg = dx + (b * g.in_channels + grp * Cig) * g.height * g.width;
    const T* dyg = dy + (b * g.out_channels + grp * Cog) * HWo;
    const MatrixRef wt = mat(w + grp * Cog * Kc, Kc, /*transposed=*/true);  // (Kc, Cog)
    gemm(Kc, HWo, Cog, T(1), wt, mat(dyg, HWo), T(0), col ? col : dxg, HWo);  // dcol
    if (!col) return;  // pointwise: dcol is dx
    std::fill(dxg, dxg + Cig * g.height * g.width, T(0));
    col2im(g, col, Cig, dxg);
  });
}

template <typename T>
void conv2d_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw, T* db) {
  const int64_t HWo = g.out_height() * g.out_width();
  if (db)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      double sum = 0;
      for (int64_t b = 0; b < g.batch; ++b)
        for (int64_t p = 0; p < HWo; ++p) sum += double(dy[(b * g.out_channels + co) * HWo + p]);
      db[co] = T(sum);
    }
  if (!dw) return;
  if (g.depthwise()) return stride_one(g) ? depthwise_backward_weight_s1(g, dy, x, dw) : depthwise_backward_weight(g, dy, x, dw);
  const int64_t Cig = g.in_channels / g.groups, Cog = g.out_channels / g.groups;
  const int64_t Kc = Cig * g.kernel_h * g.kernel_w, wsize = g.out_channels * Kc;
  const int threads = image_threads(g);
  std::vector<T> partial(size_t(threads - 1) * wsize, T(0));  // thread 0 writes dw directly
  std::fill(dw, dw + wsize, T(0));
  for_each_image_group<T>(g, threads, [&](int t, int64_t b, int64_t grp, T* col) {
    T* dw_t = t == 0 ? dw : partial.data() + size_t(t - 1) * wsize;
    const T* xg = x + (b * g.in_channels + grp * Cig) * g.height * g.width;
    const T* dyg = dy + (b * g.out_channels + grp * Cog) * HWo;
    if (col) im2col(g, xg, Cig, col);
    // dW_g (Cog, Kc) += dy_g (Cog, HWo) x col^T (HWo, Kc)
    gemm(Cog, Kc, HWo, T(1), mat(dyg, HWo), mat(col ? col : xg, HWo, true), T(1), dw_t + grp * Cog * Kc, Kc);
  });
  for (int t = 1; t < threads; ++t)
    for (int64_t i = 0; i < wsize; ++i) dw[i] += partial[size_t(t - 1) * wsize + i];
}

#define FROST_INSTANTIATE(T)                                                                  \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*);  \
  template void conv2d_backward_input<T>(const Conv2dGeometry&, const T*, const T*, T*);     \
  template void conv2d_backward_weight<T>(const Conv2dGeometry&, const T*, const T*, T*, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cpu
