// registry.cpp: see registry.h. Each entry is a family, the arguments timm's entrypoint passes
// (timm/models/{vision_transformer, deit, beit, swin_transformer, convnext}.py) plus what the
// default pretrained tag sets (img_size, num_classes), and that tag's eval preprocessing; user
// args override them. tests/fixtures/timm/timm_pretrained.json holds timm's own values for every
// name, and a test compares them with this table.
#include "models/registry.h"

#include <stdexcept>

#include "models/beit.h"
#include "models/convnext.h"
#include "models/swin.h"
#include "models/vit.h"

namespace frost::models {

namespace {

enum class Family { vit, deit, beit, swin, convnext };

struct Normalization {
  std::array<float, 3> mean, std;
};
constexpr Normalization kInception{{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
constexpr Normalization kImagenet{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
constexpr Normalization kClip{{0.48145466f, 0.4578275f, 0.40821073f}, {0.26862954f, 0.26130258f, 0.27577711f}};

struct Preprocessing {
  Normalization norm;
  double crop_pct;
  const char* crop_mode = "center";
};

struct Entry {
  const char* name;
  Family family;
  const char* args;  // JSON
  Preprocessing pre;
  double eps = 0;  // LayerNorm eps where the entrypoint's norm_layer fixes one (CLIP: nn.LayerNorm's 1e-5)
};

const Entry kModels[] = {
    {.name = "vit_tiny_patch16_224",
     .family = Family::vit,
     .args = R"({"patch_size":16,"embed_dim":192,"depth":12,"num_heads":3})",
     .pre = {kInception, 0.9}},
    {.name = "vit_small_patch16_224",
     .family = Family::vit,
     .args = R"({"patch_size":16,"embed_dim":384,"depth":12,"num_heads":6})",
     .pre = {kInception, 0.9}},
    {.name = "vit_base_patch16_224",
     .family = Family::vit,
     .args = R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12})",
     .pre = {kInception, 0.9}},
    {.name = "vit_large_patch16_224",
     .family = Family::vit,
     .args = R"({"patch_size":16,"embed_dim":1024,"depth":24,"num_heads":16})",
     .pre = {kInception, 0.9}},
    {.name = "vit_base_patch32_224",
     .family = Family::vit,
     .args = R"({"patch_size":32,"embed_dim":768,"depth":12,"num_heads":12})",
     .pre = {kInception, 0.9}},
    {.name = "vit_small_patch8_224",
     .family = Family::vit,
     .args = R"({"patch_size":8,"embed_dim":384,"depth":12,"num_heads":6,"num_classes":0})",
     .pre = {kImagenet, 0.9}},
    {.name = "vit_base_patch8_224",
     .family = Family::vit,
     .args = R"({"patch_size":8,"embed_dim":768,"depth":12,"num_heads":12})",
     .pre = {kInception, 0.9}},
    {.name = "vit_huge_patch14_224",
     .family = Family::vit,
     .args = R"({"patch_size":14,"embed_dim":1280,"depth":32,"num_heads":16,"num_classes":0})",
     .pre = {kInception, 0.9}},
    {.name = "vit_base_patch32_clip_224",
     .family = Family::vit,
     .args = R"({"patch_size":32,"embed_dim":768,"depth":12,"num_heads":12,"pre_norm":true})",
     .pre = {kClip, 0.9},
     .eps = 1e-5},
    {.name = "vit_base_patch32_clip_256",
     .family = Family::vit,
     .args = R"({"img_size":256,"patch_size":32,"embed_dim":768,"depth":12,"num_heads":12,"pre_norm":true,"num_classes":512})",
     .pre = {kClip, 1.0},
     .eps = 1e-5},
    {.name = "vit_base_patch32_clip_384",
     .family = Family::vit,
     .args = R"({"img_size":384,"patch_size":32,"embed_dim":768,"depth":12,"num_heads":12,"pre_norm":true})",
     .pre = {kClip, 1.0},
     .eps = 1e-5},
    {.name = "vit_base_patch32_clip_448",
     .family = Family::vit,
     .args = R"({"img_size":448,"patch_size":32,"embed_dim":768,"depth":12,"num_heads":12,"pre_norm":true})",
     .pre = {kClip, 1.0},
     .eps = 1e-5},
    {.name = "vit_base_patch16_clip_224",
     .family = Family::vit,
     .args = R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"pre_norm":true})",
     .pre = {kClip, 0.95},
     .eps = 1e-5},
    {.name = "vit_base_patch16_clip_384",
     .family = Family::vit,
     .args = R"({"img_size":384,"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"pre_norm":true})",
     .pre = {.norm = kClip, .crop_pct = 1.0, .crop_mode = "squash"},
     .eps = 1e-5},
    {.name = "vit_large_patch14_clip_224",
     .family = Family::vit,
     .args = R"({"patch_size":14,"embed_dim":1024,"depth":24,"num_heads":16,"pre_norm":true})",
     .pre = {kInception, 1.0},
     .eps = 1e-5},
    {.name = "vit_large_patch14_clip_336",
     .family = Family::vit,
     .args = R"({"img_size":336,"patch_size":14,"embed_dim":1024,"depth":24,"num_heads":16,"pre_norm":true})",
     .pre = {.norm = kInception, .crop_pct = 1.0, .crop_mode = "squash"},
     .eps = 1e-5},
    {.name = "vit_huge_patch14_clip_224",
     .family = Family::vit,
     .args = R"({"patch_size":14,"embed_dim":1280,"depth":32,"num_heads":16,"pre_norm":true})",
     .pre = {kClip, 1.0},
     .eps = 1e-5},
    {.name = "vit_base_patch32_clip_quickgelu_224",
     .family = Family::vit,
     .args =
         R"({"patch_size":32,"embed_dim":768,"depth":12,"num_heads":12,"pre_norm":true,"act_layer":"quick_gelu","num_classes":512})",
     .pre = {kClip, 0.9},
     .eps = 1e-5},
    {.name = "vit_base_patch16_clip_quickgelu_224",
     .family = Family::vit,
     .args =
         R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"pre_norm":true,"act_layer":"quick_gelu","num_classes":512})",
     .pre = {kClip, 1.0},
     .eps = 1e-5},
    {.name = "vit_large_patch14_clip_quickgelu_224",
     .family = Family::vit,
     .args =
         R"({"patch_size":14,"embed_dim":1024,"depth":24,"num_heads":16,"pre_norm":true,"act_layer":"quick_gelu","num_classes":768})",
     .pre = {kClip, 1.0},
     .eps = 1e-5},
    {.name = "vit_large_patch14_clip_quickgelu_336",
     .family = Family::vit,
     .args =
         R"({"img_size":336,"patch_size":14,"embed_dim":1024,"depth":24,"num_heads":16,"pre_norm":true,"act_layer":"quick_gelu","num_classes":768})",
     .pre = {kClip, 1.0},
     .eps = 1e-5},
    {.name = "vit_small_patch14_dinov2",
     .family = Family::vit,
     .args = R"({"img_size":518,"patch_size":14,"embed_dim":384,"depth":12,"num_heads":6,"init_values":1e-05,"num_classes":0})",
     .pre = {kImagenet, 1.0}},
    {.name = "vit_small_patch14_reg4_dinov2",
     .family = Family::vit,
     .args =
         R"({"img_size":518,"patch_size":14,"embed_dim":384,"depth":12,"num_heads":6,"init_values":1e-05,"reg_tokens":4,"no_embed_class":true,"num_classes":0})",
     .pre = {kImagenet, 1.0}},
    {.name = "vit_base_patch14_dinov2",
     .family = Family::vit,
     .args = R"({"img_size":518,"patch_size":14,"embed_dim":768,"depth":12,"num_heads":12,"init_values":1e-05,"num_classes":0})",
     .pre = {kImagenet, 1.0}},
    {.name = "vit_base_patch14_reg4_dinov2",
     .family = Family::vit,
     .args =
         R"({"img_size":518,"patch_size":14,"embed_dim":768,"depth":12,"num_heads":12,"init_values":1e-05,"reg_tokens":4,"no_embed_class":true,"num_classes":0})",
     .pre = {kImagenet, 1.0}},
    {.name = "vit_large_patch14_dinov2",
     .family = Family::vit,
     .args = R"({"img_size":518,"patch_size":14,"embed_dim":1024,"depth":24,"num_heads":16,"init_values":1e-05,"num_classes":0})",
     .pre = {kImagenet, 1.0}},
    {.name = "vit_large_patch14_reg4_dinov2",
     .family = Family::vit,
     .args =
         R"({"img_size":518,"patch_size":14,"embed_dim":1024,"depth":24,"num_heads":16,"init_values":1e-05,"reg_tokens":4,"no_embed_class":true,"num_classes":0})",
     .pre = {kImagenet, 1.0}},
    {.name = "deit_tiny_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":192,"depth":12,"num_heads":3})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit_small_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":384,"depth":12,"num_heads":6})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit_base_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit_base_patch16_384",
     .family = Family::deit,
     .args = R"({"img_size":384,"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12})",
     .pre = {kImagenet, 1.0}},
    {.name = "deit_tiny_distilled_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":192,"depth":12,"num_heads":3,"distilled":true})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit_small_distilled_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":384,"depth":12,"num_heads":6,"distilled":true})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit_base_distilled_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"distilled":true})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit_base_distilled_patch16_384",
     .family = Family::deit,
     .args = R"({"img_size":384,"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"distilled":true})",
     .pre = {kImagenet, 1.0}},
    {.name = "deit3_small_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":384,"depth":12,"num_heads":6,"no_embed_class":true,"init_values":1e-06})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit3_small_patch16_384",
     .family = Family::deit,
     .args =
         R"({"img_size":384,"patch_size":16,"embed_dim":384,"depth":12,"num_heads":6,"no_embed_class":true,"init_values":1e-06})",
     .pre = {kImagenet, 1.0}},
    {.name = "deit3_medium_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":512,"depth":12,"num_heads":8,"no_embed_class":true,"init_values":1e-06})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit3_base_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"no_embed_class":true,"init_values":1e-06})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit3_base_patch16_384",
     .family = Family::deit,
     .args =
         R"({"img_size":384,"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"no_embed_class":true,"init_values":1e-06})",
     .pre = {kImagenet, 1.0}},
    {.name = "deit3_large_patch16_224",
     .family = Family::deit,
     .args = R"({"patch_size":16,"embed_dim":1024,"depth":24,"num_heads":16,"no_embed_class":true,"init_values":1e-06})",
     .pre = {kImagenet, 0.9}},
    {.name = "deit3_large_patch16_384",
     .family = Family::deit,
     .args =
         R"({"img_size":384,"patch_size":16,"embed_dim":1024,"depth":24,"num_heads":16,"no_embed_class":true,"init_values":1e-06})",
     .pre = {kImagenet, 1.0}},
    {.name = "deit3_huge_patch14_224",
     .family = Family::deit,
     .args = R"({"patch_size":14,"embed_dim":1280,"depth":32,"num_heads":16,"no_embed_class":true,"init_values":1e-06})",
     .pre = {kImagenet, 0.9}},
    {.name = "beit_base_patch16_224",
     .family = Family::beit,
     .args =
         R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"mlp_ratio":4,"use_abs_pos_emb":false,"use_rel_pos_bias":true,"init_values":0.1})",
     .pre = {kInception, 0.9}},
    {.name = "beit_base_patch16_384",
     .family = Family::beit,
     .args =
         R"({"img_size":384,"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"mlp_ratio":4,"use_abs_pos_emb":false,"use_rel_pos_bias":true,"init_values":0.1})",
     .pre = {kInception, 1.0}},
    {.name = "beit_large_patch16_224",
     .family = Family::beit,
     .args =
         R"({"patch_size":16,"embed_dim":1024,"depth":24,"num_heads":16,"mlp_ratio":4,"use_abs_pos_emb":false,"use_rel_pos_bias":true,"init_values":1e-05})",
     .pre = {kInception, 0.9}},
    {.name = "beit_large_patch16_384",
     .family = Family::beit,
     .args =
         R"({"img_size":384,"patch_size":16,"embed_dim":1024,"depth":24,"num_heads":16,"mlp_ratio":4,"use_abs_pos_emb":false,"use_rel_pos_bias":true,"init_values":1e-05})",
     .pre = {kInception, 1.0}},
    {.name = "beit_large_patch16_512",
     .family = Family::beit,
     .args =
         R"({"img_size":512,"patch_size":16,"embed_dim":1024,"depth":24,"num_heads":16,"mlp_ratio":4,"use_abs_pos_emb":false,"use_rel_pos_bias":true,"init_values":1e-05})",
     .pre = {kInception, 1.0}},
    {.name = "beitv2_base_patch16_224",
     .family = Family::beit,
     .args =
         R"({"patch_size":16,"embed_dim":768,"depth":12,"num_heads":12,"mlp_ratio":4,"use_abs_pos_emb":false,"use_rel_pos_bias":true,"init_values":1e-05})",
     .pre = {kImagenet, 0.9}},
    {.name = "beitv2_large_patch16_224",
     .family = Family::beit,
     .args =
         R"({"patch_size":16,"embed_dim":1024,"depth":24,"num_heads":16,"mlp_ratio":4,"use_abs_pos_emb":false,"use_rel_pos_bias":true,"init_values":1e-05})",
     .pre = {kImagenet, 0.95}},
    {.name = "swin_tiny_patch4_window7_224",
     .family = Family::swin,
     .args = R"({"patch_size":4,"window_size":7,"embed_dim":96,"depths":[2,2,6,2],"num_heads":[3,6,12,24]})",
     .pre = {kImagenet, 0.9}},
    {.name = "swin_small_patch4_window7_224",
     .family = Family::swin,
     .args = R"({"patch_size":4,"window_size":7,"embed_dim":96,"depths":[2,2,18,2],"num_heads":[3,6,12,24]})",
     .pre = {kImagenet, 0.9}},
    {.name = "swin_base_patch4_window7_224",
     .family = Family::swin,
     .args = R"({"patch_size":4,"window_size":7,"embed_dim":128,"depths":[2,2,18,2],"num_heads":[4,8,16,32]})",
     .pre = {kImagenet, 0.9}},
    {.name = "swin_base_patch4_window12_384",
     .family = Family::swin,
     .args = R"({"img_size":384,"patch_size":4,"window_size":12,"embed_dim":128,"depths":[2,2,18,2],"num_heads":[4,8,16,32]})",
     .pre = {kImagenet, 1.0}},
    {.name = "convnext_tiny",
     .family = Family::convnext,
     .args = R"({"depths":[3,3,9,3],"dims":[96,192,384,768]})",
     .pre = {kImagenet, 0.95}},
    {.name = "convnext_small",
     .family = Family::convnext,
     .args = R"({"depths":[3,3,27,3],"dims":[96,192,384,768]})",
     .pre = {kImagenet, 0.95}},
    {.name = "convnext_base",
     .family = Family::convnext,
     .args = R"({"depths":[3,3,27,3],"dims":[128,256,512,1024]})",
     .pre = {kImagenet, 0.875}},
    {.name = "convnext_large",
     .family = Family::convnext,
     .args = R"({"depths":[3,3,27,3],"dims":[192,384,768,1536]})",
     .pre = {kImagenet, 0.875}},

};

struct FamilyInfo {
  Family family;
  const char* name;
  bool takes_img_size;
};
const FamilyInfo kFamilies[] = {
    {Family::vit, "vit", true},   {Family::deit, "deit", true},          {Family::beit, "beit", true},
    {Family::swin, "swin", true}, {Family::convnext, "convnext", false},
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

PretrainedConfig entry_pretrained(const Entry& e) {
  PretrainedConfig p{e.pre.norm.mean, e.pre.norm.std, e.pre.crop_pct};
  p.crop_mode = e.pre.crop_mode;
  return p;
}

}  // namespace

ModelInfo model_info(const std::string& name) {
  const Entry& e = find_entry(name);
  for (const FamilyInfo& f : kFamilies)
    if (f.family == e.family) return {f.name, f.takes_img_size, entry_pretrained(e), nlohmann::json::parse(e.args)};
  throw std::logic_error("model registry: no family entry for " + name);
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const Entry& e : kModels) out.push_back(e.name);
  return out;
}

PretrainedConfig pretrained_config(const std::string& name) { return model_info(name).pretrained; }

std::shared_ptr<Model> create_model(const std::string& full_name, const nlohmann::json& model_args, uint64_t seed) {
  const Entry& entry = find_entry(full_name);
  const std::string name = entry.name;
  if (!model_args.is_null() && !model_args.is_object())
    throw std::invalid_argument(name + ": model args must be a JSON object, got " + model_args.dump());
  nlohmann::json args = nlohmann::json::parse(entry.args);
  if (model_args.is_object()) args.update(model_args);
  ArgReader reader(name, args);
  switch (entry.family) {
    case Family::vit:
    case Family::deit: {
      ViTConfig c;
      if (entry.eps > 0) c.eps = entry.eps;
      c.read(reader, /*accepts_distilled=*/entry.family == Family::deit);
      reader.finish();
      return std::make_shared<VisionTransformer>(name, c, seed);
    }
    case Family::beit: {
      BeitConfig c;
      c.read(reader);
      reader.finish();
      return std::make_shared<Beit>(name, c, seed);
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
