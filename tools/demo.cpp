// demo.cpp: `frost demo`: a small built-in vision transformer, composed from the engine's ops
// (patch-embedding conv, class token + position embedding, pre-norm blocks of attention and a
// GELU MLP, class-token pooling, linear head), run forward and backward on a seeded batch.
// It runs twice, fully trainable and with only the head trainable, and prints what each costs
// (graph nodes, peak bytes, time): the frozen run shows the engine pruning work it need not do.
// The real timm backbones live in models/.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/autograd.h"
#include "engine/module.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "tools/cli.h"

namespace frost::cli {

namespace {

struct DemoBlock : Module {
  Tensor norm1_w, norm1_b, norm2_w, norm2_b;
  std::shared_ptr<Linear> qkv, proj, fc1, fc2;
  int64_t heads;
  DemoBlock(int64_t dim, int64_t h, uint64_t seed) : heads(h) {
    norm1_w = register_parameter("norm1.weight", Tensor::ones({dim}));
    norm1_b = register_parameter("norm1.bias", Tensor::zeros({dim}));
    qkv = register_module("attn.qkv", std::make_shared<Linear>(dim, 3 * dim, true, seed + 1));
    proj = register_module("attn.proj", std::make_shared<Linear>(dim, dim, true, seed + 2));
    norm2_w = register_parameter("norm2.weight", Tensor::ones({dim}));
    norm2_b = register_parameter("norm2.bias", Tensor::zeros({dim}));
    fc1 = register_module("mlp.fc1", std::make_shared<Linear>(dim, 4 * dim, true, seed + 3));
    fc2 = register_module("mlp.fc2", std::make_shared<Linear>(4 * dim, dim, true, seed + 4));
  }
  Tensor forward(const Tensor& x) const {  // x (B, N, C)
    const int64_t B = x.size(0), N = x.size(1), C = x.size(2), D = C / heads;
    Tensor h = layer_norm(x, norm1_w, norm1_b, 1e-6);
    Tensor qkv_out = qkv->forward(h).reshape({B, N, 3, heads, D}).permute({2, 0, 3, 1, 4});  // (3, B, H, N, D)
    Tensor attn = scaled_dot_product_attention(qkv_out.narrow(0, 0, 1).squeeze(0), qkv_out.narrow(0, 1, 1).squeeze(0),
                                               qkv_out.narrow(0, 2, 1).squeeze(0));
    Tensor y = add(x, proj->forward(attn.transpose(1, 2).reshape({B, N, C})));
    return add(y, fc2->forward(gelu(fc1->forward(layer_norm(y, norm2_w, norm2_b, 1e-6)))));
  }
};

struct DemoViT : Module {
  Tensor patch_w, patch_b, cls_token, pos_embed, norm_w, norm_b;
  std::vector<std::shared_ptr<DemoBlock>> blocks;
  std::shared_ptr<Linear> head;
  int64_t patch;
  DemoViT(int64_t image, int64_t p, int64_t dim, int64_t depth, int64_t heads, int64_t classes) : patch(p) {
    Generator gen(7);
    auto init = [&](const Shape& s, double std) { NoGradGuard ng; return mul(randn(s, gen), std); };
    patch_w = register_parameter("patch_embed.proj.weight", init({dim, 3, p, p}, 0.02));
    patch_b = register_parameter("patch_embed.proj.bias", Tensor::zeros({dim}));
    cls_token = register_parameter("cls_token", init({1, 1, dim}, 0.02));
    pos_embed = register_parameter("pos_embed", init({1, (image / p) * (image / p) + 1, dim}, 0.02));
    for (int64_t i = 0; i < depth; ++i)
      blocks.push_back(register_module("blocks." + std::to_string(i), std::make_shared<DemoBlock>(dim, heads, 100 * i)));
    norm_w = register_parameter("norm.weight", Tensor::ones({dim}));
    norm_b = register_parameter("norm.bias", Tensor::zeros({dim}));
    head = register_module("head", std::make_shared<Linear>(dim, classes, true, 99));
  }
  Tensor forward(const Tensor& images) const {  // (B, 3, H, W) -> (B, classes)
    Tensor x = conv2d(images, patch_w, patch_b, {patch, patch, 0, 0, 1});  // (B, C, h, w)
    x = x.flatten(2).transpose(1, 2);                                       // (B, N, C)
    x = cat({cls_token.expand({x.size(0), 1, x.size(2)}), x}, 1);
    x = add(x, pos_embed);
    for (const auto& block : blocks) x = block->forward(x);
    x = layer_norm(x, norm_w, norm_b, 1e-6);
    return head->forward(x.narrow(1, 0, 1).squeeze(1));
  }
};

void run_once(DemoViT& model, const Tensor& images, const Tensor& labels, const char* label) {
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

int run_demo(const std::vector<std::string>& args) {
  Flags flags("frost demo", args, {"batch", "image", "dim", "depth", "heads", "threads"});
  if (flags.has("threads")) omp_set_num_threads(int(flags.get_int("threads", 1)));
  const int64_t batch = flags.get_int("batch", 8), image = flags.get_int("image", 64);
  const int64_t dim = flags.get_int("dim", 192), depth = flags.get_int("depth", 4), heads = flags.get_int("heads", 3);
  if (dim % heads) throw std::invalid_argument("frost demo: --dim must be a multiple of --heads");
  if (image % 8) throw std::invalid_argument("frost demo: --image must be a multiple of the patch size 8");
  DemoViT model(image, 8, dim, depth, heads, 10);
  Generator gen(42);
  const Tensor images = randn({batch, 3, image, image}, gen);
  std::vector<double> y;
  for (int64_t i = 0; i < batch; ++i) y.push_back(double(i % 10));
  const Tensor labels = Tensor::from_vector(y, {batch}, DType::i64);
  std::printf("frost demo: ViT (patch 8, dim %lld, depth %lld, heads %lld) on %lld images of %lldx%lld, %d threads\n",
              (long long)dim, (long long)depth, (long long)heads, (long long)batch, (long long)image,
              (long long)image, omp_get_max_threads());
  run_once(model, images, labels, "full fine-tuning");
  model.set_requires_grad(false);
  model.head->weight.set_requires_grad(true);
  model.head->bias.set_requires_grad(true);
  run_once(model, images, labels, "linear probe (frozen)");
  return 0;
}

}  // namespace frost::cli
