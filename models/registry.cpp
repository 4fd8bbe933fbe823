// registry.cpp: see registry.h. Each entry is a family and the arguments timm's entrypoint passes
// (timm/models/{vision_transformer, swin_transformer, convnext}.py); user args override them.
#include "models/registry.h"

#include <stdexcept>

#include "models/convnext.h"
#include "models/swin.h"
#include "models/vit.h"

namespace frost::models {

namespace {

enum class Family { vit, swin, convnext };

struct Entry {
  const char* name;
  Family family;
  const char* args;  // JSON
};

const Entry kModels[] = {
    {"vit_tiny_patch16_224", Family::vit, R"({"patch_size":16,"embed_dim":192,"depth":12,"num_heads":3})"},
    {"vit_small_patch16_224", Family::vit, R"({"patch_size":16,"embed_dim":384,"depth":12,"num_heads":6})"},
    {"vit_base_patch16_224", Family::vit, R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12})"},
    {"vit_large_patch16_224", Family::vit, R"({"patch_size":16,"embed_dim":1024,"depth":24,"num_heads":16})"},
    {"vit_base_patch32_224", Family::vit, R"({"patch_size":32,"embed_dim":768,"depth":12,"num_heads":12})"},
    {"swin_tiny_patch4_window7_224", Family::swin,
     R"({"patch_size":4,"window_size":7,"embed_dim":96,"depths":[2,2,6,2],"num_heads":[3,6,12,24]})"},
    {"swin_small_patch4_window7_224", Family::swin,
     R"({"patch_size":4,"window_size":7,"embed_dim":96,"depths":[2,2,18,2],"num_heads":[3,6,12,24]})"},
    {"swin_base_patch4_window7_224", Family::swin,
     R"({"patch_size":4,"window_size":7,"embed_dim":128,"depths":[2,2,18,2],"num_heads":[4,8,16,32]})"},
    {"swin_base_patch4_window12_384", Family::swin,
     R"({"img_size":384,"patch_size":4,"window_size":12,"embed_dim":128,"depths":[2,2,18,2],"num_heads":[4,8,16,32]})"},
    {"convnext_tiny", Family::convnext, R"({"depths":[3,3,9,3],"dims":[96,192,384,768]})"},
    {"convnext_small", Family::convnext, R"({"depths":[3,3,27,3],"dims":[96,192,384,768]})"},
    {"convnext_base", Family::convnext, R"({"depths":[3,3,27,3],"dims":[128,256,512,1024]})"},
    {"convnext_large", Family::convnext, R"({"depths":[3,3,27,3],"dims":[192,384,768,1536]})"},
};

// Per family: its name, whether it takes img_size, and its default pretrained tag's eval
// preprocessing in timm (ViT's augreg: INCEPTION mean/std; ConvNeXt's in12k_ft_in1k: crop 0.95;
// Swin's ms_in1k: ImageNet's).
struct FamilyInfo {
  Family family;
  const char* name;
  bool takes_img_size;
  PretrainedConfig pretrained;
};
constexpr std::array<float, 3> kImagenetMean{0.485f, 0.456f, 0.406f}, kImagenetStd{0.229f, 0.224f, 0.225f};
const FamilyInfo kFamilies[] = {
    {Family::vit, "vit", true, {{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, 0.9}},
    {Family::swin, "swin", true, {kImagenetMean, kImagenetStd, 0.9}},
    {Family::convnext, "convnext", false, {kImagenetMean, kImagenetStd, 0.95}},
};

// The entry of a name (a pretrained tag after a dot dropped); throws listing the known names.
const Entry& find_entry(const std::string& full_name) {
  const std::string name = full_name.substr(0, full_name.find('.'));
  for (const Entry& e : kModels)
    if (name == e.name) return e;
  std::string known;
  for (const Entry& e : kModels) known += (known.empty() ? "" : ", ") + std::string(e.name);
  throw std::invalid_argument("unknown model '" + full_name + "' (known: " + known + ")");
}

}  // namespace

ModelInfo model_info(const std::string& name) {
  const Entry& e = find_entry(name);
  for (const FamilyInfo& f : kFamilies)
    if (f.family == e.family) return {f.name, f.takes_img_size, f.pretrained};
  throw std::logic_error("model registry: no family entry for " + name);
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const Entry& e : kModels) out.push_back(e.name);
  return out;
}

PretrainedConfig pretrained_config(const std::string& name) { return model_info(name).pretrained; }

std::shared_ptr<Model> create_model(const std::string& full_name, const nlohmann::json& model_args, uint64_t seed) {
  const Entry* entry = &find_entry(full_name);
  const std::string name = entry->name;
  if (!model_args.is_null() && !model_args.is_object())
    throw std::invalid_argument(name + ": model args must be a JSON object, got " + model_args.dump());
  nlohmann::json args = nlohmann::json::parse(entry->args);
  if (model_args.is_object()) args.update(model_args);
  ArgReader reader(name, args);
  switch (entry->family) {
    case Family::vit: {
      ViTConfig c;
      c.read(reader);
      reader.finish();
      return std::make_shared<VisionTransformer>(name, c, seed);
    }
    case Family::swin: {
      SwinConfig c;
      c.read(reader);
      reader.finish();
      return std::make_shared<SwinTransformer>(name, c, seed);
    }
    case Family::convnext: {
      ConvNeXtConfig c;
      c.read(reader);
      reader.finish();
      return std::make_shared<ConvNeXt>(name, c, seed);
    }
  }
  throw std::logic_error("create_model: unhandled family");
}

}  // namespace frost::models
