// train_cli.cpp: the flags of `frost train` and `frost eval` (timm's names where timm has one).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "engine/json_file.h"
#include "models/checkpoint.h"
#include "models/hub.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tools/cli.h"
#include "tools/train.h"
#include "tools/train_state.h"

namespace frost::cli {

namespace {

std::vector<double> triple(const Flags& flags, const std::string& command, const std::string& name) {
  if (!flags.has(name)) return {};
  std::vector<double> v;
  std::istringstream in(flags.get(name, ""));
  for (std::string part; std::getline(in, part, ',');) {
    try {
      v.push_back(std::stod(part));
    } catch (const std::exception&) {
      throw std::invalid_argument(command + ": flag --" + name + ": '" + part + "' is not a number");
    }
  }
  if (v.size() == 1) v = {v[0], v[0], v[0]};
  if (v.size() != 3) throw std::invalid_argument(command + ": flag --" + name + " takes one number or three (R,G,B)");
  return v;
}

}  // namespace

TrainOptions parse_train_flags(const std::vector<std::string>& args, const std::string& cmd, const ExtraFlags& extra) {
  std::vector<std::string> names = {"model",
                                    "model-args",
                                    "weights",
                                    "peft",
                                    "dataset",
                                    "data-dir",
                                    "train-split",
                                    "val-split",
                                    "num-classes",
                                    "img-size",
                                    "batch-size",
                                    "epochs",
                                    "opt",
                                    "lr",
                                    "weight-decay",
                                    "momentum",
                                    "warmup-epochs",
                                    "warmup-lr",
                                    "min-lr",
                                    "sched",
                                    "smoothing",
                                    "clip-grad",
                                    "drop-path",
                                    "seed",
                                    "workers",
                                    "device",
                                    "precision",
                                    "output",
                                    "resume",
                                    "eval-every",
                                    "log-interval",
                                    "checkpoint-every",
                                    "mean",
                                    "std",
                                    "crop-pct",
                                    "interpolation",
                                    "crop-mode",
                                    "no-aug",
                                    "direct-resize",
                                    "strict-data",
                                    "scale",
                                    "ratio",
                                    "hflip",
                                    "max-image-pixels",
                                    "stop-after-steps"};
  std::vector<std::string> switches = {"no-aug", "direct-resize", "strict-data"};
  names.insert(names.end(), extra.names.begin(), extra.names.end());
  switches.insert(switches.end(), extra.switches.begin(), extra.switches.end());
  Flags f(cmd, args, names, switches);
  TrainOptions o;
  o.model = f.require("model");
  o.model_args = parse_json_flag(f, cmd, "model-args");
  o.weights = f.get("weights", "");
  o.peft = f.get("peft", o.peft);
  o.dataset = f.require("dataset");
  o.data_dir = f.get("data-dir", "");
  o.train_split = f.get("train-split", o.train_split);
  o.val_split = f.get("val-split", o.dataset == "vtab" ? "test" : o.val_split);
  o.num_classes = f.get_int("num-classes", 0, 0);
  o.img_size = f.get_int("img-size", 0, 0);
  o.batch_size = f.get_int("batch-size", o.batch_size);
  o.epochs = f.get_int("epochs", o.epochs);
  o.opt = f.get("opt", o.opt);
  o.lr = f.get_double("lr", 0);
  o.weight_decay = f.get_double("weight-decay", -1);
  o.momentum = f.get_double("momentum", o.momentum);
  o.warmup_epochs = f.get_double("warmup-epochs", o.warmup_epochs);
  o.warmup_lr = f.get_double("warmup-lr", o.warmup_lr);
  o.min_lr = f.get_double("min-lr", o.min_lr);
  o.sched = f.get("sched", o.sched);
  o.smoothing = f.get_double("smoothing", o.smoothing);
  o.clip_grad = f.get_double("clip-grad", 0);
  o.drop_path = f.get_double("drop-path", -1);
  o.seed = uint64_t(f.get_int("seed", int64_t(o.seed), 0));
  o.workers = int(f.get_int("workers", o.workers, 0));
  o.device = f.get("device", o.device);
  o.precision = f.get("precision", o.precision);
  o.output = f.get("output", "");
  o.resume = f.get("resume", "");
  o.eval_every = f.get_int("eval-every", o.eval_every);
  o.log_interval = f.get_int("log-interval", o.log_interval);
  o.checkpoint_every = f.get_int("checkpoint-every", 0, 0);
  o.stop_after_steps = f.get_int("stop-after-steps", 0, 0);
  o.mean = triple(f, cmd, "mean");
  o.std = triple(f, cmd, "std");
  o.crop_pct = f.get_double("crop-pct", 0);
  o.interpolation = f.get("interpolation", o.interpolation);
  o.crop_mode = f.get("crop-mode", o.crop_mode);
  o.augment = !f.has("no-aug");
  o.direct_resize = f.has("direct-resize");
  o.strict_data = f.has("strict-data");
  o.max_image_pixels = f.get_int("max-image-pixels", o.max_image_pixels, 0);
  for (auto [name, range] : {std::pair{"scale", &o.scale}, std::pair{"ratio", &o.ratio}}) {
    if (!f.has(name)) continue;
    std::istringstream in(f.get(name, ""));
    double lo = 0, hi = 0;
    char comma = 0;
    if (!(in >> lo >> comma >> hi) || comma != ',' || lo <= 0 || hi < lo)
      throw std::invalid_argument(cmd + ": flag --" + name + " takes MIN,MAX with 0 < MIN <= MAX, got '" + f.get(name, "") + "'");
    *range = {lo, hi};
  }
  o.hflip = f.get_double("hflip", o.hflip);
  if (o.hflip < 0 || o.hflip > 1) throw std::invalid_argument(cmd + ": --hflip must be a probability in [0, 1]");
  if (o.smoothing < 0 || o.smoothing >= 1) throw std::invalid_argument(cmd + ": --smoothing must be in [0, 1)");
  if (extra.read) extra.read(f, o);
  return o;
}

int run_train_command(const std::vector<std::string>& args) {
  const TrainOptions o = parse_train_flags(args);
  const TrainResult r = run_train(o);
  if (o.stop_after_steps > 0 && r.steps >= o.stop_after_steps)
    std::printf("frost train: stopped after %lld steps (--stop-after-steps); --resume %s continues\n", (long long)r.steps,
                r.output.c_str());
  else if (r.best_top1 >= 0)
    std::printf("frost train: done, %lld epochs, best top-1 %.3f; outputs in %s\n", (long long)r.epochs_done, r.best_top1,
                r.output.c_str());
  else
    std::printf("frost train: done, %lld epochs (no evaluation split); outputs in %s\n", (long long)r.epochs_done,
                r.output.c_str());
  return 0;
}

// `frost eval --checkpoint RUN/best.ckpt --weights BASE --dataset ... [--split test]`, or
// `--model NAME --weights FILE [--adapter PEFT_DIR]` for a plain or HF peft model.
int run_eval_command(const std::vector<std::string>& args) {
  const std::string cmd = "frost eval";
  Flags f(cmd, args, {"model",     "model-args",    "weights",     "adapter",     "checkpoint",
                      "dataset",   "data-dir",      "split",       "num-classes", "batch-size",
                      "workers",   "mean",          "std",         "crop-pct",    "interpolation",
                      "crop-mode", "direct-resize", "strict-data", "img-size",    "max-image-pixels"},
          {"direct-resize", "strict-data"});
  TrainOptions o;
  std::shared_ptr<models::Model> model;
  const std::string checkpoint = f.get("checkpoint", "");
  o.dataset = f.require("dataset");
  o.data_dir = f.get("data-dir", "");
  const std::string split = f.get("split", o.dataset == "vtab" ? "test" : "validation");
  data::set_max_image_pixels(f.get_int("max-image-pixels", data::kDefaultMaxImagePixels, 0));
  models::PretrainedConfig pretrained;
  if (!checkpoint.empty()) {
    const nlohmann::json id = read_checkpoint_identity(checkpoint);
    const std::string origin = checkpoint + ": metadata 'identity'";
    const JsonFields fields(id, origin);
    o.model = fields.string("model");
    model = models::create_model(o.model, fields.at("model_args"));
    // the run's own preprocessing (a hub folder's pretrained_cfg); older checkpoints: the name's
    pretrained = fields.has("pretrained") ? pretrained_from_json(fields.at("pretrained"), origin + ": pretrained")
                                          : models::pretrained_config(o.model);
    if (f.has("weights")) models::load_checkpoint(*model, models::weights_file(f.get("weights", "")), true);
    peft::apply_spec(*model, fields.string("peft"));
    load_train_checkpoint(checkpoint, *model, nullptr, id);
  } else {
    const models::ModelSource source = models::resolve_model(f.require("model"), parse_json_flag(f, cmd, "model-args"));
    for (const std::string& note : source.notes) std::fprintf(stderr, "%s: %s\n", cmd.c_str(), note.c_str());
    o.model = source.architecture;
    pretrained = source.pretrained;
    model = models::create_model(source);
    const std::string weights = f.has("weights") ? models::weights_file(f.get("weights", "")) : source.weights;
    if (weights.empty())
      throw std::invalid_argument(cmd + ": --weights is required with a model name (a hub folder has its own)");
    models::load_weights(*model, source, weights, true);
    if (f.has("adapter")) peft::load_spec_adapter(*model, f.get("adapter", ""));
  }
  model->train(false);
  auto dataset = data::open_dataset(o.dataset, o.data_dir, split, model->num_classes);
  o.mean = triple(f, cmd, "mean");
  o.std = triple(f, cmd, "std");
  o.crop_pct = f.get_double("crop-pct", 0);
  o.interpolation = f.get("interpolation", o.interpolation);
  o.crop_mode = f.get("crop-mode", o.crop_mode);
  o.direct_resize = f.has("direct-resize");
  o.img_size = f.get_int("img-size", 0, 0);
  const data::TransformOptions t = transform_for(o, *model, /*train=*/false, pretrained);
  const EvalResult r =
      evaluate(*model, *dataset, t, f.get_int("batch-size", 64), int(f.get_int("workers", 2, 0)), f.has("strict-data"));
  std::printf("%s on %s/%s: %lld images: top-1 %.3f, top-5 %.3f, loss %.4f", o.model.c_str(), o.dataset.c_str(), split.c_str(),
              (long long)r.images, r.top1, r.top5, r.loss);
  if (r.skipped) std::printf(" (%lld unreadable images skipped)", (long long)r.skipped);
  std::printf("\nper class top-1:");
  for (size_t c = 0; c < r.per_class.size(); ++c) {
    const std::string name = c < dataset->class_names.size() ? dataset->class_names[c] : std::to_string(c);
    if (std::isnan(r.per_class[c]))
      std::printf("%s %s: -", c ? "," : "", name.c_str());
    else
      std::printf("%s %s: %.1f", c ? "," : "", name.c_str(), r.per_class[c]);
  }
  std::printf("\n");
  return 0;
}

}  // namespace frost::cli
