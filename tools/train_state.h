// train_state.h: the pieces of `frost train` that outlive a process: checkpoints (trainable
// tensors, optimizer state, RNG and position, plus the run's identity so a checkpoint from another
// model or method is refused), summary.csv, and evaluation (shared with `frost eval`).
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "data/loader.h"
#include "engine/optim.h"
#include "engine/safetensors.h"
#include "engine/upload.h"
#include "models/mae.h"
#include "models/model.h"
#include "models/registry.h"
#include "tools/train.h"

namespace frost::cli {

struct TrainState {
  int64_t epoch = 0, batch = 0, step = 0;  // where the run continues
  double loss_sum = 0, loss_count = 0;     // the current epoch's train loss so far
  double best_top1 = -1;
  int64_t best_epoch = -1;
  uint64_t rng_seed = 0, rng_offset = 0;  // the model's dropout / drop-path stream
};

// `identity`: model, model_args, peft, num_classes: what must match for a resume.
void save_train_checkpoint(const std::string& path, const models::Model& model, const Optimizer& optimizer,
                           const TrainState& state, const nlohmann::json& identity);
TrainState load_train_checkpoint(const std::string& path, models::Model& model, Optimizer* optimizer,
                                 const nlohmann::json& identity);
nlohmann::json read_checkpoint_identity(const std::string& path);
// The position and scalar state of an open checkpoint, every field typed and bounded (a corrupt
// one throws naming the file and key).
TrainState read_train_position(const SafetensorsFile& file);

// summary.csv: keeps the header and the rows of epochs < `epochs_done` (a resume rewrites the tail).
void truncate_summary(const std::string& path, int64_t epochs_done);
void append_summary(const std::string& path, int64_t epoch, double train_loss, const EvalResult* eval, double lr);

// The train or eval pipeline for `o`'s preprocessing flags over a pretrained config (the timm
// name's default tag, or a hub folder's pretrained_cfg).
data::TransformOptions transform_for(const TrainOptions& o, const models::Model& model, bool train,
                                     const models::PretrainedConfig& pre);
// A pretrained config as JSON (checkpoint identities) and back; `origin` names the source in errors.
nlohmann::json pretrained_json(const models::PretrainedConfig& pre);
models::PretrainedConfig pretrained_from_json(const nlohmann::json& j, const std::string& origin);
// A loader batch as tensors on `device` (images (B, 3, H, W) f32, labels (B) i64).
Tensor batch_images(const data::Batch& b, Device device = Device::cpu());
Tensor batch_labels(const data::Batch& b, Device device = Device::cpu());

// A loader's batches as tensors on a device, each uploaded while the step before it runs: the
// next batch is staged (engine/upload.h) before the current one is handed out and its step queued.
class PrefetchedBatches {
 public:
  PrefetchedBatches(data::DataLoader& loader, Device device);
  // The next batch and, when it holds images, its tensors; false after the epoch's last.
  bool next(data::Batch& b, Tensor& images, Tensor& labels);

 private:
  void advance();
  data::DataLoader& loader_;
  Uploader uploader_;
  data::Batch batch_;
  bool have_ = false;
  PendingUpload images_, labels_;
};

// Every batch of `dataset` in order (eval transform, no gradients) on `device`; counts the images
// read and skipped into r; throws when no image could be read.
void for_each_eval_batch(Device device, const data::Dataset& dataset, const data::TransformOptions& transform, int64_t batch_size,
                         int workers, bool strict, EvalResult& r,
                         const std::function<void(const Tensor& images, const Tensor& labels, const data::Batch& b)>& fn);
EvalResult evaluate(const models::Model& model, const data::Dataset& dataset, const data::TransformOptions& transform,
                    int64_t batch_size, int workers, bool strict);
// MAE's reconstruction loss over `dataset` (masks drawn from `seed`, the same at every call); no accuracy.
EvalResult evaluate_mae(const models::VisionTransformer& encoder, const models::MaeDecoder& decoder, const data::Dataset& dataset,
                        const data::TransformOptions& transform, int64_t batch_size, int workers, bool strict, uint64_t seed);

}  // namespace frost::cli
