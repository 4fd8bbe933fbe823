// transfer.cpp: `frost demo [--output DIR] [--data-dir DIR] [--methods LIST] [--threads T]
// [--upstream supervised|mae|both]`, the default job: a self-contained transfer benchmark in the
// spirit of VTAB-1k that needs no download. On Fashion-MNIST (Debian's dataset-fashion-mnist):
//   upstream    a small ViT (img 28, patch 7, dim 96, depth 4, 4 heads) trained from scratch on
//               classes 0-4 (T-shirt, trouser, pullover, dress, coat), all 30,000 images:
//               supervised on their labels (3 epochs), or MAE on the images alone (10 epochs);
//               cached in DIR/upstream{,_mae}.safetensors, so a second run skips it
//   downstream  classes 5-9 (sandal, shirt, sneaker, bag, ankle boot): the first 200 training
//               images of each (1,000), tested on all 5,000 test images of those classes, with
//               full fine-tuning, linear probing and each PEFT method from the upstream weights
// It prints one table per upstream and writes DIR/transfer.csv: upstream,method,trainable_params,test_top1,seconds,
// peak_bytes (the CPU allocator's peak over the run: weights, gradients, optimizer state and
// activations). Recipes: AdamW, cosine with a 1-epoch warm-up, no augmentation; the learning
// rate per method is the usual order for its family (full 5e-4, linear 1e-2, PEFT 5e-3).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "data/datasets.h"
#include "engine/files.h"
#include "peft/spec.h"
#include "tools/cli.h"
#include "tools/plot.h"
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

// The demo's shared pieces: the data splits, the output folder, the CSV so far.
struct Demo {
  std::string out, data_dir;
  std::shared_ptr<data::Dataset> up_train, up_test, down_train, down_test;
  int64_t upstream_epochs, mae_epochs, epochs;
  std::string csv = "upstream,method,trainable_params,test_top1,seconds,peak_bytes\n";
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  TrainOptions options(const std::string& dir) const {
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
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
};

// The upstream weights of one pre-training (trained once, then cached in DIR): supervised on the
// labels of classes 0-4, or MAE on the same images without their labels.
std::string pretrain_upstream(const Demo& d, const std::string& kind) {
  const bool mae = kind == "mae";
  const std::string path = (fs::path(d.out) / (mae ? "upstream_mae.safetensors" : "upstream.safetensors")).string();
  if (fs::exists(path)) {
    std::printf("frost demo: %s upstream weights from %s (delete it to pretrain again)\n", kind.c_str(), path.c_str());
    return path;
  }
  const int64_t epochs = mae ? d.mae_epochs : d.upstream_epochs;
  std::printf("frost demo: pretraining the %s upstream (Fashion-MNIST classes 0-4, %lld images%s, %lld epochs)...\n",
              kind.c_str(), (long long)d.up_train->size(), mae ? ", labels unused" : "", (long long)epochs);
  std::fflush(stdout);
  TrainOptions o = d.options((fs::path(d.out) / (mae ? "upstream_mae" : "upstream")).string());
  o.train_set = d.up_train;
  o.val_set = d.up_test;
  o.epochs = epochs;
  o.eval_every = epochs;
  o.batch_size = 128;
  o.lr = 2e-3;
  o.warmup_epochs = 0.5;
  if (mae) {  // MAE's recipe at this scale: 75% masked, per-patch normalised targets, a 2-block decoder
    models::MaeConfig c;
    c.norm_pix_loss = true;
    c.decoder_dim = 64;
    c.decoder_depth = 2;
    c.decoder_heads = 4;
    o.mae = c;
    o.lr = 1e-3;
    o.weight_decay = 0.05;
    o.warmup_epochs = 1;
  }
  o.weights_out = path;  // written once training ends, atomically (no half file to mistake for a cache)
  const double t0 = d.seconds();
  const TrainResult r = run_train(o);
  if (mae)
    std::printf("frost demo: MAE upstream reconstruction loss %.4f on the test images of classes 0-4 (%.0f s), cached in %s\n",
                r.last_eval_loss, d.seconds() - t0, path.c_str());
  else
    std::printf("frost demo: upstream test top-1 %.2f%% on classes 0-4 (%.0f s), cached in %s\n", r.last_top1, d.seconds() - t0,
                path.c_str());
  return path;
}

// Every recipe from one upstream: one table row and one CSV row each.
void transfer(Demo& d, const std::string& kind, const std::string& upstream, const std::vector<Recipe>& recipes) {
  std::printf("\nfrost demo: %s upstream -> Fashion-MNIST classes 5-9, %lld training images, %lld test images, %lld epochs\n",
              kind.c_str(), (long long)d.down_train->size(), (long long)d.down_test->size(), (long long)d.epochs);
  std::printf("%-12s %16s %10s %9s %11s\n", "method", "trainable", "test top-1", "seconds", "peak MiB");
  const std::string csv_path = (fs::path(d.out) / "transfer.csv").string();
  Allocator& alloc = allocator_for(Device::cpu());
  for (const Recipe& recipe : recipes) {
    TrainOptions o = d.options((fs::path(d.out) / (kind == "mae" ? "mae_" + recipe.name : recipe.name)).string());
    o.train_set = d.down_train;
    o.val_set = d.down_test;
    o.weights = upstream;
    o.peft = recipe.spec;
    o.epochs = d.epochs;
    o.eval_every = d.epochs;
    o.batch_size = 50;
    o.lr = recipe.lr;
    o.warmup_epochs = 1;
    alloc.reset_peak();
    const auto t0 = std::chrono::steady_clock::now();
    const TrainResult r = run_train(o);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const size_t peak = alloc.peak_bytes();
    std::printf("%-12s %16lld %9.2f%% %9.1f %11.1f\n", recipe.name.c_str(), (long long)r.trainable_params, r.last_top1, seconds,
                double(peak) / (1024.0 * 1024.0));
    std::fflush(stdout);
    char row[256];
    std::snprintf(row, sizeof row, "%s,%s,%lld,%g,%g,%zu\n", kind.c_str(), recipe.name.c_str(), (long long)r.trainable_params,
                  r.last_top1, seconds, peak);
    d.csv += row;
    write_file_atomic(csv_path, d.csv);  // after every method: an interrupted demo keeps the rows it has
  }
}

}  // namespace

const CommandSpec& demo_spec() {
  static const CommandSpec spec = {
      "frost demo",
      "the transfer benchmark: a small ViT pre-trained on Fashion-MNIST classes 0-4, transferred to classes 5-9",
      "",
      {{"output", "DIR", "runs/demo", "where transfer.csv, transfer.png and the cached upstream weights go"},
       {"data-dir", "DIR", "", "a Fashion-MNIST copy (default: Debian's /usr/share/datasets/fashion-mnist)"},
       {"methods", "LIST", "", "a comma-separated subset of full,linear,lora,bitfit,adapter,adaptformer,vpt,ssf (default: all)"},
       {"upstream", "supervised|mae|both", "supervised", "how the upstream ViT is pre-trained"},
       {"upstream-epochs", "N", "3", "epochs of the supervised upstream"},
       {"mae-epochs", "N", "10", "epochs of the MAE upstream"},
       {"epochs", "N", "15", "epochs of each downstream run"},
       common_flag("threads")},
      {"frost demo", "frost demo --upstream both --output runs/demo", "frost demo --methods lora,vpt --epochs 5"},
      "Writes DIR/transfer.csv (upstream,method,trainable_params,test_top1,seconds,peak_bytes) and, in a build with\n"
      "PLplot, DIR/transfer.png: top-1 against trainable parameters."};
  return spec;
}

int run_demo(const std::vector<std::string>& args) {
  const std::string cmd = "frost demo";
  const Flags f(demo_spec(), args);
  apply_threads_flag(f);
  Demo d;
  d.out = f.get("output");
  d.data_dir = f.get("data-dir");
  d.upstream_epochs = f.get_int("upstream-epochs");
  d.mae_epochs = f.get_int("mae-epochs");
  d.epochs = f.get_int("epochs");
  const std::string upstream = f.get("upstream");
  if (upstream != "supervised" && upstream != "mae" && upstream != "both")
    throw std::invalid_argument(cmd + ": --upstream must be supervised, mae or both, got '" + upstream + "'");
  std::vector<Recipe> recipes;
  const std::string wanted = f.get("methods");
  for (const Recipe& r : kRecipes)
    if (wanted.empty() || ("," + wanted + ",").find("," + r.name + ",") != std::string::npos) recipes.push_back(r);
  if (recipes.empty())
    throw std::invalid_argument(cmd + ": --methods " + wanted +
                                " names none of full, linear, lora, bitfit, adapter, adaptformer, vpt, ssf");
  fs::create_directories(d.out);
  const auto train_all = data::open_dataset("fmnist", d.data_dir, "train");
  const auto test_all = data::open_dataset("fmnist", d.data_dir, "test");
  d.up_train = data::class_subset(train_all, {0, 1, 2, 3, 4});
  d.up_test = data::class_subset(test_all, {0, 1, 2, 3, 4});
  d.down_train = data::class_subset(train_all, {5, 6, 7, 8, 9}, 200);
  d.down_test = data::class_subset(test_all, {5, 6, 7, 8, 9});
  for (const std::string kind : {"supervised", "mae"})
    if (upstream == kind || upstream == "both") transfer(d, kind, pretrain_upstream(d, kind), recipes);
  const std::string csv = (fs::path(d.out) / "transfer.csv").string(), png = (fs::path(d.out) / "transfer.png").string();
  std::string figure = " (no figure: this build has no PLplot)";
  if (plotting_available()) {
    plot_files({csv}, png, "frost demo: Fashion-MNIST 5-9, 1,000 training images");
    figure = " and " + png;
  }
  std::printf("\nfrost demo: %s written%s (%.0f s in all)\n", csv.c_str(), figure.c_str(), d.seconds());
  return 0;
}

}  // namespace frost::cli
