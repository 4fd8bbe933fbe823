// test_freezing.cpp: freezing and gradient masking are the engine's job. Each case here fails if
// the engine records, saves, computes or stores something for frozen work.
#include <catch2/catch.hpp>
#include <cstring>

#include "engine/layers.h"
#include "engine/optim.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;

namespace {

// Bytes still held after `linear(x, w)` once the caller has dropped x: y itself, plus x only if
// the node saved it.
size_t retained_after_linear(bool weight_trainable) {
  Allocator& cpu = allocator_for(Device::cpu());
  Tensor w = normal({128, 256}, 1, DType::f32);
  w.set_requires_grad(weight_trainable);
  Tensor upstream = normal({64, 256}, 2, DType::f32).set_requires_grad(true);  // e.g. an adapter
  const size_t before = cpu.live_bytes();
  Tensor y;
  {
    Tensor x = mul(upstream, 2.0);  // an activation that requires grad (mul by a scalar saves nothing)
    y = linear(x, w);
  }  // the caller's handle on x is gone: only the graph can keep it alive
  return cpu.live_bytes() - before;
}

}  // namespace

TEST_CASE("freezing (a): a linear layer with a frozen weight does not keep its input", "[cpu][freeze]") {
  const size_t y_bytes = 64 * 128 * 4, x_bytes = 64 * 256 * 4;
  CHECK(retained_after_linear(false) == y_bytes);
  CHECK(retained_after_linear(true) == y_bytes + x_bytes);  // the control: dW needs x
}

TEST_CASE("freezing (a'): a frozen conv keeps no input; saved tensors go when their node has run", "[cpu][freeze]") {
  Allocator& cpu = allocator_for(Device::cpu());
  Tensor w = normal({8, 4, 3, 3}, 3, DType::f32);  // frozen
  Tensor upstream = normal({2, 4, 8, 8}, 4, DType::f32).set_requires_grad(true);
  const size_t before = cpu.live_bytes();
  Tensor loss;
  {
    Tensor x = mul(upstream, 1.5);
    Tensor h = gelu(conv2d(x, w, Tensor(), {1, 1, 1, 1, 1}));  // gelu saves its input (the conv output)
    loss = sum(h);
  }
  const size_t conv_out = 2 * 8 * 8 * 8 * 4;
  CHECK(cpu.live_bytes() - before == conv_out + 4);  // gelu's saved input + the scalar loss
  loss.backward();
  // After backward the graph's saved tensors are released; only the loss and the leaf's grad stay.
  CHECK(cpu.live_bytes() - before == 4 + upstream.nbytes());
}

TEST_CASE("freezing (b): a frozen 12-layer prefix records no nodes", "[cpu][freeze]") {
  std::vector<std::shared_ptr<Linear>> layers;
  for (int i = 0; i < 12; ++i) {
    layers.push_back(std::make_shared<Linear>(16, 16, true, uint64_t(i)));
    layers.back()->set_requires_grad(i == 11);  // only the last layer trains
  }
  const int64_t nodes_before = Node::live_count();
  Tensor x = normal({8, 16}, 5, DType::f32);
  for (int i = 0; i < 12; ++i) {
    x = layers[size_t(i)]->forward(x);
    if (i < 11) x = relu(x);
    if (i < 11) CHECK_FALSE(x.requires_grad());  // nothing recorded through the frozen layers
  }
  const Tensor labels = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7}, {8}, DType::i64);
  Tensor loss = cross_entropy(x, labels);
  const auto nodes = graph_nodes(loss);
  REQUIRE(nodes.size() == 2);  // the last linear and the loss
  CHECK(Node::live_count() - nodes_before == 2);
  std::vector<std::string> names{nodes[0]->name(), nodes[1]->name()};
  CHECK(std::find(names.begin(), names.end(), "linear") != names.end());
  CHECK(std::find(names.begin(), names.end(), "cross_entropy") != names.end());
  // The last linear needs no input gradient: its node keeps only x (for dW), not W.
  loss.backward();
  CHECK(layers[11]->weight.grad().defined());
  CHECK_FALSE(layers[10]->weight.grad().defined());
}

TEST_CASE("freezing (c): masked entries are bit-identical after 10 AdamW steps", "[cpu][freeze]") {
  Tensor w = normal({6, 5}, 6, DType::f32).set_requires_grad(true);
  std::vector<double> mask_values;
  for (int i = 0; i < 30; ++i) mask_values.push_back(i % 3 == 0 ? 1.0 : 0.0);
  w.set_grad_mask(Tensor::from_vector(mask_values, {6, 5}, DType::u8));
  const std::vector<double> start = w.to_doubles();
  std::vector<float> start_bits(30);
  std::memcpy(start_bits.data(), w.raw_data(), 30 * 4);
  AdamWOptions options;
  options.lr = 0.05;
  options.weight_decay = 0.1;  // decay must not touch masked entries either
  options.decays = [](const NamedTensor&) { return true; };
  AdamW opt({{"w", w}}, options);
  const Tensor x = normal({4, 5}, 7, DType::f32);
  for (int step = 0; step < 10; ++step) {
    opt.zero_grad();
    sum(mul(linear(x, w), linear(x, w))).backward();
    // The gradient itself is already masked.
    const std::vector<double> g = w.grad().to_doubles();
    for (int i = 0; i < 30; ++i)
      if (mask_values[size_t(i)] == 0.0) REQUIRE(g[size_t(i)] == 0.0);
    opt.step();
  }
  const float* now = static_cast<const float*>(w.raw_data());
  int moved = 0;
  for (int i = 0; i < 30; ++i) {
    if (mask_values[size_t(i)] == 0.0)
      CHECK(std::memcmp(&now[i], &start_bits[size_t(i)], 4) == 0);
    else
      moved += now[i] != start_bits[size_t(i)];
  }
  CHECK(moved == 10);  // every unmasked entry moved
  // SGD with momentum and weight decay honours the mask too.
  Tensor v = normal({6, 5}, 8, DType::f32).set_requires_grad(true);
  v.set_grad_mask(Tensor::from_vector(mask_values, {6, 5}, DType::boolean));
  const std::vector<double> v_start = v.to_doubles();
  SGD sgd({{"v", v}}, {0.1, 0.9, 0.01, 0.0, true});
  for (int step = 0; step < 10; ++step) {
    sgd.zero_grad();
    sum(mul(v, v)).backward();
    sgd.step();
  }
  const std::vector<double> v_now = v.to_doubles();
  for (int i = 0; i < 30; ++i) {
    if (mask_values[size_t(i)] == 0.0)
      CHECK(v_now[size_t(i)] == v_start[size_t(i)]);
    else
      CHECK(v_now[size_t(i)] != v_start[size_t(i)]);
  }
}

TEST_CASE("freezing (d): frozen parameters get no gradient buffer and no optimizer state", "[cpu][freeze]") {
  Linear frozen(8, 8, true, 1), trained(8, 4, true, 2);
  frozen.set_requires_grad(false);
  std::vector<NamedTensor> all;
  for (auto& p : frozen.named_parameters()) all.push_back({"frozen." + p.name, p.tensor});
  for (auto& p : trained.named_parameters()) all.push_back({"trained." + p.name, p.tensor});
  AdamW opt(all, AdamWOptions{});
  REQUIRE(opt.params().size() == 2);
  CHECK(opt.state_bytes() == 2 * (8 * 4 + 4) * 4);  // m and v for the trained layer only
  CHECK_FALSE(opt.state("frozen.weight", 0).defined());
  CHECK(opt.state("trained.weight", 0).defined());
  Tensor x = normal({3, 8}, 9, DType::f32).set_requires_grad(true);
  sum(trained.forward(relu(frozen.forward(x)))).backward();
  opt.step();
  CHECK_FALSE(frozen.weight.grad().defined());
  CHECK_FALSE(frozen.bias.grad().defined());
  CHECK(trained.weight.grad().defined());
  CHECK(x.grad().defined());  // gradients still flow through frozen layers to what needs them
  SGD plain({{"frozen.weight", frozen.weight}, {"trained.weight", trained.weight}}, {0.1, 0.0});
  CHECK(plain.params().size() == 1);
  CHECK(plain.state_bytes() == 0);  // no momentum: no state at all
}

TEST_CASE("no-grad guard records nothing, and a graph runs backward only once", "[cpu][freeze]") {
  Tensor w = normal({4, 4}, 10, DType::f32).set_requires_grad(true);
  {
    NoGradGuard guard;
    Tensor y = linear(w, w);
    CHECK_FALSE(y.requires_grad());
    CHECK(graph_nodes(y).empty());
  }
  Tensor loss = sum(linear(w, w));
  loss.backward();
  CHECK_THROWS_WITH(loss.backward(), Catch::Contains("already ran"));
  CHECK_THROWS_WITH(sum(Tensor::ones({2})).backward(), Catch::Contains("does not require grad"));
}

TEST_CASE("gradients accumulate across backward passes until zero_grad", "[cpu][freeze]") {
  Tensor w = Tensor::from_vector({1.0, 2.0}, {2}, DType::f64).set_requires_grad(true);
  sum(mul(w, w)).backward();    // 2w
  sum(mul(w, 3.0)).backward();  // + 3
  CHECK(w.grad().to_doubles() == std::vector<double>{5.0, 7.0});
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
  // a diamond: one tensor feeding two branches that meet again
  Tensor h = mul(w, 2.0);
  sum(add(mul(h, h), h)).backward();  // d/dw (4w^2 + 2w) = 8w + 2
  CHECK(w.grad().to_doubles() == std::vector<double>{10.0, 18.0});
}
