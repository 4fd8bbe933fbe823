// conv.cpp: im2col/col2im + GEMM for general convolutions; depthwise ones go to depthwise.cpp.
// Images are independent: with at least as many images as threads each thread takes whole
// images (serial GEMMs, private column buffers); otherwise images run one by one and the GEMM
// itself is parallel. Weight gradients are summed from per-thread partials in a fixed order.
#include "kernels/cpu/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/depthwise.h"
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
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0;
}

bool per_image_threads(const Conv2dGeometry& g) { return g.batch >= omp_get_max_threads() && omp_get_max_threads() > 1; }

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
  if (g.depthwise()) return depthwise_forward(g, x, w, bias, y);
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
  if (g.depthwise()) return depthwise_backward_input(g, dy, w, dx);
  const int64_t Cig = g.in_channels / g.groups, Cog = g.out_channels / g.groups;
  const int64_t HWo = g.out_height() * g.out_width(), Kc = Cig * g.kernel_h * g.kernel_w;
  for_each_image_group<T>(g, image_threads(g), [&](int, int64_t b, int64_t grp, T* col) {
    T* dxg = dx + (b * g.in_channels + grp * Cig) * g.height * g.width;
    const T* dyg = dy + (b * g.out_channels + grp * Cog) * HWo;
    const MatrixRef wt = mat(w + grp * Cog * Kc, Kc, /*transposed=*/true);    // (Kc, Cog)
    gemm(Kc, HWo, Cog, T(1), wt, mat(dyg, HWo), T(0), col ? col : dxg, HWo);  // dcol
    if (!col) return;                                                         // pointwise: dcol is dx
    std::fill(dxg, dxg + Cig * g.height * g.width, T(0));
    col2im(g, col, Cig, dxg);
  });
}

template <typename T>
void conv2d_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw, T* db) {
  const int64_t HWo = g.out_height() * g.out_width();
  if (db)  // per (image, channel) plane a sum in T (vectorised), planes added in double
#pragma omp parallel for schedule(static) if (g.out_channels >= 2 * omp_get_max_threads() && omp_get_level() == 0)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      double sum = 0;
      for (int64_t b = 0; b < g.batch; ++b) {
        const T* plane = dy + (b * g.out_channels + co) * HWo;
        T part = 0;
#pragma omp simd reduction(+ : part)
        for (int64_t p = 0; p < HWo; ++p) part += plane[p];
        sum += double(part);
      }
      db[co] = T(sum);
    }
  if (!dw) return;
  if (g.depthwise()) return depthwise_backward_weight(g, dy, x, dw);
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

#define FROST_INSTANTIATE(T)                                                                \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input<T>(const Conv2dGeometry&, const T*, const T*, T*);    \
  template void conv2d_backward_weight<T>(const Conv2dGeometry&, const T*, const T*, T*, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cpu
