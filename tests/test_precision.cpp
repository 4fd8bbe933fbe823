// test_precision.cpp: mixed precision on the CPU. The op table (op_cases.h) in bf16 against f32 on
// the same values, f32 master parameters meeting bf16 activations, storage conversion of frozen
// weights, and models in bf16.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/safetensors.h"
#include "kernels/caching_allocator.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tests/helpers.h"
#include "tests/op_cases.h"
#include "tools/cli.h"
#include "tools/train.h"

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

// The parity fixtures in bf16: frozen weights (none: --grads asks for every gradient, except in the
// LoRA case, whose base weights are frozen) and all activations in bf16; logits and loss within
// 2e-2 of timm's f32, gradients within 4e-2 (helpers.cpp says why).
TEST_CASE("ViT in bf16 stays within 2e-2 of timm", "[cpu][parity][precision]") {
  test::check_timm_fixture("vit_tiny", false, "cpu", "bf16");
}
TEST_CASE("Swin in bf16 stays within 2e-2 of timm", "[cpu][parity][precision]") {
  test::check_timm_fixture("swin_tiny", false, "cpu", "bf16");
}
TEST_CASE("ConvNeXt in bf16 stays within 2e-2 of timm", "[cpu][parity][precision]") {
  test::check_timm_fixture("convnext_tiny", false, "cpu", "bf16");
}
TEST_CASE("ViT + LoRA in bf16 (frozen base in bf16) stays within 2e-2 of timm + peft", "[cpu][parity][precision]") {
  test::check_timm_fixture("vit_tiny_lora", true, "cpu", "bf16");
}

TEST_CASE("the pre-trained families' hub folders in bf16 stay within 2e-2 of timm", "[cpu][parity][precision][hub]") {
  for (const test::FixtureCase& c : test::timm_fixture_cases())
    if (c.hub) SECTION(c.name) {
        test::check_timm_fixture(c.name, c.adapter, "cpu", "bf16");
      }
}

TEST_CASE("200 LoRA steps on the tiny ViT in bf16 follow the f32 loss curve within 2%", "[cpu][precision][training]") {
  const std::string spec = "lora:r=4,targets=attn.qkv|mlp.fc1";
  const std::vector<double> f32 = test::lora_losses(Device::cpu(), spec, 200, DType::f32);
  const std::vector<double> bf16 = test::lora_losses(Device::cpu(), spec, 200, DType::bf16);
  REQUIRE(bf16.size() == f32.size());
  double worst = 0;
  for (size_t i = 0; i < f32.size(); ++i) worst = std::max(worst, std::abs(bf16[i] - f32[i]) / f32[i]);
  INFO("f32 " << f32.front() << " -> " << f32.back() << ", bf16 " << bf16.front() << " -> " << bf16.back()
              << ", worst relative gap " << worst);
  CHECK(worst <= 0.02);
  CHECK(f32.back() < 0.7 * f32.front());  // it learns, so the curve says something
}

TEST_CASE("set_precision(bf16) stores frozen weights once in bf16; trainable ones stay f32", "[cpu][precision]") {
  auto model = models::create_model(
      "vit_tiny_patch16_224",
      {{"img_size", 32}, {"patch_size", 8}, {"embed_dim", 16}, {"depth", 2}, {"num_heads", 2}, {"num_classes", 3}});
  peft::apply_spec(*model, "lora:r=4+bitfit", 1);
  int64_t frozen = 0;
  for (const NamedTensor& p : model->named_parameters())
    if (!p.tensor.requires_grad()) frozen += p.tensor.numel();
  Allocator& cpu = allocator_for(Device::cpu());
  const size_t live = cpu.live_bytes();
  CHECK(model->set_precision(DType::bf16) == 2 * frozen);  // 4 bytes -> 2 per frozen element
  CHECK(int64_t(live - cpu.live_bytes()) == 2 * frozen);
  for (const NamedTensor& p : model->named_parameters()) {
    INFO(p.name);
    CHECK(p.tensor.dtype() == (p.tensor.requires_grad() ? DType::f32 : DType::bf16));
  }
  const Tensor logits = model->forward(test::normal({2, 3, 32, 32}, 1, DType::f32));
  CHECK(logits.dtype() == DType::bf16);
  CHECK_THROWS_WITH(model->set_precision(DType::f32), Catch::Contains("cannot go back to f32"));
  CHECK_THROWS_WITH(model->set_precision(DType::f16), Catch::Contains("precision must be f32 or bf16"));
  CHECK_THROWS_WITH(cli::parse_precision_flag("fp16"), Catch::Contains("--precision fp16: expected f32 or bf16"));
}

TEST_CASE("frost train --precision bf16 learns and resumes to identical results", "[cpu][precision][train]") {
  namespace fs = std::filesystem;
  auto text = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  cli::TrainOptions whole = test::tiny_train_options(test::temp_path("bf16_run_whole"));
  whole.precision = "bf16";
  whole.peft = "lora:r=4+bitfit";
  fs::remove_all(whole.output);
  const cli::TrainResult r = cli::run_train(whole);
  CHECK(r.last_top1 > 60.0);  // 3 classes, chance is 33%
  CHECK(nlohmann::json::parse(text(whole.output + "/args.json")).at("precision") == "bf16");
  cli::TrainOptions stopped = whole;
  stopped.output = test::temp_path("bf16_run_stopped");
  fs::remove_all(stopped.output);
  stopped.stop_after_steps = 10;
  cli::run_train(stopped);
  stopped.stop_after_steps = 0;
  stopped.resume = stopped.output;
  cli::TrainOptions in_f32 = stopped;
  in_f32.precision = "f32";
  CHECK_THROWS_WITH(cli::run_train(in_f32), Catch::Contains("precision"));
  cli::run_train(stopped);
  CHECK(text(stopped.output + "/summary.csv") == text(whole.output + "/summary.csv"));
}

TEST_CASE("every PEFT method trains in bf16: trainable f32 masters, frozen bf16 weights", "[cpu][precision][peft]") {
  namespace fs = std::filesystem;
  // Through the trainer on the tiny ViT (sparse calibrates in f32 first, then goes to bf16).
  std::vector<std::string> specs = test::method_examples(peft::Backbone::vit);
  specs.push_back("lora:r=2+vpt:tokens=1+adapter:dim=2");
  for (const std::string& spec : specs) {
    INFO("--peft " << spec << " --precision bf16");
    cli::TrainOptions o = test::tiny_train_options(test::temp_path("bf16_peft"));
    fs::remove_all(o.output);
    o.epochs = 1;
    o.peft = spec;
    o.precision = "bf16";
    const cli::TrainResult r = cli::run_train(o);
    CHECK(r.steps == 7);
    CHECK(r.last_top1 >= 0);
    fs::remove_all(o.output);
  }
  // Swin and ConvNeXt (the fixture shapes): forward, backward and two AdamW steps per method.
  for (const char* name : {"swin_tiny", "convnext_tiny"}) {
    std::ifstream meta_file(test::fixtures_dir() + "/timm/" + name + ".json");
    REQUIRE(meta_file.good());
    const nlohmann::json meta = nlohmann::json::parse(meta_file);
    const bool swin = std::string(name) == "swin_tiny";
    const int64_t side = SafetensorsFile::open(test::fixtures_dir() + "/timm/" + name + ".io.safetensors").get("input").size(-1);
    for (const std::string& spec : test::method_examples(swin ? peft::Backbone::swin : peft::Backbone::convnext)) {
      INFO(name << " --peft " << spec << " in bf16");
      auto model = models::create_model(meta.at("architecture"), meta.at("model_args"), 1);
      peft::apply_spec(*model, spec, 3);
      model->set_precision(DType::bf16);
      model->train(true);
      AdamW opt(model->trainable_parameters(), AdamWOptions{});
      const Tensor images = test::normal({2, 3, side, side}, 5, DType::f32);
      const Tensor labels = Tensor::from_vector({1, 7}, {2}, DType::i64);
      for (int step = 0; step < 2; ++step) {
        const Tensor loss = cross_entropy(model->forward(images), labels);
        REQUIRE(std::isfinite(loss.item()));
        loss.backward();
        opt.step();
        opt.zero_grad();
      }
      for (const NamedTensor& p : model->named_parameters()) {
        INFO(p.name);
        REQUIRE(p.tensor.dtype() == (p.tensor.requires_grad() ? DType::f32 : DType::bf16));
      }
    }
  }
}
