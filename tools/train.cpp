// train.cpp: `frost train` (flags in timm's names where timm has one) and `frost eval`.
#include "tools/train.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/json_file.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "models/args.h"
#include "models/checkpoint.h"
#include "models/hub.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tools/cli.h"
#include "tools/tensorboard.h"
#include "tools/train_state.h"

namespace frost::cli {

namespace fs = std::filesystem;

namespace {

// The model_args a run builds its model with: the source's (a hub folder's config with the user's
// over it), plus num_classes, img_size and drop-path.
nlohmann::json model_args_for(const TrainOptions& o, const models::ModelSource& source, int64_t num_classes) {
  nlohmann::json args = source.model_args;
  args["num_classes"] = o.mae ? 0 : num_classes;  // an MAE encoder has no head
  if (o.img_size > 0 && models::model_info(source.architecture).takes_img_size) args["img_size"] = o.img_size;
  if (o.drop_path >= 0) args["drop_path_rate"] = o.drop_path;
  return args;
}

std::string default_output(const TrainOptions& o) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return (fs::path("output") / "train" / (std::string(stamp) + "-" + fs::path(o.model).filename().string())).string();
}

// The options with their defaults filled in; throws naming the first flag that is wrong.
TrainOptions checked_options(const TrainOptions& o_in) {
  TrainOptions o = o_in;
  if (o.model.empty()) throw std::invalid_argument("frost train: --model is required");
  if (o.dataset.empty() && !o.train_set) throw std::invalid_argument("frost train: --dataset is required");
  if (o.epochs < 1 || o.batch_size < 1) throw std::invalid_argument("frost train: --epochs and --batch-size must be >= 1");
  if (o.num_classes > models::kMaxClasses)
    throw std::invalid_argument("frost train: --num-classes " + std::to_string(o.num_classes) + " is above the limit of " +
                                std::to_string(models::kMaxClasses));
  if (o.opt != "adamw" && o.opt != "sgd")
    throw std::invalid_argument("frost train: --opt must be adamw or sgd, got '" + o.opt + "'");
  if (o.sched != "cosine" && o.sched != "step" && o.sched != "none")
    throw std::invalid_argument("frost train: --sched must be cosine, step or none, got '" + o.sched + "'");
  if (o.lr <= 0) o.lr = o.opt == "adamw" ? 1e-3 : 0.01;
  if (o.weight_decay < 0) o.weight_decay = 1e-4;
  return o;
}

std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& o, const models::Model& model) {
  if (o.opt == "adamw") {
    AdamWOptions ao;
    ao.lr = o.lr;
    ao.weight_decay = o.weight_decay;
    return std::make_unique<AdamW>(model.trainable_parameters(), ao);
  }
  SGDOptions so;
  so.lr = o.lr;
  so.momentum = o.momentum;
  so.weight_decay = o.weight_decay;
  return std::make_unique<SGD>(model.trainable_parameters(), so);
}

// args.json: every setting of the run, as resolved (timm's args.yaml).
void write_args(const TrainOptions& o, const std::string& weights, const nlohmann::json& model_args, const std::string& spec,
                int64_t num_classes, DType precision, const data::TransformOptions& train_tf,
                const data::TransformOptions& eval_tf, const models::Model& model, const std::vector<std::string>& class_names,
                const std::string& output) {
  nlohmann::json args = {{"model", model.architecture},
                         {"model_source", o.model},
                         {"model_args", model_args},
                         {"weights", weights.empty() ? weights : fs::absolute(weights).string()},
                         {"peft", spec},
                         {"dataset", o.dataset},
                         {"data_dir", o.data_dir},
                         {"train_split", o.train_split},
                         {"val_split", o.val_split},
                         {"num_classes", num_classes},
                         {"batch_size", o.batch_size},
                         {"epochs", o.epochs},
                         {"opt", o.opt},
                         {"lr", o.lr},
                         {"weight_decay", o.weight_decay},
                         {"momentum", o.momentum},
                         {"sched", o.sched},
                         {"warmup_epochs", o.warmup_epochs},
                         {"min_lr", o.min_lr},
                         {"warmup_lr", o.warmup_lr},
                         {"smoothing", o.smoothing},
                         {"clip_grad", o.clip_grad},
                         {"seed", o.seed},
                         {"augment", o.augment},
                         {"device", o.device},
                         {"precision", dtype_name(precision)},
                         {"img_size", train_tf.size},
                         {"mean", train_tf.mean},
                         {"std", train_tf.std},
                         {"crop_pct", eval_tf.crop_pct},
                         {"crop_mode", eval_tf.squash ? "squash" : "center"},
                         {"interpolation", eval_tf.interpolation == data::Interpolation::bilinear ? "bilinear" : "bicubic"},
                         {"direct_resize", eval_tf.direct_resize},
                         {"log_dir", o.log_dir},
                         {"trainable_params", model.parameter_count(true)},
                         {"total_params", model.parameter_count()}};
  if (int64_t(class_names.size()) == num_classes) args["class_names"] = class_names;  // frost predict names them
  write_json_file((fs::path(output) / "args.json").string(), args);
}

struct EpochContext {
  const TrainOptions& o;
  models::Model& model;
  Optimizer& optimizer;
  TrainState& state;
  TrainResult& result;
  int64_t steps_per_epoch;
  const std::function<double(int64_t)>& lr_at;
  const std::function<void(const std::string&)>& checkpoint;
  const std::string& last;
  bool tty;
  // for the end of an epoch
  const std::shared_ptr<data::Dataset>& val_set;
  const data::TransformOptions& eval_tf;
  const peft::AppliedSpec& applied;
  const std::string& summary;
  const std::string& best;
  // what a step minimises (images, labels) and what evaluation on val_set reports
  const std::function<Tensor(const Tensor&, const Tensor&)>& step_loss;
  const std::function<EvalResult()>& run_eval;
  EventWriter* events;  // --log-dir's TensorBoard file, or nullptr
};

// The epoch's loss so far, kept on the device (f64, the same sums as on the host) and read only
// where it is shown or saved; a non-finite loss stops training there, naming the steps it lies in.
double read_loss_sum(const EpochContext& c, const Tensor& loss_sum, int64_t checked_step) {
  const double value = loss_sum.item();
  if (!std::isfinite(value))
    throw std::runtime_error(
        "steps " + std::to_string(checked_step) + "-" + std::to_string(c.state.step - 1) + " (epoch " +
        std::to_string(c.state.epoch) + "): the loss is " + std::to_string(value) + "; training stopped, " +
        (fs::exists(c.last) ? "the last good checkpoint is " + c.last : std::string("no checkpoint was written yet")));
  return value;
}

// One step's progress: the line on stdout (`show`) and the TensorBoard scalars (`log`).
void report_step(const EpochContext& c, const data::Batch& b, double loss, double lr, double ips, bool show, bool log) {
  const TrainState& state = c.state;
  if (log) {
    c.events->scalar("train/loss", loss, state.step);
    c.events->scalar("train/lr", lr, state.step);
    c.events->scalar("train/images_per_s", ips, state.step);
  }
  if (!show) return;
  const double eta = double(c.steps_per_epoch - b.index - 1) * double(c.o.batch_size) / std::max(ips, 1e-9);
  std::printf("%sTrain: %lld [%4lld/%lld (%3.0f%%)]  Loss: %.4f (%.4f)  LR: %.3e  %.1f img/s  ETA %d:%02d%s", c.tty ? "\r" : "",
              (long long)state.epoch, (long long)b.index + 1, (long long)c.steps_per_epoch,
              100.0 * double(b.index + 1) / double(c.steps_per_epoch), loss, state.loss_sum / state.loss_count, lr, ips,
              int(eta) / 60, int(eta) % 60, c.tty ? "" : "\n");
  std::fflush(stdout);
}

// One epoch's steps from state.batch on; false when --stop-after-steps ended the run. A step reads
// nothing back from the device except on logging steps (the loss shown) and before checkpoints.
bool train_epoch(const EpochContext& c, data::DataLoader& loader, Device device) {
  const TrainOptions& o = c.o;
  TrainState& state = c.state;
  Tensor loss_sum = Tensor::scalar(state.loss_sum, DType::f64, device);
  int64_t checked_step = state.step, seen = 0;
  const auto t0 = std::chrono::steady_clock::now();
  PrefetchedBatches batches(loader, device);
  data::Batch b;
  for (Tensor images, labels; batches.next(b, images, labels);) {
    for (const std::string& s : b.skipped) std::fprintf(stderr, "frost train: skipped %s\n", s.c_str());
    if (b.size > 0) {
      const double lr = c.lr_at(state.step);
      c.optimizer.set_lr(lr);
      Tensor loss = c.step_loss(images, labels);
      loss.backward();
      if (o.clip_grad > 0) clip_grad_norm(c.optimizer.params(), o.clip_grad);
      c.optimizer.step();
      c.optimizer.zero_grad();
      {
        NoGradGuard no_grad;
        loss_sum = add(loss_sum, mul(loss.detach().to(DType::f64), double(b.size)));
      }
      state.loss_count += double(b.size);
      seen += b.size;
      const bool interval = (state.step + 1) % o.log_interval == 0;
      const bool show = !o.quiet && (c.tty || interval), log = c.events && interval;
      if (show || log) {
        state.loss_sum = read_loss_sum(c, loss_sum, checked_step);
        checked_step = state.step + 1;
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        report_step(c, b, loss.item(), lr, double(seen) / std::max(secs, 1e-9), show, log);
      }
    }
    state.batch = b.index + 1;
    ++state.step;
    ++c.result.steps;
    if (o.stop_after_steps > 0 && c.result.steps >= o.stop_after_steps) return false;  // as if killed here
    if (o.checkpoint_every > 0 && state.step % o.checkpoint_every == 0 && state.batch < c.steps_per_epoch) {
      state.loss_sum = read_loss_sum(c, loss_sum, checked_step);
      checked_step = state.step;
      c.checkpoint(c.last);
    }
  }
  state.loss_sum = read_loss_sum(c, loss_sum, checked_step);
  if (c.events && seen > 0) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    c.events->scalar("epoch/images_per_s", double(seen) / std::max(secs, 1e-9), state.step);
  }
  return true;
}

// A fresh run's state (and an empty summary.csv), or the checkpoint's that --resume names, with
// the summary cut back to the epochs it holds.
TrainState start_state(const TrainOptions& o, models::Model& model, Optimizer& optimizer, const nlohmann::json& identity,
                       const std::string& summary, int64_t steps_per_epoch) {
  TrainState state;
  state.rng_seed = o.seed;
  if (!o.resume.empty()) {
    const std::string from = fs::is_directory(o.resume) ? (fs::path(o.resume) / "last.ckpt").string() : o.resume;
    state = load_train_checkpoint(from, model, &optimizer, identity);
    if (state.epoch > o.epochs || state.batch > steps_per_epoch)
      throw std::invalid_argument(from + ": checkpoint is at epoch " + std::to_string(state.epoch) + ", batch " +
                                  std::to_string(state.batch) + ", beyond this run's " + std::to_string(o.epochs) +
                                  " epochs of " + std::to_string(steps_per_epoch) +
                                  " batches (were --epochs or --batch-size changed?)");
    truncate_summary(summary, state.epoch);
    if (!o.quiet)
      std::printf("frost train: resumed from %s at epoch %lld, batch %lld (step %lld)\n", from.c_str(), (long long)state.epoch,
                  (long long)state.batch, (long long)state.step);
  } else {
    std::remove(summary.c_str());
  }
  return state;
}

// Evaluation (every --eval-every epochs and after the last), the summary row, the checkpoints
// (last.ckpt, and best.ckpt when top-1 improved) and the adapter folder.
void finish_epoch(const EpochContext& c) {
  if (c.tty) std::printf("\n");
  const bool eval_now =
      c.val_set && ((c.state.epoch + 1) % std::max<int64_t>(c.o.eval_every, 1) == 0 || c.state.epoch + 1 == c.o.epochs);
  EvalResult eval;
  if (eval_now) {
    c.model.train(false);
    eval = c.run_eval();
    if (eval.accuracy) c.result.last_top1 = eval.top1;
    if (!c.o.quiet && eval.accuracy)
      std::printf("Test: epoch %lld  Loss: %.4f  Acc@1: %.3f  Acc@5: %.3f  (%lld images)\n", (long long)c.state.epoch, eval.loss,
                  eval.top1, eval.top5, (long long)eval.images);
    else if (!c.o.quiet)
      std::printf("Test: epoch %lld  Loss: %.4f (masked-patch reconstruction, %lld images)\n", (long long)c.state.epoch,
                  eval.loss, (long long)eval.images);
  }
  c.result.last_eval_loss = eval_now ? eval.loss : c.result.last_eval_loss;
  const double train_loss = c.state.loss_count > 0 ? c.state.loss_sum / c.state.loss_count : 0.0;
  const double lr = c.lr_at(std::max<int64_t>(c.state.step - 1, 0));
  append_summary(c.summary, c.state.epoch, train_loss, eval_now ? &eval : nullptr, lr);
  if (c.events) {  // at the epoch's last step, so the curves share the per-step axis
    const int64_t step = std::max<int64_t>(c.state.step - 1, 0);
    c.events->scalar("epoch/epoch", double(c.state.epoch), step);
    c.events->scalar("epoch/train_loss", train_loss, step);
    c.events->scalar("epoch/lr", lr, step);
    if (eval_now) c.events->scalar("eval/loss", eval.loss, step);
    if (eval_now && eval.accuracy) {
      c.events->scalar("eval/top1", eval.top1, step);
      c.events->scalar("eval/top5", eval.top5, step);
    }
    c.events->flush();
  }
  const bool improved = eval_now && eval.accuracy && eval.top1 > c.state.best_top1;
  if (improved) {
    c.state.best_top1 = eval.top1;
    c.state.best_epoch = c.state.epoch;
  }
  const int64_t epoch_done = c.state.epoch;
  c.state.epoch += 1;  // the checkpoint continues at the next epoch's first batch
  c.state.batch = 0;
  c.state.loss_sum = c.state.loss_count = 0;
  c.checkpoint(c.last);
  if (improved) c.checkpoint(c.best);
  c.state.epoch = epoch_done;
  peft::save_spec_adapter((fs::path(c.result.output) / "adapter").string(), c.applied, c.model);
  ++c.result.epochs_done;
}

// --sched over the run's steps, with --warmup-epochs of linear warm-up from --warmup-lr.
std::function<double(int64_t)> lr_schedule(const TrainOptions& o, int64_t steps_per_epoch) {
  const int64_t total_steps = steps_per_epoch * o.epochs;
  const int64_t warmup_steps = int64_t(std::llround(o.warmup_epochs * double(steps_per_epoch)));
  return [o, total_steps, warmup_steps](int64_t step) -> double {
    if (o.sched == "cosine") return CosineSchedule{o.lr, o.min_lr, o.warmup_lr, warmup_steps, total_steps}.lr(step);
    if (o.sched == "step")
      return StepSchedule{o.lr, 0.1, o.warmup_lr, std::max<int64_t>(1, total_steps / 3), warmup_steps}.lr(step);
    return step < warmup_steps ? StepSchedule{o.lr, 1.0, o.warmup_lr, 1, warmup_steps}.lr(step) : o.lr;
  };
}

// The run's model: built from the name or hub folder, its weights loaded, the PEFT spec applied
// and, for MAE, the encoder prepared and the decoder attached.
struct RunModel {
  models::ModelSource source;
  std::string weights;  // the file loaded; empty for a model from scratch
  std::shared_ptr<models::Model> model;
  models::VisionTransformer* vit = nullptr;
  std::shared_ptr<models::MaeDecoder> mae;
  peft::AppliedSpec applied;
};

RunModel build_run_model(const TrainOptions& o, int64_t num_classes) {
  RunModel r;
  r.source = models::resolve_model(o.model, o.model_args);
  for (const std::string& note : r.source.notes)
    if (!o.quiet) std::fprintf(stderr, "frost train: %s\n", note.c_str());
  r.source.model_args = model_args_for(o, r.source, num_classes);
  r.model = models::create_model(r.source, o.seed);
  r.model->rng->seed = o.seed;
  r.weights = o.weights.empty() ? r.source.weights : models::weights_file(o.weights);
  if (!r.weights.empty()) {
    const models::CheckpointReport report = models::load_weights(*r.model, r.source, r.weights, true);
    for (const std::string& note : report.notes)
      if (!o.quiet) std::fprintf(stderr, "frost train: %s: %s\n", r.weights.c_str(), note.c_str());
  }
  r.vit = dynamic_cast<models::VisionTransformer*>(r.model.get());
  if (o.mae && !r.vit) throw std::invalid_argument("MAE pre-training needs a ViT, not " + r.source.architecture);
  if (o.mae && r.weights.empty()) models::init_mae_encoder(*r.vit, o.seed);  // a fresh encoder starts as MAE's
  r.applied = peft::apply_spec(*r.model, o.peft, o.seed);
  if (o.mae) r.mae = models::attach_mae(*r.vit, *o.mae, o.seed + 17);
  return r;
}

}  // namespace

TrainResult run_train(const TrainOptions& o_in) {
  const TrainOptions o = checked_options(o_in);
  data::set_max_image_pixels(o.max_image_pixels);
  const Device device = parse_device_flag(o.device);
  const DType precision = parse_precision_flag(o.precision);
  auto train_set = o.train_set ? o.train_set : data::open_dataset(o.dataset, o.data_dir, o.train_split, o.num_classes);
  const int64_t num_classes = o.num_classes > 0 ? o.num_classes : train_set->num_classes;
  std::shared_ptr<data::Dataset> val_set = o.val_set;
  if (!o.train_set && o.val_split != "none" && !o.val_split.empty())
    val_set = data::open_dataset(o.dataset, o.data_dir, o.val_split, num_classes);
  const RunModel run = build_run_model(o, num_classes);
  const models::ModelSource& source = run.source;
  const nlohmann::json& model_args = source.model_args;
  const std::string& weights = run.weights;
  const std::shared_ptr<models::Model>& model = run.model;
  models::VisionTransformer* vit = run.vit;
  const std::shared_ptr<models::MaeDecoder>& mae = run.mae;
  const peft::AppliedSpec& applied = run.applied;
  model->to(device);  // after the PEFT methods: their tensors move with the model
  const data::TransformOptions train_tf = transform_for(o, *model, true, source.pretrained),
                               eval_tf = transform_for(o, *model, false, source.pretrained);

  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.shuffle = true;
  lo.drop_last = train_set->size() >= o.batch_size;
  lo.strict = o.strict_data;
  lo.seed = o.seed;
  lo.workers = o.workers;
  data::DataLoader loader(train_set, train_tf, lo);
  if (applied.calibrates()) {
    // A method that looks at data first (GPS picks each row's k weights by gradient magnitude)
    // sees batches of epoch 0 (seeded, so a resumed run calibrates alike before its checkpoint loads).
    loader.start(0, 0);
    model->train(true);
    applied.calibrate(*model, [&](int64_t) {
      data::Batch b;
      if (!loader.next(b) || b.size == 0) return;
      cross_entropy(model->forward(batch_images(b, device)), batch_labels(b, device), o.smoothing).backward();
    });
  }
  model->set_precision(precision);  // after any calibration: what trains is decided
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  const std::function<double(int64_t)> lr_at = lr_schedule(o, steps_per_epoch);
  const std::unique_ptr<Optimizer> optimizer = make_optimizer(o, *model);

  TrainResult result;
  result.trainable_params = model->parameter_count(true);
  result.output = o.output.empty() ? default_output(o) : o.output;
  fs::create_directories(result.output);
  const std::string summary = (fs::path(result.output) / "summary.csv").string();
  const std::string last = (fs::path(result.output) / "last.ckpt").string(),
                    best = (fs::path(result.output) / "best.ckpt").string();
  nlohmann::json identity = {
      {"model", source.architecture}, {"model_args", model_args},   {"pretrained", pretrained_json(source.pretrained)},
      {"peft", applied.spec},         {"num_classes", num_classes}, {"precision", dtype_name(precision)}};
  if (mae) identity["objective"] = mae->config.describe();
  TrainState state = start_state(o, *model, *optimizer, identity, summary, steps_per_epoch);
  write_args(o, weights, model_args, applied.spec, num_classes, precision, train_tf, eval_tf, *model, train_set->class_names,
             result.output);
  model->rng->seed = state.rng_seed;
  model->rng->offset = state.rng_offset;
  const bool tty = !o.quiet && isatty(fileno(stdout));
  if (!o.quiet)
    std::printf("frost train: %s, %s, %lld trainable of %lld parameters, %lld images, %lld steps/epoch, output %s\n",
                source.architecture.c_str(), applied.spec.c_str(), (long long)model->parameter_count(true),
                (long long)model->parameter_count(), (long long)train_set->size(), (long long)steps_per_epoch,
                result.output.c_str());

  const std::function<void(const std::string&)> checkpoint = [&](const std::string& path) {
    state.rng_seed = model->rng->seed;
    state.rng_offset = model->rng->offset;
    save_train_checkpoint(path, *model, *optimizer, state, identity);
  };
  const std::function<Tensor(const Tensor&, const Tensor&)> step_loss = [&](const Tensor& images, const Tensor& labels) {
    return mae ? models::mae_forward(*vit, *mae, images, *model->rng).loss
               : cross_entropy(model->forward(images), labels, o.smoothing);
  };
  const std::function<EvalResult()> run_eval = [&] {
    return mae ? evaluate_mae(*vit, *mae, *val_set, eval_tf, o.batch_size, o.workers, o.strict_data, o.seed + 5)
               : evaluate(*model, *val_set, eval_tf, o.batch_size, o.workers, o.strict_data);
  };
  std::unique_ptr<EventWriter> events = o.log_dir.empty() ? nullptr : std::make_unique<EventWriter>(o.log_dir);
  if (events && !o.quiet) std::printf("frost train: TensorBoard events in %s\n", events->path().c_str());
  for (; state.epoch < o.epochs; ++state.epoch) {
    loader.start(state.epoch, state.batch);
    model->train(true);
    const EpochContext ctx{o,       *model,  *optimizer, state,   result, steps_per_epoch, lr_at,    checkpoint,  last, tty,
                           val_set, eval_tf, applied,    summary, best,   step_loss,       run_eval, events.get()};
    if (!train_epoch(ctx, loader, device)) return result;  // --stop-after-steps
    finish_epoch(ctx);
  }
  result.best_top1 = state.best_top1;
  if (!o.weights_out.empty())  // MAE: the encoder alone, under timm's keys (decoder dropped)
    save_safetensors(o.weights_out, mae ? models::encoder_state_dict(*model) : model->state_dict(),
                     {{"format", "pt"}, {"peft", applied.spec}, {"objective", mae ? mae->config.describe() : "classification"}});
  return result;
}

}  // namespace frost::cli
