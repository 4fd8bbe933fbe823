// test_gpu_models.cpp: the gpu suite above the op level: `frost forward --device cuda` against
// every timm fixture at the CPU's tolerances, 20 AdamW steps of LoRA on the tiny ViT with the same
// losses as the CPU, the optimizers honouring gradient masks on the device, and `frost train
// --device cuda` end to end.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/optim.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tests/helpers.h"
#include "tools/train.h"

using namespace frost;

namespace {

const Device kGpu = Device::cuda(0);

}  // namespace

TEST_CASE("frost forward --device cuda matches every timm fixture", "[gpu][parity]") {
  for (const test::FixtureCase& c : test::timm_fixture_cases()) SECTION(c.name) {
      test::check_timm_fixture(c.name, c.adapter, "cuda");
    }
}

TEST_CASE("20 AdamW steps of LoRA on the tiny ViT: the same losses on cuda as on the CPU", "[gpu]") {
  const std::vector<double> cpu = test::lora_losses(Device::cpu(), "lora:r=4,targets=attn.qkv|mlp.fc1", 20);
  const std::vector<double> gpu = test::lora_losses(kGpu, "lora:r=4,targets=attn.qkv|mlp.fc1", 20);
  REQUIRE(gpu.size() == cpu.size());
  for (size_t i = 0; i < cpu.size(); ++i) {
    INFO("step " << i << ": cpu " << cpu[i] << ", cuda " << gpu[i]);
    CHECK(std::abs(gpu[i] - cpu[i]) <= 1e-4 * std::max(1.0, std::abs(cpu[i])));
  }
  CHECK(cpu.back() < cpu.front());
}

TEST_CASE("optimizers on cuda honour gradient masks and match the CPU", "[gpu]") {
  for (const bool adamw : {true, false}) {
    SECTION(adamw ? "AdamW" : "SGD nesterov") {
      std::vector<Tensor> params;
      std::vector<std::unique_ptr<Optimizer>> opts;
      const Tensor init = test::normal({37, 29}, 3, DType::f32), w = test::normal({37, 29}, 4, DType::f32);
      const Tensor mask = test::uniform({37, 29}, 5, 0, 1, DType::f32);
      std::vector<double> m;
      for (double v : mask.to_doubles()) m.push_back(v < 0.5 ? 0.0 : 1.0);
      for (const Device d : {Device::cpu(), kGpu}) {
        Tensor p = init.to(d).clone().set_requires_grad(true);
        p.set_grad_mask(Tensor::from_vector(m, {37, 29}));
        params.push_back(p);
        std::vector<NamedTensor> named{{"layer.weight", p}};
        if (adamw) {
          AdamWOptions o;
          o.lr = 0.01;
          o.weight_decay = 0.1;
          opts.push_back(std::make_unique<AdamW>(named, o));
        } else {
          SGDOptions o;
          o.lr = 0.01;
          o.momentum = 0.9;
          o.nesterov = true;
          o.weight_decay = 0.1;
          opts.push_back(std::make_unique<SGD>(named, o));
        }
      }
      for (int step = 0; step < 3; ++step)
        for (size_t i = 0; i < 2; ++i) {
          sum(mul(mul(params[i], params[i]), w.to(params[i].device()))).backward();
          opts[i]->step();
          opts[i]->zero_grad();
        }
      const std::vector<double> cpu = params[0].to_doubles(), gpu = params[1].to_doubles(), start = init.to_doubles();
      CHECK(test::rel_error(params[1].to(Device::cpu()), params[0]) <= 1e-6);
      for (size_t j = 0; j < m.size(); ++j)
        if (m[j] == 0.0) REQUIRE(gpu[j] == start[j]);  // masked entries: bit-identical
      CHECK(opts[1]->state_tensors().front().tensor.device() == kGpu);
    }
  }
}

TEST_CASE("frost train --device cuda learns, and resumes to bit-identical results", "[gpu]") {
  namespace fs = std::filesystem;
  auto summary_of = [](const std::string& dir) {
    std::ifstream in(dir + "/summary.csv");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  cli::TrainOptions whole = test::tiny_train_options(test::temp_path("gpu_run_whole"));
  whole.device = "cuda";
  whole.peft = "lora:r=4+bitfit";
  fs::remove_all(whole.output);
  const cli::TrainResult r = cli::run_train(whole);
  CHECK(r.epochs_done == 3);
  CHECK(r.last_top1 > 60.0);  // 3 classes, chance is 33%
  cli::TrainOptions stopped = whole;
  stopped.output = test::temp_path("gpu_run_stopped");
  fs::remove_all(stopped.output);
  stopped.stop_after_steps = 10;  // mid second epoch, after the first epoch's checkpoint
  cli::run_train(stopped);
  stopped.stop_after_steps = 0;
  stopped.resume = stopped.output;
  cli::run_train(stopped);
  CHECK(summary_of(stopped.output) == summary_of(whole.output));
}
