// test_precision.cpp: mixed precision on the CPU. The op table (op_cases.h) in bf16 against f32 on
// the same values, f32 master parameters meeting bf16 activations, storage conversion of frozen
// weights, and models in bf16.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/caching_allocator.h"
#include "tests/helpers.h"
#include "tests/op_cases.h"

using namespace frost;

namespace {

void run_bf16(const std::vector<test::OpCase>& cases, uint64_t base) {
  for (size_t i = 0; i < cases.size(); ++i) {
    SECTION(cases[i].name) {
      INFO(cases[i].name << " in bf16 against f32");
      test::check_case(cases[i], base + 1000 * i, {Device::cpu(), DType::bf16}, {Device::cpu(), DType::f32});
    }
  }
}

}  // namespace

TEST_CASE("bf16 elementwise ops agree with f32", "[cpu][precision]") { run_bf16(test::elementwise_cases(), 1); }
TEST_CASE("bf16 reductions, shape ops and masks agree with f32", "[cpu][precision]") {
  run_bf16(test::reduction_and_shape_cases(), 2);
}
TEST_CASE("bf16 norms, softmax and the loss agree with f32", "[cpu][precision]") { run_bf16(test::norm_softmax_cases(), 3); }
TEST_CASE("bf16 GEMM, convolution and attention agree with f32", "[cpu][precision]") {
  run_bf16(test::gemm_conv_attention_cases(), 4);
}

TEST_CASE("bf16 ops keep bf16 activations, f32 statistics and an f32 loss", "[cpu][precision]") {
  const Tensor x = test::normal({4, 6, 32}, 1, DType::f32).to(DType::bf16).set_requires_grad(true);
  const Tensor w = test::normal({16, 32}, 2, DType::f32).set_requires_grad(true);  // an f32 master weight
  const Tensor y = gelu(linear(layer_norm(x, Tensor(), Tensor(), 1e-6), w));
  CHECK(y.dtype() == DType::bf16);
  CHECK(softmax(y).dtype() == DType::bf16);
  const Tensor loss = cross_entropy(mean(y, {1}), Tensor::from_vector({1, 0, 3, 2}, {4}, DType::i64));
  CHECK(loss.dtype() == DType::f32);
  loss.backward();
  CHECK(x.grad().dtype() == DType::bf16);
  CHECK(w.grad().dtype() == DType::f32);
  CHECK(test::max_abs(w.grad()) > 0);
  // Rounding: a value's bf16 form is its nearest bf16 number, so products round once.
  const Tensor a = Tensor::from_vector({1.0, 3.0}, {2}).to(DType::bf16);
  CHECK(mul(a, 1.0 / 3.0).to_doubles()[1] == 1.0);
  CHECK_THROWS_WITH(add(a, a.to(DType::f64)), Catch::Contains("mixed dtypes"));
}

TEST_CASE("converting a frozen weight's storage to bf16 moves every handle and frees half", "[cpu][precision]") {
  Allocator& cpu = allocator_for(Device::cpu());
  Tensor w = test::normal({64, 48}, 3, DType::f32);
  const Tensor handle = w;  // a wrapper's copy of the handle
  const std::vector<double> before = w.to_doubles();
  const size_t live = cpu.live_bytes();
  w.convert_storage_to(DType::bf16);
  CHECK(handle.dtype() == DType::bf16);
  CHECK(int64_t(live) - int64_t(cpu.live_bytes()) == 64 * 48 * 2);
  const std::vector<double> after = handle.to_doubles();
  for (size_t i = 0; i < after.size(); ++i) REQUIRE(after[i] == double(bf16_to_f32(f32_to_bf16(float(before[i])))));
  CHECK_THROWS_WITH(w.narrow(0, 0, 3).convert_storage_to(DType::f32), Catch::Contains("does not cover its storage"));
  Tensor trained = test::normal({3}, 4, DType::f32).set_requires_grad(true);
  sum(mul(trained, trained)).backward();
  CHECK_THROWS_WITH(trained.convert_storage_to(DType::bf16), Catch::Contains("has a gradient"));
}
