// test_kernels.cpp: the fast CPU paths against their plain references.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/reduce.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;

TEST_CASE("f32 GEMM micro-kernels match the reference on odd shapes and strides", "[cpu][kernels]") {
  // Sizes straddle every blocking edge (MR 6/12, NR 16/32, KC 512, MC 144).
  // {8, 40, 2100} and {300, 8, 1500} are skinny with a long K: K is split across the threads (LoRA's
  // dA and dB); N <= 16 takes AVX-512's narrow tile (24 x 16).
  const std::vector<std::array<int64_t, 3>> shapes = {{1, 1, 1},     {7, 33, 5},     {13, 17, 257}, {145, 65, 600}, {50, 200, 31},
                                                      {8, 40, 2100}, {300, 8, 1500}, {77, 16, 45},  {170, 5, 600}};
  for (const char* kernel : {"portable", "avx2", "avx512"}) {
    try {
      cpu::gemm_f32_force_kernel(kernel);
    } catch (const std::invalid_argument&) {
      // Not WARN: Catch2's TAP reporter numbers a warning like a test, which breaks meson's TAP parse.
      std::fprintf(stderr, "skipping the %s micro-kernel: not supported by this CPU\n", kernel);
      continue;
    }
    for (const auto& [M, N, K] : shapes)
      for (int trans = 0; trans < 4; ++trans) {
        const bool ta = trans & 1, tb = trans & 2;
        const Tensor a = normal(ta ? Shape{K, M} : Shape{M, K}, uint64_t(M + K), DType::f32);
        const Tensor b = normal(tb ? Shape{N, K} : Shape{K, N}, uint64_t(N + K + 1), DType::f32);
        const cpu::MatrixRef A = cpu::mat(a.raw_data(), ta ? M : K, ta);
        const cpu::MatrixRef B = cpu::mat(b.raw_data(), tb ? K : N, tb);
        // beta = 0.5 onto existing values, C with a leading dimension wider than N; with and
        // without a bias in the epilogue (beta 0 with it: a linear layer's forward)
        const Tensor bias = normal({N}, uint64_t(N), DType::f32);
        for (int with_bias = 0; with_bias < 3; ++with_bias) {
          const float* pb = with_bias ? bias.typed_data<float>() : nullptr;
          const float beta = with_bias == 2 ? 0.0f : 0.5f;
          std::vector<float> c(size_t(M * (N + 3)), 1.0f), ref(c);
          cpu::gemm_f32(M, N, K, 1.5f, A, B, beta, c.data(), N + 3, pb);
          cpu::gemm_reference<float>(M, N, K, 1.5f, A, B, beta, ref.data(), N + 3, pb);
          double err = 0, norm = 0;
          for (size_t i = 0; i < c.size(); ++i) {
            err += (double(c[i]) - ref[i]) * (double(c[i]) - ref[i]);
            norm += double(ref[i]) * ref[i];
          }
          INFO(kernel << " M=" << M << " N=" << N << " K=" << K << " transA=" << ta << " transB=" << tb << " bias=" << with_bias);
          CHECK(std::sqrt(err / norm) < 1e-6);  // f32 accumulation over K <= 600 terms: ~1e-7
        }
      }
  }
  cpu::gemm_f32_force_kernel("");
  // beta = 0 never reads C, even when it holds NaN
  std::vector<float> a(4, 1.0f), b(4, 1.0f), c(4, NAN);
  cpu::gemm_f32(2, 2, 2, 1.0f, cpu::mat(a.data(), 2), cpu::mat(b.data(), 2), 0.0f, c.data(), 2);
  CHECK(c == std::vector<float>{2, 2, 2, 2});
  // K = 0 leaves beta C + bias
  const std::vector<float> bias = {0.25f, -1.0f};
  std::vector<float> c0 = {1, 2, 3, 4};
  cpu::gemm_f32(2, 2, 0, 1.0f, cpu::mat(a.data(), 2), cpu::mat(b.data(), 2), 2.0f, c0.data(), 2, bias.data());
  CHECK(c0 == std::vector<float>{2.25f, 3.0f, 6.25f, 7.0f});
}

TEST_CASE("vectorised f32 activations match <cmath> to f32 precision", "[cpu][kernels]") {
  using cpu::UnaryOp;
  std::vector<float> x;
  for (int i = -4000; i <= 4000; ++i) x.push_back(float(i) / 400.0f);  // [-10, 10]
  std::vector<float> y(x.size()), dy(x.size(), 1.0f), dx(x.size());
  for (UnaryOp op : {UnaryOp::exp, UnaryOp::sigmoid, UnaryOp::gelu_erf, UnaryOp::gelu_tanh, UnaryOp::quick_gelu, UnaryOp::tanh}) {
    cpu::unary_forward<float>(op, x.data(), y.data(), int64_t(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = cpu::unary_reference(op, double(x[i]));
      // exp: relative; the rest are O(1)-bounded or linear in x: absolute + relative
      const double tol = op == UnaryOp::exp ? 4e-7 * std::fabs(ref) : 2e-6 + 1e-6 * std::fabs(ref);
      INFO("op " << int(op) << " x=" << x[i]);
      REQUIRE(std::fabs(double(y[i]) - ref) <= tol);
    }
  }
  // derivative of GELU against a central difference of the reference in double
  cpu::unary_backward<float>(UnaryOp::gelu_erf, x.data(), nullptr, dy.data(), dx.data(), int64_t(x.size()));
  for (size_t i = 0; i < x.size(); i += 7) {
    const double h = 1e-5, xi = double(x[i]);
    const double num =
        (cpu::unary_reference(UnaryOp::gelu_erf, xi + h) - cpu::unary_reference(UnaryOp::gelu_erf, xi - h)) / (2 * h);
    REQUIRE(std::fabs(double(dx[i]) - num) < 2e-6);
  }
}

TEST_CASE("f32 ops agree with their f64 evaluation", "[cpu][kernels]") {
  // Each op in f32 vs the same op in f64 through the engine: relative error of a few f32 ulps
  // accumulated over the reduction length (test_reference.cpp checks the kernels against the
  // plain loops of kernels/cpu/reference.h).
  const Tensor x = normal({4, 33, 40}, 11);
  auto check = [&](const char* what, auto op, double tol) {
    INFO(what);
    CHECK(rel_error(op(x.to(DType::f32)), op(x)) < tol);
  };
  check(
      "softmax", [](const Tensor& t) { return softmax(t, -1); }, 1e-6);
  check(
      "log_softmax", [](const Tensor& t) { return log_softmax(t, 1); }, 1e-6);
  check(
      "layer_norm", [](const Tensor& t) { return layer_norm(t, Tensor(), Tensor(), 1e-6); }, 1e-6);
  check(
      "gelu", [](const Tensor& t) { return gelu(t); }, 1e-6);
  check(
      "sum", [](const Tensor& t) { return sum(t, {1}); }, 1e-6);
  check(
      "matmul", [](const Tensor& t) { return matmul(t, t.transpose(1, 2)); }, 1e-6);
  check(
      "attention",
      [](const Tensor& t) {
        Tensor q = t.reshape({4, 3, 11, 40});
        return scaled_dot_product_attention(q, q, q);
      },
      1e-6);
  const Tensor img = normal({2, 6, 15, 13}, 12), w = normal({6, 1, 7, 7}, 13), w2 = normal({4, 6, 3, 3}, 14);
  CHECK(rel_error(conv2d(img.to(DType::f32), w.to(DType::f32), Tensor(), {1, 1, 3, 3, 6}),
                  conv2d(img, w, Tensor(), {1, 1, 3, 3, 6})) < 1e-6);
  CHECK(rel_error(conv2d(img.to(DType::f32), w2.to(DType::f32), Tensor(), {2, 2, 1, 1, 1}),
                  conv2d(img, w2, Tensor(), {2, 2, 1, 1, 1})) < 1e-6);
}

TEST_CASE("softmax handles fully masked rows and extreme logits", "[cpu][kernels]") {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = Tensor::from_vector({-inf, -inf, -inf, 1000, 0, -1000}, {2, 3});
  const std::vector<double> y = softmax(x).to_doubles();
  CHECK(y == std::vector<double>{0, 0, 0, 1, 0, 0});
  const Tensor big = Tensor::from_vector({1000, 1001}, {1, 2});
  const Tensor labels = Tensor::from_vector({1}, {1}, DType::i64);
  CHECK(std::fabs(cross_entropy(big, labels).item() - std::log1p(std::exp(-1.0))) < 1e-6);
  // no classes: an error naming the logits, for labels and for soft targets alike
  const Tensor none = Tensor::empty({2, 0});
  CHECK_THROWS_WITH(cross_entropy(none, Tensor::from_vector({0, 0}, {2}, DType::i64)), Catch::Contains("no classes"));
  CHECK_THROWS_WITH(cross_entropy(none, none), Catch::Contains("no classes") && Catch::Contains("[2, 0]"));
}

TEST_CASE("depthwise convolution fast path matches channel-by-channel convolution", "[cpu][kernels]") {
  // The stride-1 direct kernel (flattened padded planes) against the im2col path run on one channel
  // at a time; planes long enough for every block width of the vector loop and its tails,
  // forward and all three gradients, with odd sizes and asymmetric kernels.
  struct Case {
    int64_t C, H, W, kh, kw, ph, pw;
  };
  for (const Case& c : {Case{5, 9, 13, 7, 7, 3, 3}, Case{3, 6, 5, 3, 5, 1, 2}, Case{4, 8, 8, 3, 3, 0, 0},
                        Case{3, 21, 23, 7, 7, 3, 3}, Case{2, 17, 30, 3, 3, 1, 1}}) {
    INFO("C " << c.C << " H " << c.H << " W " << c.W << " k " << c.kh << "x" << c.kw);
    Tensor x = normal({2, c.C, c.H, c.W}, 1, DType::f32).set_requires_grad(true);
    Tensor w = normal({c.C, 1, c.kh, c.kw}, 2, DType::f32).set_requires_grad(true);
    Tensor b = normal({c.C}, 3, DType::f32).set_requires_grad(true);
    const Tensor probe = normal({2, c.C, c.H + 2 * c.ph - c.kh + 1, c.W + 2 * c.pw - c.kw + 1}, 4, DType::f32);
    const Conv2dOptions dw{1, 1, c.ph, c.pw, c.C}, single{1, 1, c.ph, c.pw, 1};
    const Tensor fast = conv2d(x, w, b, dw);
    std::vector<Tensor> parts;
    for (int64_t ch = 0; ch < c.C; ++ch)
      parts.push_back(conv2d(x.narrow(1, ch, 1), w.narrow(0, ch, 1), b.narrow(0, ch, 1), single));
    const Tensor reference = cat(parts, 1);
    CHECK(rel_error(fast, reference) < 1e-6);
    sum(mul(fast, probe)).backward();
    const Tensor gx = x.grad(), gw = w.grad(), gb = b.grad();
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
    sum(mul(reference, probe)).backward();
    CHECK(rel_error(gx, x.grad()) < 1e-6);
    CHECK(rel_error(gw, w.grad()) < 1e-6);
    CHECK(rel_error(gb, b.grad()) < 1e-6);
  }
}

TEST_CASE("sum over the middle dim matches a double loop, rows split across threads or not", "[cpu][kernels]") {
  // [1, R, C] is a bias gradient: too few (outer, column chunk) jobs for the team, so R is split
  // and the parts added in order; [3, R, 700] has enough jobs; inner == 1 is a row sum.
  for (const std::array<int64_t, 3> s : {std::array<int64_t, 3>{1, 1576, 192}, {1, 70, 3000}, {3, 300, 700}, {40, 2000, 1}}) {
    INFO("outer " << s[0] << " R " << s[1] << " inner " << s[2]);
    const int64_t outer = s[0], R = s[1], inner = s[2];
    const std::vector<double> xd = normal({outer * R * inner}, 5, DType::f64).to_doubles();
    const std::vector<float> x(xd.begin(), xd.end());
    std::vector<float> out(size_t(outer * inner));
    cpu::sum_middle(x.data(), outer, R, inner, out.data());
    double worst = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        double ref = 0;
        for (int64_t r = 0; r < R; ++r) ref += double(x[size_t((o * R + r) * inner + i)]);
        worst = std::max(worst, std::fabs(double(out[size_t(o * inner + i)]) - ref) / (1 + std::fabs(ref)));
      }
    CHECK(worst < 1e-6);
  }
}
