// registry.h: models by timm name. `create_model("vit_base_patch16_224", {"num_classes": 10})`
// builds the architecture timm builds for that name with those keyword arguments (timm's names),
// so timm's checkpoints for it load by key. A pretrained tag after a dot
// ("vit_base_patch16_224.augreg2_in21k_ft_in1k") is accepted and ignored. As in timm, a name's
// defaults include what its default pretrained tag fixes: DINOv2 builds at 518 px without a head
// (num_classes 0), the CLIP towers with their projection width as num_classes.
#pragma once
#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model.h"

namespace frost::models {

// Throws naming the model or the argument for an unknown name, an unknown argument or a bad value.
std::shared_ptr<Model> create_model(const std::string& name, const nlohmann::json& model_args = nlohmann::json::object(),
                                    uint64_t seed = 0);
std::vector<std::string> model_names();

// The eval preprocessing of a pretrained tag (timm's pretrained_cfg): the name's default tag here,
// a hub folder's own in models/hub.h.
struct PretrainedConfig {
  std::array<float, 3> mean, std;
  double crop_pct;
  std::string crop_mode = "center";       // "center" (shorter side, then crop) or "squash" (both sides)
  std::string interpolation = "bicubic";  // "bicubic" or "bilinear"
};
PretrainedConfig pretrained_config(const std::string& name);

// What the registry knows of a name without building it; throws for an unknown name, as create_model.
struct ModelInfo {
  std::string family;   // "vit", "deit", "beit", "swin" or "convnext"
  bool takes_img_size;  // false for ConvNeXt: any input size, no img_size argument
  PretrainedConfig pretrained;
  nlohmann::json default_args;  // the entrypoint's model_args with the default tag's img_size / num_classes
};
ModelInfo model_info(const std::string& name);

}  // namespace frost::models
