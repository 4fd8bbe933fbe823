// hub.h: `--model` as a timm name or as a timm hub folder, as people download them from the
// Hugging Face hub (or write with timm.models.push_to_hf_hub / save_for_hf): config.json and
// model.safetensors. From config.json, as timm's load_model_config_from_path reads it:
//   architecture   the timm name (required)
//   num_classes    the head the weights carry (0: a feature extractor without head)
//   model_args     keyword arguments for the architecture (timm >= 1.0; values may be lists)
//   global_pool    the pooling the model was saved with
//   pretrained_cfg mean, std, crop_pct, crop_mode, interpolation, input_size: the defaults of the
//                  preprocessing flags (the flags still override), input_size also the img_size
//                  default, as timm's fixed_input_size models take it
//   label_names    class names, when the head has them
// Older folders keep everything in one dict (no pretrained_cfg); that is read too. Every error
// names the file and the key; a folder with only pytorch_model.bin says how to convert it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/registry.h"

namespace frost::models {

struct ModelSource {
  std::string architecture;                              // the timm name to build
  nlohmann::json model_args = nlohmann::json::object();  // the folder's arguments with the user's over them
  std::string folder;                                    // empty for a plain name
  std::string weights;                                   // the folder's model.safetensors; empty for a plain name
  PretrainedConfig pretrained;
  int64_t input_size = 0;  // pretrained_cfg input_size's height (0: the model's own)
  std::vector<std::string> label_names;
  std::vector<std::string> notes;                       // what was read as something else, for stderr
  nlohmann::json user_args = nlohmann::json::object();  // the --model-args given over the folder's
  std::string config_path() const { return folder.empty() ? std::string() : folder + "/config.json"; }
};

bool is_hub_folder(const std::string& model);  // a directory (a timm name never is)
// A --weights value: a hub folder stands for its model.safetensors, anything else for itself.
std::string weights_file(const std::string& path);
// `model`: a timm name or a hub folder; `user_args` (--model-args) override the folder's args.
ModelSource resolve_model(const std::string& model, const nlohmann::json& user_args = nlohmann::json::object());
// Builds the source's architecture with its args; errors from the folder's own args name config.json.
std::shared_ptr<Model> create_model(const ModelSource& source, uint64_t seed = 0);
// load_checkpoint, with a mismatch between the folder's config and its own weights reported as
// such (naming config.json and the weights file).
CheckpointReport load_weights(Model& model, const ModelSource& source, const std::string& weights, bool strict = true);

}  // namespace frost::models
