// test_reference.cpp: the CPU fast paths of each op family (f64, f32 and, where the family has
// one, bf16) against the plain double loops of kernels/cpu/reference.h, kernel call by kernel
// call on raw buffers, with odd sizes, affine and not, labels and soft targets, a broadcast
// attention bias, and general, grouped, strided and depthwise convolutions.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/reference.h"
#include "kernels/cpu/softmax.h"
#include "kernels/dtype.h"
#include "tests/helpers.h"

using namespace frost;

namespace {

using Doubles = std::vector<double>;

Doubles random_values(size_t n, uint64_t seed, double scale = 1.0) {
  Doubles v = test::normal({int64_t(n)}, seed, DType::f64).to_doubles();
  for (double& x : v) x *= scale;
  return v;
}

template <typename T>
std::vector<T> as(const Doubles& v) {
  std::vector<T> out;
  for (double x : v) out.push_back(T(float(x)));  // through float: bf16 has no double constructor
  return out;
}
template <>
std::vector<double> as<double>(const Doubles& v) {
  return v;
}

template <typename T>
Doubles back(const std::vector<T>& v) {
  Doubles out;
  for (const T& x : v) out.push_back(double(float(x)));
  return out;
}
template <>
Doubles back<double>(const std::vector<double>& v) {
  return v;
}

// ||a - b|| / ||b|| (||a - b|| when b is zero).
double rel(const Doubles& a, const Doubles& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return std::sqrt(num) / (den > 0 ? std::sqrt(den) : 1.0);
}

template <typename T>
double tolerance() {
  return std::is_same_v<T, double> ? 1e-12 : std::is_same_v<T, float> ? 2e-6 : 1.5e-2;
}
template <typename T>
const char* name() {
  return std::is_same_v<T, double> ? "f64" : std::is_same_v<T, float> ? "f32" : "bf16";
}

template <typename T>
void check_layer_norm(bool affine) {
  INFO(name<T>() << (affine ? " affine" : " plain"));
  const int64_t rows = 37, C = 70;
  const Doubles x = random_values(static_cast<size_t>(rows * C), 1, 3.0), dy = random_values(static_cast<size_t>(rows * C), 2);
  const Doubles w = random_values(static_cast<size_t>(C), 3), b = random_values(static_cast<size_t>(C), 4);
  const std::vector<T> xt = as<T>(x), dyt = as<T>(dy), wt = as<T>(w), bt = as<T>(b);
  // The reference sees the inputs as the kernel does: rounded to T.
  const Doubles xr = back(xt), dyr = back(dyt), wr = back(wt), br = back(bt);
  std::vector<T> y(x.size()), dx(x.size()), dw(static_cast<size_t>(C)), db(static_cast<size_t>(C));
  std::vector<acc_t<T>> mean(static_cast<size_t>(rows)), rstd(static_cast<size_t>(rows));
  const T* wp = affine ? wt.data() : nullptr;
  cpu::layer_norm_forward<T>(xt.data(), wp, affine ? bt.data() : nullptr, rows, C, 1e-6, y.data(), mean.data(), rstd.data());
  cpu::layer_norm_backward<T>(dyt.data(), xt.data(), mean.data(), rstd.data(), wp, rows, C, dx.data(), dw.data(), db.data());
  Doubles ry(x.size()), rdx(x.size()), rdw(static_cast<size_t>(C)), rdb(static_cast<size_t>(C));
  cpu::reference::layer_norm_forward(xr.data(), affine ? wr.data() : nullptr, affine ? br.data() : nullptr, rows, C, 1e-6,
                                     ry.data());
  cpu::reference::layer_norm_backward(dyr.data(), xr.data(), affine ? wr.data() : nullptr, rows, C, 1e-6, rdx.data(), rdw.data(),
                                      rdb.data());
  CHECK(rel(back(y), ry) < tolerance<T>());
  CHECK(rel(back(dx), rdx) < tolerance<T>());
  CHECK(rel(back(dw), rdw) < tolerance<T>());
  CHECK(rel(back(db), rdb) < tolerance<T>());
}

template <typename T>
void check_softmax_family() {
  INFO(name<T>());
  const int64_t rows = 23, C = 45;
  const std::vector<T> x = as<T>(random_values(static_cast<size_t>(rows * C), 5, 4.0)),
                       dy = as<T>(random_values(static_cast<size_t>(rows * C), 6));
  const Doubles xr = back(x), dyr = back(dy);
  std::vector<T> y(x.size()), dx(x.size());
  Doubles ry(x.size()), rdx(x.size());
  cpu::softmax_forward<T>(x.data(), rows, C, y.data());
  cpu::softmax_backward<T>(y.data(), dy.data(), rows, C, dx.data());
  cpu::reference::softmax_forward(xr.data(), rows, C, ry.data());
  cpu::reference::softmax_backward(ry.data(), dyr.data(), rows, C, rdx.data());
  CHECK(rel(back(y), ry) < tolerance<T>());
  CHECK(rel(back(dx), rdx) < tolerance<T>());
  cpu::log_softmax_forward<T>(x.data(), rows, C, y.data());
  cpu::log_softmax_backward<T>(y.data(), dy.data(), rows, C, dx.data());
  cpu::reference::log_softmax_forward(xr.data(), rows, C, ry.data());
  cpu::reference::log_softmax_backward(ry.data(), dyr.data(), rows, C, rdx.data());
  CHECK(rel(back(y), ry) < tolerance<T>());
  CHECK(rel(back(dx), rdx) < tolerance<T>());

  std::vector<int64_t> labels;
  for (int64_t r = 0; r < rows; ++r) labels.push_back((r * 7) % C);
  const Doubles soft_d = [&] {
    Doubles s = random_values(static_cast<size_t>(rows * C), 7);
    for (double& v : s) v = std::fabs(v) / double(C);  // not normalised: the loss scales with sum q
    return s;
  }();
  const std::vector<T> soft = as<T>(soft_d), grad = as<T>(random_values(static_cast<size_t>(rows), 8));
  for (const bool hard : {true, false}) {
    INFO((hard ? "labels, smoothing 0.1" : "soft targets"));
    const int64_t* lp = hard ? labels.data() : nullptr;
    const T* sp = hard ? nullptr : soft.data();
    std::vector<T> loss(static_cast<size_t>(rows)), dlogits(x.size());
    std::vector<double> lse(static_cast<size_t>(rows));
    cpu::cross_entropy_forward<T>(x.data(), lp, sp, hard ? 0.1 : 0.0, rows, C, loss.data(), lse.data());
    cpu::cross_entropy_backward<T>(x.data(), lse.data(), lp, sp, hard ? 0.1 : 0.0, grad.data(), rows, C, dlogits.data());
    const Doubles softr = back(soft), gradr = back(grad);
    Doubles rloss(static_cast<size_t>(rows)), rd(x.size());
    cpu::reference::cross_entropy_forward(xr.data(), lp, hard ? nullptr : softr.data(), hard ? 0.1 : 0.0, rows, C, rloss.data());
    cpu::reference::cross_entropy_backward(xr.data(), lp, hard ? nullptr : softr.data(), hard ? 0.1 : 0.0, gradr.data(), rows, C,
                                           rd.data());
    CHECK(rel(back(loss), rloss) < tolerance<T>());
    CHECK(rel(back(dlogits), rd) < tolerance<T>());
  }
}

template <typename T>
void check_reductions() {
  INFO(name<T>());
  const int64_t outer = 3, R = 17, inner = 9;
  const std::vector<T> x = as<T>(random_values(static_cast<size_t>(outer * R * inner), 9));
  const Doubles xr = back(x);
  std::vector<T> out(static_cast<size_t>(outer * inner));
  std::vector<int64_t> argmax(out.size()), rargmax(out.size());
  Doubles rout(out.size());
  cpu::sum_middle<T>(x.data(), outer, R, inner, out.data());
  cpu::reference::sum_middle(xr.data(), outer, R, inner, rout.data());
  CHECK(rel(back(out), rout) < tolerance<T>());
  cpu::max_middle<T>(x.data(), outer, R, inner, out.data(), argmax.data());
  cpu::reference::max_middle(xr.data(), outer, R, inner, rout.data(), rargmax.data());
  CHECK(back(out) == rout);
  CHECK(argmax == rargmax);
}

template <typename T>
void check_attention(bool bias) {
  INFO(name<T>() << (bias ? " with a [1, H, N, M] bias" : ""));
  cpu::AttentionGeometry g{2, 3, 7, 9, 5, 4, 1.0 / std::sqrt(5.0)};
  const int64_t BH = g.batch * g.heads;
  const std::vector<T> q = as<T>(random_values(static_cast<size_t>(BH * 7 * 5), 10)),
                       k = as<T>(random_values(static_cast<size_t>(BH * 9 * 5), 11));
  const std::vector<T> v = as<T>(random_values(static_cast<size_t>(BH * 9 * 4), 12)),
                       dout = as<T>(random_values(static_cast<size_t>(BH * 7 * 4), 13));
  const std::vector<T> b = as<T>(random_values(static_cast<size_t>(3 * 7 * 9), 14));
  const Doubles qr = back(q), kr = back(k), vr = back(v), doutr = back(dout), br = back(b);
  std::vector<T> out(dout.size()), probs(static_cast<size_t>(BH * 7 * 9)), dq(q.size()), dk(k.size()), dv(v.size());
  Doubles rout(out.size()), rdq(q.size()), rdk(k.size()), rdv(v.size());
  cpu::AttentionGeometry rg = g;
  if (bias) {
    g.bias = b.data(), rg.bias = br.data();
    for (cpu::AttentionGeometry* x : {&g, &rg}) x->bias_strides[1] = 7 * 9, x->bias_strides[2] = 9, x->bias_strides[3] = 1;
  }
  cpu::attention_forward<T>(g, q.data(), k.data(), v.data(), out.data(), probs.data());
  cpu::attention_backward<T>(g, dout.data(), q.data(), k.data(), v.data(), probs.data(), dq.data(), dk.data(), dv.data(),
                             nullptr);
  cpu::reference::attention_forward(rg, qr.data(), kr.data(), vr.data(), rout.data());
  cpu::reference::attention_backward(rg, doutr.data(), qr.data(), kr.data(), vr.data(), rdq.data(), rdk.data(), rdv.data());
  CHECK(rel(back(out), rout) < tolerance<T>());
  CHECK(rel(back(dq), rdq) < tolerance<T>());
  CHECK(rel(back(dk), rdk) < tolerance<T>());
  CHECK(rel(back(dv), rdv) < tolerance<T>());
}

template <typename T>
void check_conv(const cpu::Conv2dGeometry& g, const std::string& what) {
  INFO(name<T>() << " " << what);
  const std::vector<T> x = as<T>(random_values(static_cast<size_t>(g.input_numel()), 15)),
                       w = as<T>(random_values(static_cast<size_t>(g.weight_numel()), 16));
  const std::vector<T> bias = as<T>(random_values(static_cast<size_t>(g.out_channels), 17)),
                       dy = as<T>(random_values(static_cast<size_t>(g.output_numel()), 18));
  const Doubles xr = back(x), wr = back(w), biasr = back(bias), dyr = back(dy);
  std::vector<T> y(dy.size()), dx(x.size()), dw(w.size()), db(bias.size());
  Doubles ry(dy.size()), rdx(x.size()), rdw(w.size()), rdb(bias.size());
  cpu::conv2d_forward<T>(g, x.data(), w.data(), bias.data(), y.data());
  cpu::conv2d_backward_input<T>(g, dy.data(), w.data(), dx.data());
  cpu::conv2d_backward_weight<T>(g, dy.data(), x.data(), dw.data(), db.data());
  cpu::reference::conv2d_forward(g, xr.data(), wr.data(), biasr.data(), ry.data());
  cpu::reference::conv2d_backward_input(g, dyr.data(), wr.data(), rdx.data());
  cpu::reference::conv2d_backward_weight(g, dyr.data(), xr.data(), rdw.data(), rdb.data());
  CHECK(rel(back(y), ry) < tolerance<T>());
  CHECK(rel(back(dx), rdx) < tolerance<T>());
  CHECK(rel(back(dw), rdw) < tolerance<T>());
  CHECK(rel(back(db), rdb) < tolerance<T>());
}

template <typename T>
void check_convs() {
  //                         B  Cin H   W  Cout kh kw sh sw ph pw groups
  check_conv<T>(cpu::Conv2dGeometry{2, 3, 11, 9, 5, 3, 3, 2, 2, 1, 1, 1}, "3x3 stride 2 pad 1");
  check_conv<T>(cpu::Conv2dGeometry{2, 4, 8, 7, 6, 3, 2, 1, 1, 0, 1, 2}, "grouped (2), 3x2");
  check_conv<T>(cpu::Conv2dGeometry{2, 6, 10, 9, 6, 7, 7, 1, 1, 3, 3, 6}, "depthwise 7x7 pad 3");
  check_conv<T>(cpu::Conv2dGeometry{1, 3, 16, 16, 8, 4, 4, 4, 4, 0, 0, 1}, "patch embedding 4x4/4");
}

}  // namespace

TEST_CASE("layer norm's fast path matches its reference loop (f64, f32, bf16)", "[cpu][kernels][reference]") {
  for (const bool affine : {true, false}) {
    check_layer_norm<double>(affine);
    check_layer_norm<float>(affine);
    check_layer_norm<bf16>(affine);
  }
}

TEST_CASE("softmax, log_softmax and cross-entropy match their reference loops (f64, f32)", "[cpu][kernels][reference]") {
  check_softmax_family<double>();
  check_softmax_family<float>();
}

TEST_CASE("sum and max over the middle dim match their reference loops (f64, f32, bf16)", "[cpu][kernels][reference]") {
  check_reductions<double>();
  check_reductions<float>();
  check_reductions<bf16>();
}

TEST_CASE("attention forward and backward match the reference loop (f64, f32, bf16)", "[cpu][kernels][reference]") {
  for (const bool bias : {false, true}) {
    check_attention<double>(bias);
    check_attention<float>(bias);
    check_attention<bf16>(bias);
  }
}

TEST_CASE("conv2d forward and both gradients match the reference loop (f64, f32, bf16)", "[cpu][kernels][reference]") {
  check_convs<double>();
  check_convs<float>();
  check_convs<bf16>();
}
