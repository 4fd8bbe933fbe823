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
#include "tools/inference.h"
#include "tools/train.h"
#include "tools/train_state.h"

namespace frost::cli {

std::vector<FlagSpec> train_flags() {
  return with_flags(
      {required(common_flag("model")),
       common_flag("model-args"),
       {"weights", "FILE|DIR", "", "pretrained weights (default: a hub folder's own; none: from scratch)"},
       common_flag("peft"),
       {"dataset", "KIND", "", "folder, vtab, fgvc, cifar10, cifar100, mnist or fmnist", true},
       {"data-dir", "DIR", "", "the dataset's root (folder: DIR/train/<class>/<image>, DIR/validation/...)"},
       {"train-split", "NAME", "train", "the split trained on"},
       {"val-split", "NAME", "validation", "the split evaluated after epochs (test for vtab); none: no evaluation"},
       {"num-classes", "N", "0", "classes of the head; 0: the dataset's"},
       {"batch-size", "B", "64", "images per step"},
       {"epochs", "N", "10", "epochs"},
       {"opt", "adamw|sgd", "adamw", "the optimizer"},
       {"lr", "LR", "0", "peak learning rate; 0: 1e-3 for adamw, 1e-2 for sgd"},
       {"weight-decay", "WD", "-1", "decoupled weight decay; negative: 1e-4"},
       {"momentum", "M", "0.9", "SGD momentum"},
       {"sched", "cosine|step|none", "cosine", "the learning-rate schedule over all steps (step: x0.1 every third)"},
       {"warmup-epochs", "E", "0", "linear warm-up from --warmup-lr, in epochs (fractions allowed)"},
       {"warmup-lr", "LR", "1e-06", "the warm-up's first learning rate"},
       {"min-lr", "LR", "0", "cosine's floor"},
       {"smoothing", "S", "0.1", "label smoothing in [0, 1)"},
       {"clip-grad", "NORM", "0", "clip the gradients' global norm; 0: no clipping"},
       {"drop-path", "P", "-1", "stochastic depth rate; negative: the model's"},
       {"seed", "N", "42", "seeds initialisation, data order, augmentation and dropout"},
       common_flag("workers"),
       common_flag("device"),
       common_flag("precision"),
       {"output", "DIR", "", "the run's folder (default: output/train/<time>-<model>)"},
       {"resume", "DIR|FILE", "", "continue a run from DIR/last.ckpt (or that file), bit-identically"},
       {"eval-every", "N", "1", "evaluate every N epochs (and after the last)"},
       {"log-interval", "N", "50", "steps between progress lines when stdout is not a terminal"},
       {"log-dir", "DIR", "", "also write TensorBoard event files there (tensorboard --logdir DIR)"},
       {"checkpoint-every", "N", "0", "also write last.ckpt every N steps; 0: at epoch ends only"},
       {"stop-after-steps", "N", "0", "return after N steps, as if killed (to check --resume); 0: never"}},
      with_flags(preprocessing_flags(),
                 {{"no-aug", "", "", "no random-resized-crop and flip (evaluation preprocessing when training)"},
                  {"scale", "MIN,MAX", "0.08,1", "random-resized-crop's area range"},
                  {"ratio", "MIN,MAX", "0.75,1.3333333333333333", "random-resized-crop's aspect range"},
                  {"hflip", "P", "0.5", "horizontal flip probability"}}));
}

const CommandSpec& train_spec() {
  static const CommandSpec spec = {
      "frost train",
      "fine-tune a timm model with a PEFT method; writes summary.csv, args.json, last/best.ckpt and adapter/ into --output",
      "",
      train_flags(),
      {"frost train --model vit_base_patch16_224 --weights vit_b16.safetensors --peft lora:r=8 --dataset folder --data-dir DATA",
       "frost train --model HUBDIR --peft vpt:tokens=10 --dataset cifar100 --data-dir cifar-100-binary --epochs 30 --lr 5e-3",
       "frost train --resume output/train/RUN --model HUBDIR --peft vpt:tokens=10 --dataset cifar100 --data-dir "
       "cifar-100-binary"}};
  return spec;
}

TrainOptions parse_train_flags(const Flags& f) {
  const std::string cmd = f.spec().name;
  TrainOptions o;
  o.model = f.require("model");
  o.model_args = parse_json_flag(f, cmd, "model-args");
  o.weights = f.get("weights");
  o.peft = f.get("peft");
  o.dataset = f.require("dataset");
  o.data_dir = f.get("data-dir");
  o.train_split = f.get("train-split");
  o.val_split = f.has("val-split") || o.dataset != "vtab" ? f.get("val-split") : "test";
  o.num_classes = f.get_int("num-classes", 0);
  o.img_size = f.get_int("img-size", 0);
  o.batch_size = f.get_int("batch-size");
  o.epochs = f.get_int("epochs");
  o.opt = f.get("opt");
  o.lr = f.get_double("lr");
  o.weight_decay = f.get_double("weight-decay");
  o.momentum = f.get_double("momentum");
  o.warmup_epochs = f.get_double("warmup-epochs");
  o.warmup_lr = f.get_double("warmup-lr");
  o.min_lr = f.get_double("min-lr");
  o.sched = f.get("sched");
  o.smoothing = f.get_double("smoothing");
  o.clip_grad = f.get_double("clip-grad");
  o.drop_path = f.get_double("drop-path");
  o.seed = uint64_t(f.get_int("seed", 0));
  o.workers = int(f.get_int("workers", 0));
  o.device = f.get("device");
  o.precision = f.get("precision");
  o.output = f.get("output");
  o.resume = f.get("resume");
  o.eval_every = f.get_int("eval-every");
  o.log_interval = f.get_int("log-interval");
  o.checkpoint_every = f.get_int("checkpoint-every", 0);
  o.stop_after_steps = f.get_int("stop-after-steps", 0);
  o.mean = parse_rgb_flag(f, "mean");
  o.std = parse_rgb_flag(f, "std");
  o.crop_pct = f.get_double("crop-pct");
  o.interpolation = f.get("interpolation");
  o.crop_mode = f.get("crop-mode");
  o.augment = !f.has("no-aug");
  o.direct_resize = f.has("direct-resize");
  o.strict_data = f.has("strict-data");
  o.max_image_pixels = f.get_int("max-image-pixels", 0);
  for (auto [name, range] : {std::pair{"scale", &o.scale}, std::pair{"ratio", &o.ratio}}) {
    std::istringstream in(f.get(name));
    double lo = 0, hi = 0;
    char comma = 0;
    if (!(in >> lo >> comma >> hi) || comma != ',' || lo <= 0 || hi < lo)
      throw std::invalid_argument(cmd + ": flag --" + name + " takes MIN,MAX with 0 < MIN <= MAX, got '" + f.get(name) + "'");
    *range = {lo, hi};
  }
  o.hflip = f.get_double("hflip");
  o.log_dir = f.get("log-dir");
  if (o.hflip < 0 || o.hflip > 1) throw std::invalid_argument(cmd + ": --hflip must be a probability in [0, 1]");
  if (o.smoothing < 0 || o.smoothing >= 1) throw std::invalid_argument(cmd + ": --smoothing must be in [0, 1)");
  return o;
}

int run_train_command(const std::vector<std::string>& args) {
  const TrainOptions o = parse_train_flags(Flags(train_spec(), args));
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

const CommandSpec& eval_spec() {
  static const CommandSpec spec = {
      "frost eval",
      "top-1, top-5, loss and per-class top-1 of a trained model on a dataset split",
      "",
      with_flags(
          inference_flags(),
          {{"dataset", "KIND", "", "folder, vtab, fgvc, cifar10, cifar100, mnist or fmnist", true},
           {"data-dir", "DIR", "", "the dataset's root; folder: DIR/<split>/<class>/<image>, or DIR/<class>/<image>"},
           {"split", "NAME", "validation", "the split (test for vtab); a folder without split folders is itself the split"},
           {"num-classes", "N", "0", "classes the labels are checked against; 0: the model's"}}),
      {"frost eval --checkpoint output/train/RUN/best.ckpt --dataset folder --data-dir DATA",
       "frost eval --model HUBDIR --adapter RUN/adapter --dataset cifar100 --data-dir cifar-100-binary --split test",
       "frost eval --checkpoint RUN/best.ckpt --dataset folder --data-dir photos/ --device cuda --precision bf16"}};
  return spec;
}

int run_eval_command(const std::vector<std::string>& args) {
  const Flags f(eval_spec(), args);
  const std::string cmd = "frost eval";
  const std::string dataset_kind = f.require("dataset"), data_dir = f.get("data-dir");
  const std::string split = f.has("split") || dataset_kind != "vtab" ? f.get("split") : "test";
  const InferenceModel loaded = load_for_inference(f);
  for (const std::string& note : loaded.notes) std::fprintf(stderr, "%s: %s\n", cmd.c_str(), note.c_str());
  const models::Model& model = *loaded.model;
  const int64_t classes = f.get_int("num-classes", 0) > 0 ? f.get_int("num-classes") : model.num_classes;
  const auto dataset = data::open_dataset(dataset_kind, data_dir, split, classes);
  const EvalResult r =
      evaluate(model, *dataset, loaded.transform, f.get_int("batch-size"), int(f.get_int("workers", 0)), f.has("strict-data"));
  std::printf("%s on %s/%s: %lld images: top-1 %.3f, top-5 %.3f, loss %.4f", loaded.architecture.c_str(), dataset_kind.c_str(),
              split.c_str(), (long long)r.images, r.top1, r.top5, r.loss);
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
