// test_training.cpp: end to end: an MLP fits a fixed toy problem to 100% in a fixed number of
// steps, and two runs with the same seed give bit-identical losses.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "engine/layers.h"
#include "engine/optim.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;

namespace {

// Four interleaved spiral arms in 2-D, 64 points each: not linearly separable.
void spirals(Tensor& x, Tensor& y) {
  std::vector<double> points, labels;
  for (int arm = 0; arm < 4; ++arm)
    for (int i = 0; i < 64; ++i) {
      const double r = 0.1 + 0.9 * i / 64.0, angle = arm * M_PI / 2 + 2.5 * r;
      points.push_back(r * std::cos(angle));
      points.push_back(r * std::sin(angle));
      labels.push_back(arm);
    }
  x = Tensor::from_vector(points, {256, 2});
  y = Tensor::from_vector(labels, {256}, DType::i64);
}

struct Result {
  std::vector<double> losses;
  double accuracy;
};

Result train(uint64_t seed) {
  Tensor x, y;
  spirals(x, y);
  Linear l1(2, 64, true, seed), l2(64, 64, true, seed + 1), l3(64, 4, true, seed + 2);
  std::vector<NamedTensor> params;
  for (Linear* l : {&l1, &l2, &l3})
    for (auto& p : l->named_parameters()) params.push_back(p);
  AdamWOptions options;
  options.lr = 0.01;
  options.weight_decay = 1e-4;
  AdamW opt(params, options);
  CosineSchedule schedule{0.01, 1e-4, 0.0, 20, 400};
  Generator gen(seed);
  auto forward = [&](bool training) {
    Tensor h = gelu(l1.forward(x));
    h = dropout(h, 0.05, training, gen);
    return l3.forward(gelu(l2.forward(h)));
  };
  Result result;
  for (int step = 0; step < 400; ++step) {
    opt.set_lr(schedule.lr(step));
    opt.zero_grad();
    Tensor loss = cross_entropy(forward(true), y, 0.05);
    loss.backward();
    clip_grad_norm(params, 5.0);
    opt.step();
    result.losses.push_back(loss.item());
  }
  NoGradGuard no_grad;
  const Tensor logits = forward(false);
  const std::vector<double> l = logits.to_doubles(), labels = y.to_doubles();
  int correct = 0;
  for (int i = 0; i < 256; ++i) {
    int best = 0;
    for (int k = 1; k < 4; ++k)
      if (l[size_t(i * 4 + k)] > l[size_t(i * 4 + best)]) best = k;
    correct += best == int(labels[size_t(i)]);
  }
  result.accuracy = correct / 256.0;
  return result;
}

}  // namespace

TEST_CASE("an MLP fits four spirals to 100% in 400 steps, deterministically", "[cpu][train]") {
  const Result a = train(3), b = train(3);
  CHECK(a.accuracy == 1.0);
  CHECK(a.losses.back() < 0.3);
  CHECK(a.losses.back() < a.losses.front() / 4);
  REQUIRE(a.losses.size() == b.losses.size());
  CHECK(std::memcmp(a.losses.data(), b.losses.data(), a.losses.size() * sizeof(double)) == 0);
  const Result c = train(4);  // a different seed is a different run
  CHECK(std::memcmp(a.losses.data(), c.losses.data(), a.losses.size() * sizeof(double)) != 0);
}

TEST_CASE("schedules: cosine with warmup and step decay", "[cpu][train]") {
  const CosineSchedule cosine{1.0, 0.1, 0.0, 10, 110};
  CHECK(cosine.lr(0) == 0.0);
  CHECK(cosine.lr(5) == Approx(0.5));
  CHECK(cosine.lr(10) == Approx(1.0));
  CHECK(cosine.lr(60) == Approx(0.55));
  CHECK(cosine.lr(110) == Approx(0.1));
  CHECK(cosine.lr(500) == Approx(0.1));
  const StepSchedule step{1.0, 0.5, 0.0, 30, 0};
  CHECK(step.lr(29) == 1.0);
  CHECK(step.lr(30) == 0.5);
  CHECK(step.lr(95) == 0.125);
}

TEST_CASE("AdamW matches a hand-computed step; default decay skips 1-d, pos_embed and cls_token", "[cpu][train]") {
  Tensor w = Tensor::from_vector({1.0, -2.0}, {1, 2}, DType::f64).set_requires_grad(true);
  Tensor pos = Tensor::from_vector({0.5, 0.5}, {1, 2}, DType::f64).set_requires_grad(true);
  AdamWOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.5;
  AdamW opt({{"w", w}, {"pos_embed", pos}}, o);
  CHECK(opt.decays(0));
  CHECK_FALSE(opt.decays(1));
  sum(mul(w, Tensor::from_vector({3.0, -1.0}, {1, 2}, DType::f64))).backward();
  opt.step();
  // step 1: m_hat = g, v_hat = g^2 -> update = lr * g / (|g| + eps) = lr * sign(g)
  const double eps = 1e-8;
  CHECK(w.at({0, 0}) == Approx(1.0 * (1 - 0.1 * 0.5) - 0.1 * 3.0 / (3.0 + eps)).epsilon(1e-12));
  CHECK(w.at({0, 1}) == Approx(-2.0 * (1 - 0.1 * 0.5) + 0.1 * 1.0 / (1.0 + eps)).epsilon(1e-12));
  CHECK(pos.at({0, 0}) == 0.5);  // no gradient reached it: untouched
  CHECK(default_weight_decay_rule({"blocks.0.norm1.weight", Tensor::zeros({4})}) == false);
  CHECK(default_weight_decay_rule({"cls_token", Tensor::zeros({1, 1, 4})}) == false);
  CHECK(default_weight_decay_rule({"blocks.0.attn.qkv.weight", Tensor::zeros({4, 4})}) == true);
}
