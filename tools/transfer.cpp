// transfer.cpp: `frost demo [--output DIR] [--data-dir DIR] [--methods LIST] [--threads T]`, the
// default job: a self-contained transfer benchmark in the spirit of VTAB-1k that needs no
// download. On Fashion-MNIST (Debian's dataset-fashion-mnist):
//   upstream    a small ViT (img 28, patch 7, dim 96, depth 4, 4 heads) trained from scratch on
//               classes 0-4 (T-shirt, trouser, pullover, dress, coat), all 30,000 images;
//               cached in DIR/upstream.safetensors, so a second run skips it
//   downstream  classes 5-9 (sandal, shirt, sneaker, bag, ankle boot): the first 200 training
//               images of each (1,000), tested on all 5,000 test images of those classes, with
//               full fine-tuning, linear probing and each PEFT method from the upstream weights
// It prints one table and writes DIR/transfer.csv: method,trainable_params,test_top1,seconds,
// peak_bytes (the CPU allocator's peak over the run: weights, gradients, optimizer state and
// activations). Recipes: AdamW, cosine with a 1-epoch warm-up, no augmentation; the learning
// rate per method is the usual order for its family (full 5e-4, linear 1e-2, PEFT 5e-3).
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "data/datasets.h"
#include "engine/files.h"
#include "peft/spec.h"
#include "tools/cli.h"
#include "tools/train.h"

namespace frost::cli {

namespace fs = std::filesystem;

namespace {

struct Recipe {
  std::string name, spec;
  double lr;
};

const std::vector<Recipe> kRecipes = {
    {"full", "full", 5e-4},
    {"linear", "linear", 1e-2},
    {"lora", "lora:r=8,targets=attn.qkv|mlp.fc1", 5e-3},
    {"bitfit", "bitfit", 5e-3},
    {"adapter", "adapter:mode=pfeiffer,dim=8,dropout=0", 5e-3},
    {"adaptformer", "adaptformer:dim=16,scale=1,dropout=0", 5e-3},
    {"vpt", "vpt:mode=deep,tokens=5,dropout=0", 2e-2},
    {"ssf", "ssf", 5e-3},
};

const nlohmann::json kModelArgs = {{"img_size", 28}, {"patch_size", 7}, {"embed_dim", 96}, {"depth", 4}, {"num_heads", 4}};

}  // namespace

int run_demo(const std::vector<std::string>& args) {
  const std::string cmd = "frost demo";
  Flags f(cmd, args, {"output", "data-dir", "methods", "threads", "upstream-epochs", "epochs"});
  if (f.has("threads")) omp_set_num_threads(int(f.get_int("threads", 1)));
  const std::string out = f.get("output", "runs/demo"), data_dir = f.get("data-dir", "");
  const int64_t upstream_epochs = f.get_int("upstream-epochs", 3), epochs = f.get_int("epochs", 15);
  std::vector<Recipe> recipes;
  const std::string wanted = f.get("methods", "");
  for (const Recipe& r : kRecipes)
    if (wanted.empty() || ("," + wanted + ",").find("," + r.name + ",") != std::string::npos) recipes.push_back(r);
  if (recipes.empty())
    throw std::invalid_argument(cmd + ": --methods " + wanted +
                                " names none of full, linear, lora, bitfit, adapter, adaptformer, vpt, ssf");
  fs::create_directories(out);

  const auto train_all = data::open_dataset("fmnist", data_dir, "train");
  const auto test_all = data::open_dataset("fmnist", data_dir, "test");
  auto up_train = data::class_subset(train_all, {0, 1, 2, 3, 4}), up_test = data::class_subset(test_all, {0, 1, 2, 3, 4});
  auto down_train = data::class_subset(train_all, {5, 6, 7, 8, 9}, 200),
       down_test = data::class_subset(test_all, {5, 6, 7, 8, 9});

  auto base_options = [&](const std::string& dir) {
    TrainOptions o;
    o.model = "vit_tiny_patch16_224";
    o.model_args = kModelArgs;
    o.num_classes = 5;
    o.augment = false;
    o.direct_resize = true;
    o.smoothing = 0.1;
    o.weight_decay = 1e-4;
    o.workers = 2;
    o.output = dir;
    o.quiet = true;
    return o;
  };
  const std::string upstream = (fs::path(out) / "upstream.safetensors").string();
  const auto start = std::chrono::steady_clock::now();
  if (!fs::exists(upstream)) {
    std::printf("frost demo: pretraining upstream (Fashion-MNIST classes 0-4, %lld images, %lld epochs)...\n",
                (long long)up_train->size(), (long long)upstream_epochs);
    std::fflush(stdout);
    TrainOptions o = base_options((fs::path(out) / "upstream").string());
    o.train_set = up_train;
    o.val_set = up_test;
    o.epochs = upstream_epochs;
    o.eval_every = upstream_epochs;
    o.batch_size = 128;
    o.lr = 2e-3;
    o.warmup_epochs = 0.5;
    o.weights_out = upstream;  // written once training ends, atomically (no half file to mistake for a cache)
    const TrainResult r = run_train(o);
    std::printf("frost demo: upstream test top-1 %.2f%% on classes 0-4 (%.0f s), cached in %s\n", r.last_top1,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), upstream.c_str());
  } else {
    std::printf("frost demo: upstream weights from %s (delete it to pretrain again)\n", upstream.c_str());
  }
  std::printf("frost demo: downstream Fashion-MNIST classes 5-9, %lld training images, %lld test images, %lld epochs\n\n",
              (long long)down_train->size(), (long long)down_test->size(), (long long)epochs);
  std::printf("%-12s %16s %10s %9s %11s\n", "method", "trainable", "test top-1", "seconds", "peak MiB");
  const std::string csv_path = (fs::path(out) / "transfer.csv").string();
  std::string csv = "method,trainable_params,test_top1,seconds,peak_bytes\n";
  Allocator& alloc = allocator_for(Device::cpu());
  for (const Recipe& recipe : recipes) {
    TrainOptions o = base_options((fs::path(out) / recipe.name).string());
    o.train_set = down_train;
    o.val_set = down_test;
    o.weights = upstream;
    o.peft = recipe.spec;
    o.epochs = epochs;
    o.eval_every = epochs;
    o.batch_size = 50;
    o.lr = recipe.lr;
    o.warmup_epochs = 1;
    alloc.reset_peak();
    const auto t0 = std::chrono::steady_clock::now();
    const TrainResult r = run_train(o);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const size_t peak = alloc.peak_bytes();
    const int64_t trainable = r.trainable_params;
    std::printf("%-12s %16lld %9.2f%% %9.1f %11.1f\n", recipe.name.c_str(), (long long)trainable, r.last_top1, seconds,
                double(peak) / (1024.0 * 1024.0));
    std::fflush(stdout);
    char row[256];
    std::snprintf(row, sizeof row, "%s,%lld,%g,%g,%zu\n", recipe.name.c_str(), (long long)trainable, r.last_top1, seconds, peak);
    csv += row;
    write_file_atomic(csv_path, csv);  // after every method: an interrupted demo keeps the rows it has
  }
  std::printf("\nfrost demo: %s written (%.0f s in all)\n", csv_path.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

}  // namespace frost::cli
