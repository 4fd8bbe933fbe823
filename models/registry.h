// registry.h: models by timm name. `create_model("vit_base_patch16_224", {"num_classes": 10})`
// builds the architecture timm builds for that name with those keyword arguments (timm's names),
// so timm's checkpoints for it load by key. A pretrained tag after a dot
// ("vit_base_patch16_224.augreg2_in21k_ft_in1k") is accepted and ignored.
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

// The eval preprocessing of the name's default pretrained tag in timm (timm's pretrained_cfg):
// ViT's augreg weights use mean = std = 0.5, Swin and ConvNeXt ImageNet's; crop_pct as timm.
struct PretrainedConfig {
  std::array<float, 3> mean, std;
  double crop_pct;
};
PretrainedConfig pretrained_config(const std::string& name);

// What the registry knows of a name without building it; throws for an unknown name, as create_model.
struct ModelInfo {
  std::string family;   // "vit", "swin" or "convnext"
  bool takes_img_size;  // false for ConvNeXt: any input size, no img_size argument
  PretrainedConfig pretrained;
};
ModelInfo model_info(const std::string& name);

}  // namespace frost::models
