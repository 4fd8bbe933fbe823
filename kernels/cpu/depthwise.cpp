// depthwise.cpp: depthwise convolution (ConvNeXt's 7x7) as direct loops over (b, c) planes.
//
// Stride 1 (the fast path): a plane is copied into a zero-padded buffer of row stride ld, and the
// output is computed over the flattened padded domain, p = oh * ld + ow for ow in [0, ld):
//   out[p] = sum_{i,j} k[i][j] * in[p + i * ld + j]
// Positions with ow >= Wo are junk and dropped when the result is copied out; in exchange every
// tap is one contiguous run of Ho * ld values, which vectorises fully even when a row is shorter
// than a vector (Wo = 7 or 14 in ConvNeXt's late stages). dx is the same correlation of the padded
// dy with the flipped kernel; dw[i][j] = sum_p dy_flat[p] * x_pad[p + i * ld + j], dy laid out
// at stride ld with zeros in the junk columns. The loops run on GCC vector types of 64 bytes
// (16 floats), compiled for AVX-512, AVX2 and the baseline (FROST_CLONES).
// Other strides: a plain loop over (oh, i, j, ow) with the bounds solved per tap.
#include "kernels/cpu/depthwise.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/vmath.h"

namespace frost::cpu {

namespace {

// ---- general stride: the readable reference ------------------------------------------------

// Output positions ow in [lo, hi) whose input column ow*s - p + j lies inside [0, W).
inline void valid_range(int64_t j, int64_t stride, int64_t pad, int64_t in, int64_t out, int64_t& lo, int64_t& hi) {
  lo = std::max<int64_t>(0, (pad - j + stride - 1) / stride);
  hi = std::min<int64_t>(out, (in - 1 + pad - j) / stride + 1);
  if (in - 1 + pad - j < 0) hi = 0;
}

// For every (oh, i, j) with the input row in bounds, calls fn(y_index, x_index, w_index, lo, hi).
template <typename Fn>
void each_tap_row(const Conv2dGeometry& g, int64_t c, Fn&& fn) {
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
void strided_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t HWo = g.out_height() * g.out_width(), HW = g.height * g.width, s = g.stride_w;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < g.batch * g.in_channels; ++plane) {
    const int64_t c = plane % g.in_channels;
    T* yp = y + plane * HWo;
    std::fill(yp, yp + HWo, bias ? bias[c] : T(0));
    const T* xp = x + plane * HW;
    each_tap_row(g, c, [&](int64_t yo, int64_t xo, int64_t wi, int64_t lo, int64_t hi) {
      const T wv = w[wi];
#pragma omp simd
      for (int64_t ow = lo; ow < hi; ++ow) yp[yo + ow] += wv * xp[xo + ow * s];
    });
  }
}

template <typename T>
void strided_backward_input(const Conv2dGeometry& g, const T* dy, const T* w, T* dx) {
  const int64_t HWo = g.out_height() * g.out_width(), HW = g.height * g.width, s = g.stride_w;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < g.batch * g.in_channels; ++plane) {
    const int64_t c = plane % g.in_channels;
    T* dxp = dx + plane * HW;
    std::fill(dxp, dxp + HW, T(0));
    const T* dyp = dy + plane * HWo;
    each_tap_row(g, c, [&](int64_t yo, int64_t xo, int64_t wi, int64_t lo, int64_t hi) {
      const T wv = w[wi];
#pragma omp simd  // distinct ow write distinct dx entries, and dx never aliases dy
      for (int64_t ow = lo; ow < hi; ++ow) dxp[xo + ow * s] += wv * dyp[yo + ow];
    });
  }
}

template <typename T>
void strided_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw) {
  const int64_t HWo = g.out_height() * g.out_width(), HW = g.height * g.width;
  const int64_t s = g.stride_w, taps = g.kernel_h * g.kernel_w;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < g.in_channels; ++c) {
    std::vector<double> acc(size_t(taps), 0.0);
    for (int64_t b = 0; b < g.batch; ++b) {
      const T* dyp = dy + (b * g.in_channels + c) * HWo;
      const T* xp = x + (b * g.in_channels + c) * HW;
      each_tap_row(g, c, [&](int64_t yo, int64_t xo, int64_t wi, int64_t lo, int64_t hi) {
        T sum = 0;  // one output row (<= Wo terms) in T, rows and images summed in double
#pragma omp simd reduction(+ : sum)
        for (int64_t ow = lo; ow < hi; ++ow) sum += dyp[yo + ow] * xp[xo + ow * s];
        acc[wi - c * taps] += double(sum);
      });
    }
    for (int64_t t = 0; t < taps; ++t) dw[c * taps + t] = T(acc[size_t(t)]);
  }
}

// ---- stride 1: flattened padded planes ----------------------------------------------------

template <typename T>
struct Lanes {
  typedef T V __attribute__((vector_size(64)));
  static constexpr int64_t n = 64 / int64_t(sizeof(T));
};
template <typename T>
__attribute__((always_inline)) inline void load(typename Lanes<T>::V& v, const T* p) {
  std::memcpy(&v, p, sizeof v);
}
template <typename T>
__attribute__((always_inline)) inline void store(T* p, const typename Lanes<T>::V& v) {
  std::memcpy(p, &v, sizeof v);
}

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// A plane's padded layout: `rows` x `ld`, the data at (top, left), and the flat output length
// (out_rows * ld) rounded up to whole vectors. The buffer has slack after the last row so that
// the taps of the last vector read zeros.
struct FlatPlane {
  int64_t rows, ld, top, left, out_rows, length;
  int64_t buffer_size() const { return rows * ld + length - out_rows * ld + ld; }
};

FlatPlane flat_plane(int64_t out_rows, int64_t out_cols, int64_t kh, int64_t kw, int64_t top, int64_t left, int64_t lanes) {
  const int64_t ld = out_cols + kw - 1;
  return {out_rows + kh - 1, ld, top, left, out_rows, round_up(out_rows * ld, lanes)};
}

// Copies plane (H, W) into buf at (top, left) of the padded layout, zeros elsewhere.
template <typename T>
const T* pad_plane(const T* plane, int64_t H, int64_t W, const FlatPlane& f, std::vector<T>& buf) {
  buf.assign(size_t(f.buffer_size()), T(0));
  for (int64_t h = 0; h < H; ++h) std::copy(plane + h * W, plane + (h + 1) * W, buf.data() + (h + f.top) * f.ld + f.left);
  return buf.data();
}

// out[v * n + l] = init + sum_t k[t] * in[off[t] + v * n + l] for NV vectors of n lanes. An FMA
// waits ~4 cycles for its accumulator and two issue per cycle, so eight chains run at once: NV
// vectors times S = 8 / NV partial sums over interleaved taps, added at the end.
template <typename T, int NV>
__attribute__((always_inline)) inline void correlate_block(const T* in, const int64_t* off, const T* k, int64_t taps, T init,
                                                           T* out) {
  using V = typename Lanes<T>::V;
  constexpr int64_t n = Lanes<T>::n;
  constexpr int S = 8 / NV;
  V a[S][NV] = {}, v;
  int64_t t = 0;
  for (; t + S <= taps; t += S)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      const T* src = in + off[t + s];
      const T kt = k[t + s];
#pragma GCC unroll 8
      for (int u = 0; u < NV; ++u) load(v, src + u * n), a[s][u] += kt * v;
    }
  for (; t < taps; ++t)
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) load(v, in + off[t] + u * n), a[0][u] += k[t] * v;
#pragma GCC unroll 8
  for (int u = 0; u < NV; ++u) {
    V sum = V{} + init;
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) sum += a[s][u];
    store(out + u * n, sum);
  }
}

// out[p] = init + sum_t k[t] * in[p + off[t]] for p in [0, length), length a multiple of the
// lane count: blocks of 8 vectors, then 4, 2 and 1 for the rest.
template <typename T>
FROST_CLONES void correlate_flat(const T* in, const int64_t* off, const T* k, int64_t taps, T init, T* out, int64_t length) {
  constexpr int64_t n = Lanes<T>::n;
  int64_t p = 0;
  for (; p + 8 * n <= length; p += 8 * n) correlate_block<T, 8>(in + p, off, k, taps, init, out + p);
  if (p + 4 * n <= length) correlate_block<T, 4>(in + p, off, k, taps, init, out + p), p += 4 * n;
  if (p + 2 * n <= length) correlate_block<T, 2>(in + p, off, k, taps, init, out + p), p += 2 * n;
  if (p < length) correlate_block<T, 1>(in + p, off, k, taps, init, out + p);
}

// acc[i * kw + j] += sum_p g[p] * x[p + i * ld + j]: per kernel row, the kw taps share each load
// of g (KW > 0: kw known at compile time, one accumulator per tap); lanes are folded in double.
template <typename T, int KW>
FROST_CLONES void weight_taps_flat(const T* x, const T* g, int64_t ld, int64_t kh, int64_t kw_runtime, int64_t length,
                                   double* acc) {
  using V = typename Lanes<T>::V;
  constexpr int64_t n = Lanes<T>::n;
  const int64_t kw = KW > 0 ? KW : kw_runtime;
  auto fold = [&](const V& s, int64_t tap) {
    double sum = 0;
    for (int64_t l = 0; l < n; ++l) sum += double(s[l]);
    acc[tap] += sum;
  };
  for (int64_t i = 0; i < kh; ++i) {
    if constexpr (KW > 0) {
      V s[KW] = {}, gv, xv;
      for (int64_t p = 0; p < length; p += n) {
        load(gv, g + p);
        const T* xr = x + p + i * ld;
#pragma GCC unroll 8
        for (int j = 0; j < KW; ++j) load(xv, xr + j), s[j] += gv * xv;
      }
      for (int j = 0; j < KW; ++j) fold(s[j], i * kw + j);
    } else {
      for (int64_t j = 0; j < kw; ++j) {
        V s = {}, gv, xv;
        for (int64_t p = 0; p < length; p += n) load(gv, g + p), load(xv, x + p + i * ld + j), s += gv * xv;
        fold(s, i * kw + j);
      }
    }
  }
}

// Tap offsets of a kh x kw kernel in a layout of row stride ld.
std::vector<int64_t> tap_offsets(int64_t kh, int64_t kw, int64_t ld) {
  std::vector<int64_t> off(size_t(kh * kw));
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j) off[size_t(i * kw + j)] = i * ld + j;
  return off;
}

// For every plane: pads `src` (src_h x src_w), correlates it with the plane's kernel (flipped for
// dx) and writes the dst_h x dst_w result.
template <typename T>
void correlate_planes(const Conv2dGeometry& g, const T* src, int64_t src_h, int64_t src_w, const FlatPlane& f, const T* w,
                      bool flip, const T* bias, T* dst, int64_t dst_h, int64_t dst_w) {
  const int64_t taps = g.kernel_h * g.kernel_w;
  const std::vector<int64_t> off = tap_offsets(g.kernel_h, g.kernel_w, f.ld);
#pragma omp parallel
  {
    std::vector<T> buf, out(static_cast<size_t>(f.length)), k(static_cast<size_t>(taps));
#pragma omp for schedule(static)
    for (int64_t plane = 0; plane < g.batch * g.in_channels; ++plane) {
      const int64_t c = plane % g.in_channels;
      for (int64_t t = 0; t < taps; ++t) k[size_t(t)] = w[c * taps + (flip ? taps - 1 - t : t)];
      const T* in = pad_plane(src + plane * src_h * src_w, src_h, src_w, f, buf);
      correlate_flat(in, off.data(), k.data(), taps, bias ? bias[c] : T(0), out.data(), f.length);
      T* d = dst + plane * dst_h * dst_w;
      for (int64_t h = 0; h < dst_h; ++h) std::copy(out.data() + h * f.ld, out.data() + h * f.ld + dst_w, d + h * dst_w);
    }
  }
}

bool stride_one(const Conv2dGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.pad_h < g.kernel_h && g.pad_w < g.kernel_w;
}

template <typename T>
void flat_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), kh = g.kernel_h, kw = g.kernel_w, taps = kh * kw;
  const FlatPlane f = flat_plane(Ho, Wo, kh, kw, g.pad_h, g.pad_w, Lanes<T>::n);
#pragma omp parallel
  {
    std::vector<T> buf, gflat(static_cast<size_t>(f.length));
    std::vector<double> acc(static_cast<size_t>(taps));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < g.in_channels; ++c) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t b = 0; b < g.batch; ++b) {
        const int64_t plane = b * g.in_channels + c;
        const T* xp = pad_plane(x + plane * g.height * g.width, g.height, g.width, f, buf);
        std::fill(gflat.begin(), gflat.end(), T(0));
        for (int64_t h = 0; h < Ho; ++h)
          std::copy(dy + (plane * Ho + h) * Wo, dy + (plane * Ho + h + 1) * Wo, gflat.data() + h * f.ld);
        if (kw == 7)
          weight_taps_flat<T, 7>(xp, gflat.data(), f.ld, kh, kw, f.length, acc.data());
        else if (kw == 3)
          weight_taps_flat<T, 3>(xp, gflat.data(), f.ld, kh, kw, f.length, acc.data());
        else
          weight_taps_flat<T, 0>(xp, gflat.data(), f.ld, kh, kw, f.length, acc.data());
      }
      for (int64_t t = 0; t < taps; ++t) dw[c * taps + t] = T(acc[size_t(t)]);
    }
  }
}

}  // namespace

template <typename T>
void depthwise_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  if (!stride_one(g)) return strided_forward(g, x, w, bias, y);
  const int64_t Ho = g.out_height(), Wo = g.out_width();
  const FlatPlane f = flat_plane(Ho, Wo, g.kernel_h, g.kernel_w, g.pad_h, g.pad_w, Lanes<T>::n);
  correlate_planes(g, x, g.height, g.width, f, w, /*flip=*/false, bias, y, Ho, Wo);
}

// dx[ih][iw] = sum_{i,j} w[kh-1-i][kw-1-j] * dy_pad[ih + i][iw + j], dy padded by (k - 1 - p).
template <typename T>
void depthwise_backward_input(const Conv2dGeometry& g, const T* dy, const T* w, T* dx) {
  if (!stride_one(g)) return strided_backward_input(g, dy, w, dx);
  const int64_t kh = g.kernel_h, kw = g.kernel_w;
  const FlatPlane f = flat_plane(g.height, g.width, kh, kw, kh - 1 - g.pad_h, kw - 1 - g.pad_w, Lanes<T>::n);
  correlate_planes(g, dy, g.out_height(), g.out_width(), f, w, /*flip=*/true, static_cast<const T*>(nullptr), dx, g.height,
                   g.width);
}

template <typename T>
void depthwise_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw) {
  if (!stride_one(g)) return strided_backward_weight(g, dy, x, dw);
  flat_backward_weight(g, dy, x, dw);
}

#define FROST_INSTANTIATE(T)                                                                   \
  template void depthwise_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*); \
  template void depthwise_backward_input<T>(const Conv2dGeometry&, const T*, const T*, T*);    \
  template void depthwise_backward_weight<T>(const Conv2dGeometry&, const T*, const T*, T*);
FROST_INSTANTIATE(float)
FROST_INSTANTIATE(double)

}  // namespace frost::cpu
