// test_gradcheck.cpp: finite-difference gradient checks in f64 for every differentiable op,
// with broadcasting, permuted/strided inputs, and attention with a trainable bias and a mask.
// Tolerance: central differences with eps = 1e-6 in f64 have truncation error ~1e-12 and
// rounding error ~1e-10 relative; 1e-6 leaves room for curvature while catching any wrong formula
// (a wrong term is off by O(1)).
#include <catch2/catch.hpp>

#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;

namespace {
constexpr double kTol = 1e-6;
Tensor param(Tensor t) { return t.set_requires_grad(true); }
using Inputs = std::vector<Tensor>;
}  // namespace

TEST_CASE("gradcheck: broadcasting arithmetic", "[cpu][grad]") {
  Tensor a = param(normal({2, 3, 4}, 1));
  Tensor b = param(normal({3, 1}, 2));
  Tensor c = param(uniform({4}, 3, 0.5, 2.0));  // divisor away from 0
  CHECK(gradcheck([](const Inputs& x) { return add(x[0], x[1]); }, {a, b}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return sub(x[1], x[0]); }, {a, b}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return mul(x[0], x[1]); }, {a, b}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return div(x[0], x[1]); }, {a, c}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return add(mul(x[0], 2.5), -1.0); }, {a}) < kTol);
}

TEST_CASE("gradcheck: strided (permuted, transposed, narrowed) inputs", "[cpu][grad]") {
  Tensor base = normal({4, 3, 5}, 4);
  Tensor permuted = param(base.permute({2, 0, 1}));  // a non-contiguous leaf
  REQUIRE_FALSE(permuted.is_contiguous());
  Tensor b = param(normal({5, 4, 3}, 5));
  CHECK(gradcheck([](const Inputs& x) { return mul(x[0], x[1]); }, {permuted, b}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return gelu(x[0]); }, {permuted}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return x[0].reshape({5, 12}).transpose(0, 1).narrow(0, 2, 7); }, {permuted}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return x[0].expand({2, 5, 4, 3}).contiguous(); }, {permuted}) < kTol);
}

TEST_CASE("gradcheck: activations", "[cpu][grad]") {
  Tensor x = param(normal({3, 7}, 6, DType::f64, 2.0));
  Tensor pos = param(uniform({3, 7}, 7, 0.2, 3.0));
  CHECK(gradcheck([](const Inputs& v) { return gelu(v[0]); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return gelu(v[0], true); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return quick_gelu(v[0]); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return sigmoid(v[0]); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return tanh(v[0]); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return exp(v[0]); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return neg(v[0]); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return log(v[0]); }, {pos}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return sqrt(v[0]); }, {pos}) < kTol);
  // relu: values kept at least 0.2 away from the kink at 0
  std::vector<double> signed_values;
  for (int i = 0; i < 21; ++i) signed_values.push_back((i % 2 ? -1.0 : 1.0) * (0.2 + 0.1 * i));
  Tensor away = param(Tensor::from_vector(signed_values, {3, 7}, DType::f64));
  CHECK(gradcheck([](const Inputs& v) { return relu(v[0]); }, {away}) < kTol);
}

TEST_CASE("gradcheck: reductions and pooling", "[cpu][grad]") {
  Tensor x = param(normal({2, 3, 4, 5}, 10));
  CHECK(gradcheck([](const Inputs& v) { return sum(v[0]); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return sum(v[0], {1, 3}, true); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return mean(v[0], {0, 2}); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return mean_pool_spatial(v[0]); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return mean_pool_tokens(v[0].flatten(2)); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return max(v[0], 2); }, {x}) < kTol);  // distinct values: smooth
  CHECK(gradcheck([](const Inputs& v) { return max(v[0].transpose(1, 3), 1, true); }, {x}) < kTol);
}

TEST_CASE("gradcheck: matmul and linear", "[cpu][grad]") {
  Tensor a = param(normal({2, 1, 3, 4}, 11));
  Tensor b = param(normal({3, 4, 5}, 12));  // batch broadcast (2,1) x (3) -> (2,3)
  CHECK(gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a, b}) < kTol);
  Tensor at = param(normal({5, 4}, 13).transpose(0, 1));  // transposed operand
  Tensor c = param(normal({5, 6}, 14));
  CHECK(gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {at, c}) < kTol);
  Tensor x = param(normal({2, 3, 6}, 15));
  Tensor w = param(normal({4, 6}, 16));
  Tensor bias = param(normal({4}, 17));
  CHECK(gradcheck([](const Inputs& v) { return linear(v[0], v[1], v[2]); }, {x, w, bias}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return linear(v[0], v[1]); }, {x, w}) < kTol);
}

TEST_CASE("gradcheck: linear_low_rank (LoRA's fused layer)", "[cpu][grad]") {
  Tensor x = param(normal({2, 3, 6}, 30)), w = param(normal({4, 6}, 31)), bias = param(normal({4}, 32));
  Tensor a = param(normal({2, 6}, 33)), b = param(normal({4, 2}, 34));
  auto fused = [](const Inputs& v) { return linear_low_rank(v[0], v[1], v[2], v[3], v[4], 0.7); };
  CHECK(gradcheck(fused, {x, w, bias, a, b}) < kTol);
  // The definition it fuses, value for value.
  const Tensor composite = add(linear(x, w, bias), mul(linear(linear(x, a), b), 0.7));
  CHECK(rel_error(fused({x, w, bias, a, b}), composite) < 1e-12);
  SECTION("frozen base, no bias (LoRA's case): gradients for x, A and B only") {
    Tensor wf = normal({4, 6}, 35);
    CHECK(gradcheck([&](const Inputs& v) { return linear_low_rank(v[0], wf, Tensor(), v[1], v[2], 2.0); }, {x, a, b}) < kTol);
  }
}

TEST_CASE("gradcheck: conv2d", "[cpu][grad]") {
  SECTION("strided, padded, grouped") {
    Tensor x = param(normal({2, 4, 7, 6}, 18));
    Tensor w = param(normal({6, 2, 3, 3}, 19));
    Tensor b = param(normal({6}, 20));
    CHECK(gradcheck([](const Inputs& v) { return conv2d(v[0], v[1], v[2], {2, 2, 1, 1, 2}); }, {x, w, b}) < kTol);
  }
  SECTION("patch embedding (kernel = stride)") {
    Tensor x = param(normal({2, 3, 8, 8}, 21));
    Tensor w = param(normal({5, 3, 4, 4}, 22));
    Tensor b = param(normal({5}, 23));
    CHECK(gradcheck([](const Inputs& v) { return conv2d(v[0], v[1], v[2], {4, 4, 0, 0, 1}); }, {x, w, b}) < kTol);
  }
  SECTION("depthwise 7x7 (ConvNeXt)") {
    Tensor x = param(normal({2, 3, 6, 5}, 24));
    Tensor w = param(normal({3, 1, 7, 7}, 25));
    Tensor b = param(normal({3}, 26));
    CHECK(gradcheck([](const Inputs& v) { return conv2d(v[0], v[1], v[2], {1, 1, 3, 3, 3}); }, {x, w, b}) < kTol);
    CHECK(gradcheck([](const Inputs& v) { return conv2d(v[0], v[1], v[2], {2, 2, 3, 3, 3}); }, {x, w, b}) < kTol);
  }
  SECTION("pointwise 1x1") {
    Tensor x = param(normal({2, 3, 4, 4}, 27));
    Tensor w = param(normal({5, 3, 1, 1}, 28));
    CHECK(gradcheck([](const Inputs& v) { return conv2d(v[0], v[1], Tensor()); }, {x, w}) < kTol);
  }
}

TEST_CASE("gradcheck: layer norm", "[cpu][grad]") {
  Tensor x = param(normal({3, 4, 8}, 29));
  Tensor w = param(normal({8}, 30));
  Tensor b = param(normal({8}, 31));
  CHECK(gradcheck([](const Inputs& v) { return layer_norm(v[0], v[1], v[2], 1e-6); }, {x, w, b}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return layer_norm(v[0], Tensor(), Tensor(), 1e-5); }, {x}) < kTol);
  Tensor img = param(normal({2, 8, 3, 3}, 32));
  CHECK(gradcheck([](const Inputs& v) { return layer_norm_channels_first(v[0], v[1], v[2], 1e-6); }, {img, w, b}) < kTol);
}

TEST_CASE("gradcheck: softmax family and cross-entropy", "[cpu][grad]") {
  Tensor x = param(normal({2, 5, 3}, 33));
  CHECK(gradcheck([](const Inputs& v) { return softmax(v[0], 1); }, {x}) < kTol);
  CHECK(gradcheck([](const Inputs& v) { return log_softmax(v[0], -1); }, {x}) < kTol);
  Tensor logits = param(normal({4, 6}, 34));
  const Tensor labels = Tensor::from_vector({0, 5, 2, 2}, {4}, DType::i64);
  CHECK(gradcheck([&](const Inputs& v) { return cross_entropy(v[0], labels); }, {logits}) < kTol);
  CHECK(gradcheck([&](const Inputs& v) { return cross_entropy(v[0], labels, 0.1); }, {logits}) < kTol);
  Tensor soft = param(softmax(normal({4, 6}, 35)).detach());
  CHECK(gradcheck([](const Inputs& v) { return cross_entropy(v[0], v[1]); }, {logits, soft}) < kTol);
}

TEST_CASE("gradcheck: attention with relative-position bias and shifted-window mask", "[cpu][grad]") {
  // Swin's layout: B_ = batch * windows; bias (1, H, N, N) is trainable; the mask (nW, 1, N, N)
  // is constant with large negative entries. Combined, they broadcast to (B_, H, N, N).
  const int64_t batch = 2, windows = 2, H = 2, N = 4, D = 3;
  Tensor q = param(normal({batch * windows, H, N, D}, 36));
  Tensor k = param(normal({batch * windows, H, N, D}, 37));
  Tensor v = param(normal({batch * windows, H, N, D + 1}, 38));
  Tensor bias = param(normal({1, H, N, N}, 39));
  std::vector<double> mask_values(size_t(windows * N * N), 0.0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j)
      if ((i < 2) != (j < 2)) mask_values[size_t(N * N + i * N + j)] = -100.0;  // window 1 is split
  const Tensor mask = Tensor::from_vector(mask_values, {windows, 1, N, N}, DType::f64);
  auto attend = [&](const Inputs& x) {
    // (B, nW, H, N, N) bias+mask, flattened to (B_, H, N, N)
    Tensor full = add(x[3].unsqueeze(0), mask.unsqueeze(0)).expand({batch, windows, H, N, N}).reshape({batch * windows, H, N, N});
    return scaled_dot_product_attention(x[0], x[1], x[2], full);
  };
  CHECK(gradcheck(attend, {q, k, v, bias}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), 0.3); }, {q, k, v}) <
        kTol);
  // Keys of another length and a non-contiguous q (as sliced from a packed qkv).
  Tensor q_t = param(normal({2, 5, 2, 3}, 40).transpose(1, 2));
  Tensor k2 = param(normal({2, 2, 6, 3}, 41));
  Tensor v2 = param(normal({2, 2, 6, 2}, 42));
  Tensor kbias = param(normal({6}, 43));  // per-key bias broadcast over (B, H, N)
  CHECK(gradcheck([](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }, {q_t, k2, v2, kbias}) <
        kTol);
}

TEST_CASE("gradcheck: packed_qkv_attention (a fused projection's qkv, no copies)", "[cpu][grad]") {
  // (B, N, 3 H D) with H = 2, D = 3; a trainable (1, H, N, N) bias and a per-key one.
  Tensor qkv = param(normal({2, 5, 18}, 46));
  Tensor bias = param(normal({1, 2, 5, 5}, 47));
  CHECK(gradcheck([](const Inputs& x) { return packed_qkv_attention(x[0], 2); }, {qkv}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return packed_qkv_attention(x[0], 2, x[1], 0.4); }, {qkv, bias}) < kTol);
  // A strided qkv (a transposed view) is read as well.
  Tensor qkv_t = param(normal({2, 18, 5}, 48).transpose(1, 2));
  CHECK(gradcheck([](const Inputs& x) { return packed_qkv_attention(x[0], 2); }, {qkv_t}) < kTol);
}

TEST_CASE("packed_qkv_attention equals views of qkv through scaled_dot_product_attention", "[cpu][grad]") {
  // Its definition, as a ViT / Swin block wrote it before: (3, B, H, N, D) views, the general op,
  // the heads put back side by side. f32 at a ViT-like size, values and every gradient.
  const int64_t B = 2, N = 17, H = 3, D = 16, C = H * D;
  auto composite = [&](const Tensor& qkv, const Tensor& bias) {
    const Tensor parts = qkv.reshape({B, N, 3, H, D}).permute({2, 0, 3, 1, 4});
    const Tensor o = scaled_dot_product_attention(parts.narrow(0, 0, 1).squeeze(0), parts.narrow(0, 1, 1).squeeze(0),
                                                  parts.narrow(0, 2, 1).squeeze(0), bias);
    return o.transpose(1, 2).reshape({B, N, C});
  };
  for (bool with_bias : {false, true}) {
    Tensor qkv_a = param(normal({B, N, 3 * C}, 49, DType::f32)), qkv_b = param(normal({B, N, 3 * C}, 49, DType::f32));
    Tensor bias_a = with_bias ? param(normal({1, H, N, N}, 50, DType::f32)) : Tensor();
    Tensor bias_b = with_bias ? param(normal({1, H, N, N}, 50, DType::f32)) : Tensor();
    const Tensor w = normal({B, N, C}, 51, DType::f32);
    const Tensor fused = packed_qkv_attention(qkv_a, H, bias_a), reference = composite(qkv_b, bias_b);
    INFO("bias " << with_bias);
    CHECK(rel_error(fused, reference) < 1e-6);
    sum(mul(fused, w)).backward();
    sum(mul(reference, w)).backward();
    CHECK(rel_error(qkv_a.grad(), qkv_b.grad()) < 1e-6);
    if (with_bias) CHECK(rel_error(bias_a.grad(), bias_b.grad()) < 1e-6);
  }
  CHECK_THROWS_WITH(packed_qkv_attention(Tensor::zeros({2, 5, 20}), 3), Catch::Contains("qkv f32[2, 5, 20]"));
}

TEST_CASE("gradcheck: shape, joins and indexing", "[cpu][grad]") {
  Tensor a = param(normal({2, 3, 4}, 44));
  Tensor b = param(normal({2, 2, 4}, 45));
  CHECK(gradcheck([](const Inputs& x) { return cat({x[0], x[1], x[0]}, 1); }, {a, b}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return stack({x[0], mul(x[0], 2.0)}, 0); }, {a}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return mul(split(x[0], 3, 2)[1], 3.0); }, {a}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return roll(x[0], {1, -3}, {1, 2}); }, {a}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return pad(x[0], {1, 2, 0, 1}, 0.5); }, {a}) < kTol);
  CHECK(gradcheck([](const Inputs& x) { return x[0].permute({2, 0, 1}).reshape({4, 6}); }, {a}) < kTol);
  const Tensor idx = Tensor::from_vector({2, 0, 2, 1}, {4}, DType::i64);
  CHECK(gradcheck([&](const Inputs& x) { return index_select(x[0], 1, idx); }, {a}) < kTol);
  const Tensor gidx = Tensor::from_vector({0, 3, 3, 1, 2, 2, 0, 0, 1, 3, 1, 0,  // (2, 3, 2)
                                           1, 1, 2, 3, 0, 2, 3, 3, 2, 1, 0, 1},
                                          {2, 3, 4}, DType::i64)
                          .narrow(2, 0, 2)
                          .contiguous();
  CHECK(gradcheck([&](const Inputs& x) { return gather(x[0], 2, gidx); }, {a}) < kTol);
}

TEST_CASE("gradcheck: dropout and drop-path regenerate their masks", "[cpu][grad]") {
  Tensor x = param(normal({4, 3, 5}, 46));
  CHECK(gradcheck(
            [](const Inputs& v) {
              Generator g(5);
              return dropout(v[0], 0.3, true, g);
            },
            {x}) < kTol);
  CHECK(gradcheck(
            [](const Inputs& v) {
              Generator g(6);
              return drop_path(v[0], 0.5, true, g);
            },
            {x}) < kTol);
}

TEST_CASE("dtype conversion passes the gradient back in the source dtype", "[cpu][grad]") {
  Tensor x = param(normal({3, 4}, 47));
  Tensor y = mul(x.to(DType::f32), Tensor::full({3, 4}, 2.0, DType::f32));
  sum(y).backward();
  REQUIRE(x.grad().dtype() == DType::f64);
  CHECK(rel_error(x.grad(), Tensor::full({3, 4}, 2.0, DType::f64)) == 0.0);
}
