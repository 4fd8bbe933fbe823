// op_cases.cpp: the op table (op_cases.h) and the comparison of two runs of a case.
#include "tests/op_cases.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "tests/helpers.h"

namespace frost::test {

namespace {

// Labels / indices built from host values on the device of `like`.
Tensor ints_on(const std::vector<double>& v, const Shape& shape, const Tensor& like) {
  return Tensor::from_vector(v, shape, DType::i64).to(like.device());
}

}  // namespace

double tolerance(const OpCase& c, const Variant& subject, const Variant& reference) {
  return subject.dtype == DType::bf16 || reference.dtype == DType::bf16 ? std::max(c.tol, c.bf16_tol) : c.tol;
}

void check_case(const OpCase& c, uint64_t seed, const Variant& subject, const Variant& reference) {
  const double tol = tolerance(c, subject, reference);
  const bool rounded = subject.dtype == DType::bf16 || reference.dtype == DType::bf16;
  auto is_param = [&](size_t i) { return std::find(c.params.begin(), c.params.end(), i) != c.params.end(); };
  std::vector<Tensor> sub_in, ref_in;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    Tensor values = normal(c.inputs[i], seed + i, DType::f32);
    if (rounded && !is_param(i)) values = values.to(DType::bf16).to(DType::f32);  // the same values on both sides
    auto leaf = [&](const Variant& v) {
      const DType dtype = is_param(i) && v.dtype == DType::bf16 ? DType::f32 : v.dtype;  // bf16 trains f32 masters
      return values.to(v.device).to(dtype).clone().set_requires_grad(true);
    };
    sub_in.push_back(leaf(subject));
    ref_in.push_back(leaf(reference));
  }
  const Tensor out_s = c.fn(sub_in), out_r = c.fn(ref_in);
  REQUIRE(out_s.device() == subject.device);
  REQUIRE(out_s.shape() == out_r.shape());
  CHECK(rel_error(out_s.to(Device::cpu()).to(DType::f32), out_r.to(Device::cpu()).to(DType::f32)) <= tol);
  if (!out_r.requires_grad()) return;  // empty outputs too: their backward writes zero parameter gradients
  const Tensor w = normal(out_r.shape(), seed + 99, DType::f32);
  sum(mul(out_s, w.to(subject.device))).backward();
  sum(mul(out_r, w.to(reference.device))).backward();
  for (size_t i = 0; i < sub_in.size(); ++i) {
    INFO("gradient of input " << i);
    REQUIRE(sub_in[i].grad().defined() == ref_in[i].grad().defined());
    if (!ref_in[i].grad().defined()) continue;
    CHECK(sub_in[i].grad().device() == subject.device);
    CHECK(sub_in[i].grad().dtype() == sub_in[i].dtype());  // f32 masters get f32 gradients
    CHECK(rel_error(sub_in[i].grad().to(Device::cpu()).to(DType::f32), ref_in[i].grad().to(Device::cpu()).to(DType::f32)) <= tol);
  }
}

using In = const std::vector<Tensor>&;

std::vector<OpCase> elementwise_cases() {
  const double t = 1e-5;
  return {
      {"add broadcast", t, {{5, 1, 37}, {3, 37}}, [](In x) { return add(x[0], x[1]); }},
      {"sub transposed", t, {{37, 5}, {5, 37}}, [](In x) { return sub(x[0].transpose(0, 1), x[1]); }},
      {"mul strided", t, {{7, 40}, {7, 1}}, [](In x) { return mul(x[0].narrow(1, 3, 33), x[1]); }},
      {"div", t, {{3, 37}, {37}}, [](In x) { return div(x[0], add(mul(x[1], x[1]), 1.0)); }},
      {"scale by a parameter (LayerScale, SSF)", t, {{2, 9, 37}, {37}}, [](In x) { return add(mul(x[0], x[1]), x[1]); }, {1}},
      {"scalar affine", t, {{1001}}, [](In x) { return add(mul(x[0], -2.5), 0.75); }},
      {"empty add", t, {{0, 5}, {5}}, [](In x) { return add(x[0], x[1]); }},
      {"neg exp", t, {{333}}, [](In x) { return exp(neg(x[0])); }},
      {"log sqrt", t, {{333}}, [](In x) { return add(log(add(mul(x[0], x[0]), 0.5)), sqrt(add(mul(x[0], x[0]), 0.1))); }},
      {"tanh", t, {{17, 19}}, [](In x) { return tanh(x[0]); }},
      {"relu", t, {{17, 19}}, [](In x) { return relu(x[0]); }},
      {"sigmoid", t, {{17, 19}}, [](In x) { return sigmoid(x[0]); }},
      {"gelu erf", t, {{3, 1031}}, [](In x) { return gelu(x[0]); }},
      {"gelu tanh", t, {{3, 1031}}, [](In x) { return gelu(x[0], true); }},
      {"quick_gelu", t, {{3, 1031}}, [](In x) { return quick_gelu(x[0]); }},
      {"bf16 and f16 round trips",
       0.0,
       {{4, 77}},
       [](In x) { return add(x[0].to(DType::bf16).to(DType::f32), x[0].to(DType::f16).to(DType::f32)); }},
  };
}

std::vector<OpCase> reduction_and_shape_cases() {
  const double t = 1e-5;
  return {
      {"sum all", t, {{13, 37}}, [](In x) { return sum(x[0]); }},
      {"sum rows", t, {{13, 37}}, [](In x) { return sum(x[0], {1}); }},
      {"sum columns (bias gradient shape)", t, {{1000, 37}}, [](In x) { return sum(x[0], {0}); }},
      {"mean of a permuted view",
       t,
       {{4, 5, 6}},
       [](In x) {
         return mean(x[0].permute({2, 0, 1}), {0, 2}, true);
       }},
      {"max", t, {{7, 33, 5}}, [](In x) { return max(x[0], 1); }},
      {"cat",
       t,
       {{3, 5}, {3, 7}},
       [](In x) {
         return cat({x[0], x[1]}, 1);
       }},
      {"cat of a parameter and activations (prompt tokens)",
       t,
       {{1, 4, 6}, {3, 5, 6}},
       [](In x) {
         return cat({x[0].expand({3, 4, 6}), x[1]}, 1);
       },
       {0}},
      {"stack and split",
       t,
       {{3, 5}, {3, 5}},
       [](In x) {
         return split(stack({x[0], x[1]}, 0), 1, 0)[1];
       }},
      {"roll",
       t,
       {{2, 7, 9, 3}},
       [](In x) {
         return roll(x[0], {-3, 2}, {1, 2});
       }},
      {"pad",
       t,
       {{2, 3, 5, 7}},
       [](In x) {
         return pad(x[0], {1, 2, 0, 3}, 0.0);
       }},
      {"index_select",
       t,
       {{9, 37}},
       [](In x) {
         return index_select(x[0], 0, ints_on({8, 0, 3, 3, 8, 1}, {6}, x[0]));
       }},
      {"gather",
       t,
       {{4, 9}},
       [](In x) {
         std::vector<double> idx;
         for (int i = 0; i < 4 * 3; ++i) idx.push_back(double((i * 5) % 9));
         return gather(x[0], 1, ints_on(idx, {4, 3}, x[0]));
       }},
      {"contiguous of an expanded view",
       t,
       {{1, 37}},
       [](In x) {
         return x[0].expand({5, 37}).contiguous();
       }},
      {"dropout (same mask as the CPU)",
       0.0,
       {{5, 1003}},
       [](In x) {
         Generator gen(11);
         return dropout(x[0], 0.3, true, gen);
       }},
      {"drop_path (same samples as the CPU)",
       0.0,
       {{16, 7, 5}},
       [](In x) {
         Generator gen(12);
         return drop_path(x[0], 0.5, true, gen);
       }},
  };
}

std::vector<OpCase> norm_softmax_cases() {
  const double t = 1e-5;
  return {
      {"layer_norm", t, {{2, 37, 97}, {97}, {97}}, [](In x) { return layer_norm(x[0], x[1], x[2], 1e-6); }, {1, 2}},
      {"layer_norm without affine", t, {{300, 33}}, [](In x) { return layer_norm(x[0], Tensor(), Tensor(), 1e-5); }},
      // 768 and 1024 channels: the 256-thread rows of the CUDA kernels; no rows: zero dw and db
      {"layer_norm, ViT-B width",
       t,
       {{3, 5, 768}, {768}, {768}},
       [](In x) { return layer_norm(x[0], x[1], x[2], 1e-6); },
       {1, 2}},
      {"layer_norm, ViT-L width",
       t,
       {{7, 1024}, {1024}, {1024}},
       [](In x) { return layer_norm(x[0], x[1], x[2], 1e-6); },
       {1, 2}},
      {"layer_norm of no rows", t, {{0, 97}, {97}, {97}}, [](In x) { return layer_norm(x[0], x[1], x[2], 1e-6); }, {1, 2}},
      {"layer_norm over channels (LayerNorm2d)",
       t,
       {{2, 24, 7, 5}, {24}, {24}},
       [](In x) { return layer_norm_channels_first(x[0], x[1], x[2], 1e-6); },
       {1, 2}},
      {"softmax", t, {{6, 197}}, [](In x) { return softmax(x[0]); }},
      {"softmax over dim 1", t, {{3, 37, 5}}, [](In x) { return softmax(x[0], 1); }},
      // Logits of size ~100 in bf16 are off by up to 0.25 after the scaling (8 mantissa bits), which
      // moves the probabilities by a few per cent: a wider bound for bf16 here.
      {"log_softmax", t, {{6, 1000}}, [](In x) { return log_softmax(mul(x[0], 30.0)); }, {}, 5e-2},
      {"cross_entropy",
       t,
       {{9, 13}},
       [](In x) {
         return cross_entropy(x[0], ints_on({0, 12, 3, 3, 7, 1, 0, 5, 9}, {9}, x[0]));
       }},
      {"cross_entropy smoothed",
       t,
       {{9, 13}},
       [](In x) {
         return cross_entropy(x[0], ints_on({0, 12, 3, 3, 7, 1, 0, 5, 9}, {9}, x[0]), 0.1);
       }},
      {"cross_entropy soft targets", t, {{5, 11}, {5, 11}}, [](In x) { return cross_entropy(x[0], softmax(x[1])); }},
  };
}

std::vector<OpCase> gemm_conv_attention_cases() {
  const double t = 1e-4;
  Conv2dOptions s2;
  s2.stride_h = s2.stride_w = 2;
  s2.pad_h = s2.pad_w = 1;
  Conv2dOptions patch;
  patch.stride_h = patch.stride_w = 4;
  Conv2dOptions dw;
  dw.pad_h = dw.pad_w = 3;
  dw.groups = 24;
  Conv2dOptions grouped;
  grouped.pad_h = grouped.pad_w = 1;
  grouped.groups = 2;
  return {
      {"matmul", t, {{37, 53}, {53, 29}}, [](In x) { return matmul(x[0], x[1]); }},
      {"matmul batched broadcast", t, {{3, 1, 17, 33}, {4, 33, 9}}, [](In x) { return matmul(x[0], x[1]); }},
      {"matmul of transposed views",
       t,
       {{33, 17}, {9, 33}},
       [](In x) { return matmul(x[0].transpose(0, 1), x[1].transpose(0, 1)); }},
      {"linear with bias", t, {{2, 37, 53}, {29, 53}, {29}}, [](In x) { return linear(x[0], x[1], x[2]); }, {1, 2}},
      {"linear without bias, strided input",
       t,
       {{53, 37}, {29, 53}},
       [](In x) { return linear(x[0].transpose(0, 1), x[1]); },
       {1}},
      {"matmul with a matrix broadcast over the batch (stride 0)",
       t,
       {{4, 17, 33}, {1, 33, 9}},
       [](In x) {
         return matmul(x[0], x[1].expand({4, 33, 9}));
       }},
      // a bias that is a view one element in: not aligned for cuBLASLt's epilogue
      {"linear with a misaligned bias view",
       t,
       {{2, 37, 53}, {29, 53}, {30}},
       [](In x) { return linear(x[0], x[1], x[2].narrow(0, 1, 29)); },
       {1, 2}},
      {"linear of an empty batch", t, {{0, 53}, {29, 53}, {29}}, [](In x) { return linear(x[0], x[1], x[2]); }, {1, 2}},
      {"conv2d 3x3",
       t,
       {{2, 5, 13, 11}, {7, 5, 3, 3}, {7}},
       [](In x) {
         return conv2d(x[0], x[1], x[2], {1, 1, 1, 1, 1});
       },
       {1, 2}},
      {"conv2d stride 2", t, {{2, 5, 13, 11}, {7, 5, 3, 3}, {7}}, [s2](In x) { return conv2d(x[0], x[1], x[2], s2); }, {1, 2}},
      {"conv2d patch embedding",
       t,
       {{2, 3, 28, 20}, {19, 3, 4, 4}, {19}},
       [patch](In x) { return conv2d(x[0], x[1], x[2], patch); },
       {1, 2}},
      {"conv2d depthwise 7x7",
       t,
       {{2, 24, 15, 9}, {24, 1, 7, 7}, {24}},
       [dw](In x) { return conv2d(x[0], x[1], x[2], dw); },
       {1, 2}},
      {"conv2d grouped",
       t,
       {{2, 6, 9, 9}, {10, 3, 3, 3}, {10}},
       [grouped](In x) { return conv2d(x[0], x[1], x[2], grouped); },
       {1, 2}},
      {"attention",
       t,
       {{2, 3, 37, 19}, {2, 3, 41, 19}, {2, 3, 41, 23}},
       [](In x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
      {"attention with a broadcast bias (relative-position table)",
       t,
       {{2, 3, 49, 16}, {2, 3, 49, 16}, {2, 3, 49, 16}, {1, 3, 49, 49}},
       [](In x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); },
       {3}},
      {"attention with a mask",
       t,
       {{4, 2, 9, 8}, {4, 2, 9, 8}, {4, 2, 9, 8}},
       [](In x) {
         std::vector<double> m;
         for (int i = 0; i < 4 * 9 * 9; ++i) m.push_back((i / 9 + i % 9) % 3 == 0 ? -100.0 : 0.0);
         const Tensor mask = Tensor::from_vector(m, {4, 1, 9, 9}).to(x[0].device());
         return scaled_dot_product_attention(x[0], x[1], x[2], mask, 0.3);
       }},
  };
}

}  // namespace frost::test
