// inference.cpp: see inference.h.
#include "tools/inference.h"

#include <filesystem>
#include <stdexcept>

#include "engine/json_file.h"
#include "models/checkpoint.h"
#include "models/hub.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tools/train.h"
#include "tools/train_state.h"

namespace frost::cli {

namespace fs = std::filesystem;

std::vector<FlagSpec> inference_flags() {
  return with_flags({{"checkpoint", "FILE", "", "a frost train checkpoint (RUN/best.ckpt or RUN/last.ckpt)"},
                     {"model", "NAME|DIR", "", "instead of --checkpoint: a timm name or a timm hub folder"},
                     common_flag("model-args"),
                     {"weights", "FILE|DIR", "",
                      "the base weights (a checkpoint: default the run's, from its args.json; a hub folder brings its own)"},
                     common_flag("adapter"),
                     common_flag("device"),
                     common_flag("precision"),
                     common_flag("batch-size"),
                     common_flag("workers")},
                    preprocessing_flags());
}

namespace {

// The run's settings that inference reuses, from args.json beside the checkpoint (absent: {}).
nlohmann::json run_args(const std::string& checkpoint) {
  const fs::path path = fs::path(checkpoint).parent_path() / "args.json";
  if (!fs::exists(path)) return nlohmann::json::object();
  nlohmann::json args = read_json_file(path.string(), "");
  if (!args.is_object()) throw std::runtime_error(path.string() + ": not a JSON object");
  return args;
}

}  // namespace

InferenceModel load_for_inference(const Flags& f) {
  const std::string cmd = f.spec().name;
  InferenceModel r;
  TrainOptions o;  // the preprocessing flags, read as frost train reads them
  o.mean = parse_rgb_flag(f, "mean");
  o.std = parse_rgb_flag(f, "std");
  o.crop_pct = f.get_double("crop-pct");
  o.interpolation = f.get("interpolation");
  o.crop_mode = f.get("crop-mode");
  o.direct_resize = f.has("direct-resize");
  o.img_size = f.get_int("img-size", 0);
  data::set_max_image_pixels(f.get_int("max-image-pixels", 0));
  models::PretrainedConfig pre;
  if (f.has("checkpoint")) {
    if (f.has("model") || f.has("adapter") || f.has("model-args"))
      throw UsageError(
          cmd + ": --checkpoint carries its model and method; --model, --model-args and --adapter are for a plain model",
          usage_text(f.spec()));
    const std::string checkpoint = f.get("checkpoint");
    const nlohmann::json id = read_checkpoint_identity(checkpoint);
    const std::string origin = checkpoint + ": metadata 'identity'";
    const JsonFields fields(id, origin);
    r.architecture = fields.string("model");
    r.model = models::create_model(r.architecture, fields.at("model_args"));
    // the run's own preprocessing (a hub folder's pretrained_cfg); older checkpoints: the name's
    pre = fields.has("pretrained") ? pretrained_from_json(fields.at("pretrained"), origin + ": pretrained")
                                   : models::pretrained_config(r.architecture);
    const nlohmann::json args = run_args(checkpoint);
    const std::string args_origin = (fs::path(checkpoint).parent_path() / "args.json").string();
    if (!args.empty()) {  // the run's eval pipeline as it ran, flags over it
      const JsonFields a(args, args_origin);
      pre = pretrained_from_json(args, args_origin);
      if (o.img_size == 0 && a.has("img_size")) o.img_size = a.integer("img_size", 1, 1 << 16);
      if (!f.has("direct-resize")) o.direct_resize = a.boolean("direct_resize", false);
      if (a.has("class_names")) {
        const nlohmann::json& names = a.at("class_names");
        if (!names.is_array()) a.fail("class_names", "must be a list of strings");
        for (const nlohmann::json& name : names) {
          if (!name.is_string()) a.fail("class_names", "must be a list of strings");
          r.class_names.push_back(name.get<std::string>());
        }
      }
    }
    std::string weights = f.get("weights");
    if (weights.empty() && args.contains("weights") && args.at("weights").is_string()) {
      weights = args.at("weights").get<std::string>();
      if (!weights.empty()) r.notes.push_back("base weights " + weights + " (the run's, from " + args_origin + ")");
    }
    if (!weights.empty()) models::load_checkpoint(*r.model, models::weights_file(weights), true);
    peft::apply_spec(*r.model, fields.string("peft"));
    load_train_checkpoint(checkpoint, *r.model, nullptr, id);
  } else {
    if (!f.has("model")) throw UsageError(cmd + ": give --checkpoint FILE or --model NAME|DIR", usage_text(f.spec()));
    const models::ModelSource source = models::resolve_model(f.get("model"), parse_json_flag(f, cmd, "model-args"));
    r.notes = source.notes;
    r.architecture = source.architecture;
    r.class_names = source.label_names;
    pre = source.pretrained;
    r.model = models::create_model(source);
    const std::string weights = f.has("weights") ? models::weights_file(f.get("weights")) : source.weights;
    if (weights.empty())
      throw UsageError(cmd + ": --weights is required with a model name (a hub folder has its own)", usage_text(f.spec()));
    models::load_weights(*r.model, source, weights, true);
    if (f.has("adapter")) peft::load_spec_adapter(*r.model, f.get("adapter"));
  }
  r.model->train(false);
  r.model->to(parse_device_flag(f.get("device")));
  r.model->set_precision(parse_precision_flag(f.get("precision")));
  r.transform = transform_for(o, *r.model, /*train=*/false, pre);
  return r;
}

}  // namespace frost::cli
