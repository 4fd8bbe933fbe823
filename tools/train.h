// train.h: `frost train` and `frost eval` as library calls (the tests drive them directly).
// A run writes into its output folder: args.json, summary.csv (timm's columns: epoch, train_loss,
// eval_loss, eval_top1, eval_top5, lr), last.ckpt and best.ckpt (trainable tensors, optimizer
// state, RNG state, position; written to a temporary file, fsynced, renamed) and adapter/ (the
// trained method alone: LoRA in HF peft's layout). Everything random is seeded by --seed, the
// data order by (seed, epoch), so a run killed at any point and restarted with --resume ends with
// the same summary.csv and bit-identical weights as an uninterrupted one.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/datasets.h"
#include "models/mae.h"

namespace frost::cli {

struct TrainOptions {
  std::string model, weights, peft = "full";  // model: a timm name or a hub folder (models/hub.h)
  nlohmann::json model_args = nlohmann::json::object();
  std::string dataset, data_dir, train_split = "train", val_split = "validation";
  int64_t num_classes = 0, img_size = 0;  // 0: from the dataset / the model's default
  int64_t batch_size = 64, epochs = 10, eval_every = 1, log_interval = 50, checkpoint_every = 0;
  double warmup_epochs = 0;
  std::string opt = "adamw", sched = "cosine";
  std::string interpolation, crop_mode;  // empty: the model's pretrained config (bicubic, center)
  double lr = 0, weight_decay = -1, momentum = 0.9, smoothing = 0.1, clip_grad = 0, drop_path = -1;
  double min_lr = 0, warmup_lr = 1e-6, crop_pct = 0;
  std::vector<double> mean, std;                                              // empty: the model's pretrained config
  std::array<double, 2> scale = {0.08, 1.0}, ratio = {3.0 / 4.0, 4.0 / 3.0};  // random-resized-crop
  double hflip = 0.5;
  bool augment = true, direct_resize = false, strict_data = false;
  int64_t max_image_pixels = data::kDefaultMaxImagePixels;  // decoded images above it are refused (0: no limit)
  uint64_t seed = 42;
  int workers = 2;
  std::string output, resume, device = "cpu", precision = "f32";
  std::string log_dir;           // --log-dir: TensorBoard event files there too (empty: none)
  int64_t stop_after_steps = 0;  // --stop-after-steps: return after this many steps, as if killed (resume checks)
  // Programs that build their own task (frost demo): these datasets instead of --dataset, and the
  // final model's whole state_dict written to weights_out.
  std::shared_ptr<data::Dataset> train_set, val_set;
  std::string weights_out;
  bool quiet = false;
  // Pre-training with MAE instead of classification (frost pretrain --method mae): the model is
  // built without a head, the decoder trains with it, evaluation reports the reconstruction loss,
  // and weights_out gets the encoder alone.
  std::optional<models::MaeConfig> mae;
};

struct TrainResult {
  int64_t steps = 0, epochs_done = 0;
  double best_top1 = -1, last_top1 = -1, last_eval_loss = -1;
  int64_t trainable_params = 0;
  std::string output;
};

TrainResult run_train(const TrainOptions& options);
// frost train's flags (train_cli.cpp) read into options; frost pretrain's Flags have them too.
class Flags;
TrainOptions parse_train_flags(const Flags& flags);

struct EvalResult {
  double loss = 0, top1 = 0, top5 = 0;
  bool accuracy = true;  // false: a loss only (MAE's reconstruction), no top-1 / top-5
  int64_t images = 0, skipped = 0;
  std::vector<std::string> skipped_files;  // "<file>: <why>" for each image left out
  std::vector<double> per_class;           // top-1 per class (%), NaN for a class with no image
};

}  // namespace frost::cli
