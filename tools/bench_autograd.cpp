// bench_autograd.cpp: `frost bench autograd`: the built-in model (timm's ViT, models/vit.h, randomly initialised) run
// forward and backward on a seeded batch.
// It runs twice, fully trainable and with only the head trainable, and prints what each costs
// (graph nodes, peak bytes, time): the frozen run shows the engine pruning work it need not do.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/autograd.h"
#include "engine/module.h"
#include "engine/ops.h"
#include "models/registry.h"
#include "tools/cli.h"

namespace frost::cli {

namespace {

void run_once(models::Model& model, const Tensor& images, const Tensor& labels, const char* label) {
  Allocator& cpu = allocator_for(Device::cpu());
  cpu.reset_peak();
  const size_t base = cpu.live_bytes();
  const auto t0 = std::chrono::steady_clock::now();
  Tensor loss = cross_entropy(model.forward(images), labels, 0.1);
  const size_t nodes = graph_nodes(loss).size();
  const auto t1 = std::chrono::steady_clock::now();
  loss.backward();
  const auto t2 = std::chrono::steady_clock::now();
  double grad_sq = 0;
  for (const NamedTensor& p : model.trainable_parameters())
    for (double g : p.tensor.grad().to_doubles()) grad_sq += g * g;
  std::printf("%-22s loss %.6f  |grad| %.6f  trainable %8lld  nodes %4zu  forward %7.1f ms  backward %7.1f ms  peak +%.1f MiB\n",
              label, loss.item(), std::sqrt(grad_sq), (long long)model.parameter_count(true), nodes,
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count(), double(cpu.peak_bytes() - base) / (1 << 20));
  for (NamedTensor& p : model.named_parameters()) p.tensor.zero_grad();
}

}  // namespace

const CommandSpec& bench_autograd_spec() {
  static const CommandSpec spec = {"frost bench autograd",
                                   "forward and backward of a small ViT (patch 8), fully trainable and frozen",
                                   "",
                                   {{"batch", "B", "8", "images per batch"},
                                    {"image", "S", "64", "image size in pixels"},
                                    {"dim", "C", "192", "embedding width"},
                                    {"depth", "L", "4", "blocks"},
                                    {"heads", "H", "3", "attention heads"},
                                    common_flag("threads")},
                                   {"frost bench autograd", "frost bench autograd --batch 2 --image 32 --depth 2 --threads 1"}};
  return spec;
}

int bench_autograd(const std::vector<std::string>& args) {
  const Flags flags(bench_autograd_spec(), args);
  apply_threads_flag(flags);
  const int64_t batch = flags.get_int("batch"), image = flags.get_int("image");
  const int64_t dim = flags.get_int("dim"), depth = flags.get_int("depth"), heads = flags.get_int("heads");
  const nlohmann::json model_args = {{"img_size", image}, {"patch_size", 8},    {"embed_dim", dim},
                                     {"depth", depth},    {"num_heads", heads}, {"num_classes", 10}};
  const auto model_ptr = models::create_model("vit_tiny_patch16_224", model_args, 7);
  models::Model& model = *model_ptr;
  Generator gen(42);
  const Tensor images = randn({batch, 3, image, image}, gen);
  std::vector<double> y;
  for (int64_t i = 0; i < batch; ++i) y.push_back(double(i % 10));
  const Tensor labels = Tensor::from_vector(y, {batch}, DType::i64);
  std::printf("frost bench autograd: ViT (patch 8, dim %lld, depth %lld, heads %lld) on %lld images of %lldx%lld, %d threads\n",
              (long long)dim, (long long)depth, (long long)heads, (long long)batch, (long long)image, (long long)image,
              omp_get_max_threads());
  run_once(model, images, labels, "full fine-tuning");
  model.set_requires_grad(false);
  model.find(model.classifier)->set_requires_grad(true);
  run_once(model, images, labels, "linear probe (frozen)");
  return 0;
}

}  // namespace frost::cli
