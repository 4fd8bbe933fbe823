// reference.cpp: see reference.h. Every function loops over output elements and spells its
// formula out; nothing here is parallel, blocked or vectorised.
#include "kernels/cpu/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace frost::cpu::reference {

namespace {

struct RowStats {
  double mean, rstd;
};

RowStats row_stats(const double* x, int64_t C, double eps) {
  double mean = 0, var = 0;
  for (int64_t c = 0; c < C; ++c) mean += x[c];
  mean /= double(C);
  for (int64_t c = 0; c < C; ++c) var += (x[c] - mean) * (x[c] - mean);
  return {mean, 1.0 / std::sqrt(var / double(C) + eps)};
}

double log_sum_exp(const double* x, int64_t C) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < C; ++c) m = std::max(m, x[c]);
  if (std::isinf(m)) return m;
  double s = 0;
  for (int64_t c = 0; c < C; ++c) s += std::exp(x[c] - m);
  return m + std::log(s);
}

// The target distribution of row r: smoothed one-hot, or the given soft row.
std::vector<double> targets(const int64_t* labels, const double* soft, double smoothing, int64_t r, int64_t C) {
  std::vector<double> q(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c)
    q[size_t(c)] = labels ? smoothing / double(C) + (c == labels[r] ? 1.0 - smoothing : 0.0) : soft[r * C + c];
  return q;
}

// Element (b, h, row, col) of a contiguous (B, H, rows, cols) operand.
int64_t at(const AttentionGeometry& g, int64_t b, int64_t h, int64_t rows, int64_t cols, int64_t i, int64_t j) {
  return ((b * g.heads + h) * rows + i) * cols + j;
}

// The attention probabilities of (b, h): P[i * M + j].
std::vector<double> probabilities(const AttentionGeometry& g, const double* q, const double* k, int64_t b, int64_t h) {
  const int64_t N = g.queries, M = g.keys, D = g.head_dim;
  const double* bias = static_cast<const double*>(g.bias);
  std::vector<double> P(static_cast<size_t>(N * M));
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t j = 0; j < M; ++j) {
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += q[at(g, b, h, N, D, i, d)] * k[at(g, b, h, M, D, j, d)];
      s *= g.scale;
      if (bias) s += bias[b * g.bias_strides[0] + h * g.bias_strides[1] + i * g.bias_strides[2] + j * g.bias_strides[3]];
      P[size_t(i * M + j)] = s;
    }
    softmax_forward(&P[size_t(i * M)], 1, M, &P[size_t(i * M)]);
  }
  return P;
}

// Calls f(b, co, oi, oj, ci, ki, kj, xi, xj) for every tap of the convolution that reads inside x.
template <typename F>
void for_each_tap(const Conv2dGeometry& g, F f) {
  const int64_t cin_g = g.in_channels / g.groups, cout_g = g.out_channels / g.groups;
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t co = 0; co < g.out_channels; ++co)
      for (int64_t oi = 0; oi < g.out_height(); ++oi)
        for (int64_t oj = 0; oj < g.out_width(); ++oj)
          for (int64_t ci = 0; ci < cin_g; ++ci)
            for (int64_t ki = 0; ki < g.kernel_h; ++ki)
              for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
                const int64_t xi = oi * g.stride_h - g.pad_h + ki, xj = oj * g.stride_w - g.pad_w + kj;
                if (xi < 0 || xi >= g.height || xj < 0 || xj >= g.width) continue;
                f(b, co, oi, oj, (co / cout_g) * cin_g + ci, ci, ki, kj, xi, xj);
              }
}

}  // namespace

void layer_norm_forward(const double* x, const double* w, const double* b, int64_t rows, int64_t C, double eps, double* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const RowStats s = row_stats(x + r * C, C, eps);
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = (x[r * C + c] - s.mean) * s.rstd * (w ? w[c] : 1.0) + (b ? b[c] : 0.0);
  }
}

void layer_norm_backward(const double* dy, const double* x, const double* w, int64_t rows, int64_t C, double eps, double* dx,
                         double* dw, double* db) {
  if (dw) std::fill(dw, dw + C, 0.0);
  if (db) std::fill(db, db + C, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = x + r * C;
    const double* gr = dy + r * C;
    const RowStats s = row_stats(xr, C, eps);
    // xhat_c = (x_c - mean) rstd; d xhat_c / d x_k = rstd (delta_ck - 1/C - xhat_c xhat_k / C)
    double sum_g = 0, sum_g_xhat = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (xr[c] - s.mean) * s.rstd, g = gr[c] * (w ? w[c] : 1.0);
      sum_g += g;
      sum_g_xhat += g * xhat;
      if (dw) dw[c] += gr[c] * xhat;
      if (db) db[c] += gr[c];
    }
    if (dx)
      for (int64_t k = 0; k < C; ++k) {
        const double xhat_k = (xr[k] - s.mean) * s.rstd, g_k = gr[k] * (w ? w[k] : 1.0);
        dx[r * C + k] = s.rstd * (g_k - sum_g / double(C) - xhat_k * sum_g_xhat / double(C));
      }
  }
}

void softmax_forward(const double* x, int64_t rows, int64_t C, double* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const double lse = log_sum_exp(x + r * C, C);
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = std::isinf(lse) ? 0.0 : std::exp(x[r * C + c] - lse);
  }
}

void softmax_backward(const double* y, const double* dy, int64_t rows, int64_t C, double* dx) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) {  // dy_k/dx_c = y_k (delta_kc - y_c)
      double s = 0;
      for (int64_t k = 0; k < C; ++k) s += dy[r * C + k] * y[r * C + k] * ((k == c ? 1.0 : 0.0) - y[r * C + c]);
      dx[r * C + c] = s;
    }
}

void log_softmax_forward(const double* x, int64_t rows, int64_t C, double* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const double lse = log_sum_exp(x + r * C, C);
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = x[r * C + c] - lse;
  }
}

void log_softmax_backward(const double* y, const double* dy, int64_t rows, int64_t C, double* dx) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) {  // dy_k/dx_c = delta_kc - softmax_c
      double s = 0;
      for (int64_t k = 0; k < C; ++k) s += dy[r * C + k] * ((k == c ? 1.0 : 0.0) - std::exp(y[r * C + c]));
      dx[r * C + c] = s;
    }
}

void cross_entropy_forward(const double* logits, const int64_t* labels, const double* soft_targets, double smoothing,
                           int64_t rows, int64_t C, double* loss) {
  std::vector<double> logp(static_cast<size_t>(C));
  for (int64_t r = 0; r < rows; ++r) {
    log_softmax_forward(logits + r * C, 1, C, logp.data());
    const std::vector<double> q = targets(labels, soft_targets, smoothing, r, C);
    double l = 0;
    for (int64_t c = 0; c < C; ++c) l -= q[size_t(c)] * logp[size_t(c)];
    loss[r] = l;
  }
}

void cross_entropy_backward(const double* logits, const int64_t* labels, const double* soft_targets, double smoothing,
                            const double* row_grad, int64_t rows, int64_t C, double* dlogits) {
  std::vector<double> p(static_cast<size_t>(C));
  for (int64_t r = 0; r < rows; ++r) {
    softmax_forward(logits + r * C, 1, C, p.data());
    const std::vector<double> q = targets(labels, soft_targets, smoothing, r, C);
    double q_sum = 0;
    for (double v : q) q_sum += v;
    // d/dx_c of -sum_k q_k (x_k - lse) = q_sum p_c - q_c
    for (int64_t c = 0; c < C; ++c) dlogits[r * C + c] = row_grad[r] * (q_sum * p[size_t(c)] - q[size_t(c)]);
  }
}

void sum_middle(const double* x, int64_t outer, int64_t R, int64_t inner, double* out) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double s = 0;
      for (int64_t r = 0; r < R; ++r) s += x[(o * R + r) * inner + i];
      out[o * inner + i] = s;
    }
}

void max_middle(const double* x, int64_t outer, int64_t R, int64_t inner, double* out, int64_t* argmax) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t r = 1; r < R; ++r) {
        const double v = x[(o * R + r) * inner + i], m = x[(o * R + best) * inner + i];
        if (!std::isnan(m) && (std::isnan(v) || v > m)) best = r;  // the first maximum; NaN wins
      }
      out[o * inner + i] = x[(o * R + best) * inner + i];
      argmax[o * inner + i] = best;
    }
}

void attention_forward(const AttentionGeometry& g, const double* q, const double* k, const double* v, double* out) {
  const int64_t N = g.queries, M = g.keys, Dv = g.value_dim;
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t h = 0; h < g.heads; ++h) {
      const std::vector<double> P = probabilities(g, q, k, b, h);
      for (int64_t i = 0; i < N; ++i)
        for (int64_t e = 0; e < Dv; ++e) {
          double o = 0;
          for (int64_t j = 0; j < M; ++j) o += P[size_t(i * M + j)] * v[at(g, b, h, M, Dv, j, e)];
          out[at(g, b, h, N, Dv, i, e)] = o;
        }
    }
}

void attention_backward(const AttentionGeometry& g, const double* dout, const double* q, const double* k, const double* v,
                        double* dq, double* dk, double* dv) {
  const int64_t N = g.queries, M = g.keys, D = g.head_dim, Dv = g.value_dim;
  std::fill(dq, dq + g.batch * g.heads * N * D, 0.0);
  std::fill(dk, dk + g.batch * g.heads * M * D, 0.0);
  std::fill(dv, dv + g.batch * g.heads * M * Dv, 0.0);
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t h = 0; h < g.heads; ++h) {
      const std::vector<double> P = probabilities(g, q, k, b, h);
      for (int64_t i = 0; i < N; ++i) {
        std::vector<double> dP(static_cast<size_t>(M)), dS(static_cast<size_t>(M));
        for (int64_t j = 0; j < M; ++j)
          for (int64_t e = 0; e < Dv; ++e) {
            dP[size_t(j)] += dout[at(g, b, h, N, Dv, i, e)] * v[at(g, b, h, M, Dv, j, e)];
            dv[at(g, b, h, M, Dv, j, e)] += P[size_t(i * M + j)] * dout[at(g, b, h, N, Dv, i, e)];
          }
        softmax_backward(&P[size_t(i * M)], dP.data(), 1, M, dS.data());
        for (int64_t j = 0; j < M; ++j)
          for (int64_t d = 0; d < D; ++d) {
            dq[at(g, b, h, N, D, i, d)] += g.scale * dS[size_t(j)] * k[at(g, b, h, M, D, j, d)];
            dk[at(g, b, h, M, D, j, d)] += g.scale * dS[size_t(j)] * q[at(g, b, h, N, D, i, d)];
          }
      }
    }
}

void conv2d_forward(const Conv2dGeometry& g, const double* x, const double* w, const double* bias, double* y) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), cin_g = g.in_channels / g.groups;
  for (int64_t i = 0; i < g.output_numel(); ++i) y[i] = bias ? bias[(i / (Ho * Wo)) % g.out_channels] : 0.0;
  for_each_tap(g, [&](int64_t b, int64_t co, int64_t oi, int64_t oj, int64_t cin, int64_t ci, int64_t ki, int64_t kj, int64_t xi,
                      int64_t xj) {
    y[((b * g.out_channels + co) * Ho + oi) * Wo + oj] += w[((co * cin_g + ci) * g.kernel_h + ki) * g.kernel_w + kj] *
                                                          x[((b * g.in_channels + cin) * g.height + xi) * g.width + xj];
  });
}

void conv2d_backward_input(const Conv2dGeometry& g, const double* dy, const double* w, double* dx) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), cin_g = g.in_channels / g.groups;
  std::fill(dx, dx + g.input_numel(), 0.0);
  for_each_tap(g, [&](int64_t b, int64_t co, int64_t oi, int64_t oj, int64_t cin, int64_t ci, int64_t ki, int64_t kj, int64_t xi,
                      int64_t xj) {
    dx[((b * g.in_channels + cin) * g.height + xi) * g.width + xj] +=
        w[((co * cin_g + ci) * g.kernel_h + ki) * g.kernel_w + kj] * dy[((b * g.out_channels + co) * Ho + oi) * Wo + oj];
  });
}

void conv2d_backward_weight(const Conv2dGeometry& g, const double* dy, const double* x, double* dw, double* db) {
  const int64_t Ho = g.out_height(), Wo = g.out_width(), cin_g = g.in_channels / g.groups;
  std::fill(dw, dw + g.weight_numel(), 0.0);
  for_each_tap(g, [&](int64_t b, int64_t co, int64_t oi, int64_t oj, int64_t cin, int64_t ci, int64_t ki, int64_t kj, int64_t xi,
                      int64_t xj) {
    dw[((co * cin_g + ci) * g.kernel_h + ki) * g.kernel_w + kj] +=
        dy[((b * g.out_channels + co) * Ho + oi) * Wo + oj] * x[((b * g.in_channels + cin) * g.height + xi) * g.width + xj];
  });
  if (db) {
    std::fill(db, db + g.out_channels, 0.0);
    for (int64_t i = 0; i < g.output_numel(); ++i) db[(i / (Ho * Wo)) % g.out_channels] += dy[i];
  }
}

}  // namespace frost::cpu::reference
