// test_hub.cpp: timm hub folders (models/hub.h): what config.json sets (architecture, model_args,
// num_classes, global_pool, pretrained_cfg, label_names), that flags and --model-args still
// override it, the older single-dict layout, and an error naming the file and the key for every
// kind of bad folder: no architecture, wrong types, an unknown architecture, model_args that
// contradict the weights, pytorch_model.bin only.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/hub.h"
#include "models/vit.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;
namespace fs = std::filesystem;

namespace {

const std::string kClip = fixtures_dir() + "/timm/clip.hub";

nlohmann::json clip_config() { return nlohmann::json::parse(std::ifstream(kClip + "/config.json")); }

// A copy of the CLIP fixture folder with `config` as its config.json (and the weights unless told).
std::string folder_with(const std::string& name, const nlohmann::json& config, bool weights = true) {
  const std::string dir = temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/config.json") << config.dump(1);
  if (weights) fs::copy_file(kClip + "/model.safetensors", dir + "/model.safetensors");
  return dir;
}

}  // namespace

TEST_CASE("a hub folder's config.json sets the architecture, its args and the preprocessing", "[cpu][hub]") {
  const models::ModelSource s = models::resolve_model(kClip);
  CHECK(s.architecture == "vit_base_patch16_clip_224");
  CHECK(s.model_args.at("embed_dim") == 48);
  CHECK(s.model_args.at("img_size") == nlohmann::json::array({32, 32}));  // timm writes lists
  CHECK(s.model_args.at("num_classes") == 10);
  CHECK(s.weights == kClip + "/model.safetensors");
  CHECK(s.pretrained.mean[0] == 0.48145466f);  // OpenAI CLIP's, from pretrained_cfg
  CHECK(s.pretrained.crop_pct == 0.95);
  const auto model = models::create_model(s);
  CHECK(model->img_h == 32);
  CHECK(model->num_classes == 10);
  CHECK(dynamic_cast<models::VisionTransformer&>(*model).norm_pre);
  // --model-args over the folder's
  CHECK(models::resolve_model(kClip, {{"num_classes", 3}}).model_args.at("num_classes") == 3);
  // a plain name: the registry's default tag
  const models::ModelSource name = models::resolve_model("vit_small_patch14_dinov2");
  CHECK(name.folder.empty());
  CHECK(name.weights.empty());
  CHECK(name.pretrained.crop_pct == 1.0);
  CHECK(models::weights_file(kClip) == kClip + "/model.safetensors");
}

TEST_CASE("hub config: pretrained_cfg, num_classes 0, label names and the older single-dict layout", "[cpu][hub]") {
  nlohmann::json c = clip_config();
  c["pretrained_cfg"]["crop_mode"] = "squash";
  c["pretrained_cfg"]["interpolation"] = "bilinear";
  c["pretrained_cfg"]["input_size"] = {3, 48, 48};
  c["model_args"].erase("img_size");
  c["label_names"] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  models::ModelSource s = models::resolve_model(folder_with("hub_cfg", c));
  CHECK(s.pretrained.crop_mode == "squash");
  CHECK(s.pretrained.interpolation == "bilinear");
  CHECK(s.model_args.at("img_size") == 48);  // input_size is the default of a fixed-size model
  CHECK(s.label_names.size() == 10);
  CHECK(s.label_names[9] == "j");
  // a feature extractor: no head, and --num-classes makes a new one when loaded
  c = clip_config();
  c["num_classes"] = 0;
  c["model_args"].erase("num_classes");
  s = models::resolve_model(folder_with("hub_features", c));
  CHECK(models::create_model(s)->num_classes == 0);
  s.model_args["num_classes"] = 5;
  auto model = models::create_model(s);
  const models::CheckpointReport report = models::load_weights(*model, s, s.weights);
  REQUIRE(report.notes.size() == 1);
  CHECK(report.notes[0].find("re-initialised for num_classes 5") != std::string::npos);
  // timm's older layout: one dict, no pretrained_cfg
  nlohmann::json legacy = clip_config().at("pretrained_cfg");
  legacy["architecture"] = "vit_base_patch16_clip_224";
  legacy["num_classes"] = 10;
  legacy["model_args"] = clip_config().at("model_args");
  s = models::resolve_model(folder_with("hub_legacy", legacy));
  CHECK(s.architecture == "vit_base_patch16_clip_224");
  CHECK(s.pretrained.crop_pct == 0.95);
  CHECK(models::create_model(s)->num_classes == 10);
}

TEST_CASE("bad hub folders get errors naming the file and the key", "[cpu][hub]") {
  auto fails = [](const nlohmann::json& config, const std::string& name, const std::string& key, const std::string& what) {
    const std::string dir = folder_with(name, config);
    INFO(name);
    CHECK_THROWS_WITH(models::create_model(models::resolve_model(dir)),
                      Catch::Contains(dir + "/config.json") && Catch::Contains(key) && Catch::Contains(what));
  };
  nlohmann::json c = clip_config();
  c.erase("architecture");
  fails(c, "hub_no_arch", "'architecture'", "is missing");
  c = clip_config();
  c["architecture"] = 7;
  fails(c, "hub_arch_type", "'architecture'", "must be a string");
  c["architecture"] = "vit_enormous_patch3";
  fails(c, "hub_arch_unknown", "'architecture'", "known: vit_tiny_patch16_224");
  c = clip_config();
  c["num_classes"] = "ten";
  fails(c, "hub_classes_type", "'num_classes'", "integer");
  c = clip_config();
  c["model_args"] = {1, 2};
  fails(c, "hub_args_type", "'model_args'", "must be an object");
  c = clip_config();
  c["model_args"]["embed_dim"] = "wide";
  fails(c, "hub_arg_type", "embed_dim", "must be an integer");
  c = clip_config();
  c["model_args"]["depth_of_field"] = 3;
  fails(c, "hub_arg_unknown", "depth_of_field", "unknown model arg");
  c = clip_config();
  c["pretrained_cfg"]["mean"] = {0.5, 0.5};
  fails(c, "hub_mean", "'mean'", "3 numbers");
  c = clip_config();
  c["pretrained_cfg"]["input_size"] = {3, 32, 48};
  fails(c, "hub_input", "'input_size'", "square");
  c = clip_config();
  c["pretrained_cfg"]["interpolation"] = "lanczos";
  fails(c, "hub_interp", "'interpolation'", "'bicubic', 'bilinear'");
  c = clip_config();
  c["label_names"] = {{"12", "x"}};
  fails(c, "hub_labels", "'label_names'", "class ids in [0, 10)");
  // model_args that contradict the weights: named as a config / weights mismatch, with the key
  c = clip_config();
  c["model_args"]["embed_dim"] = 96;
  const std::string dir = folder_with("hub_contradicts", c);
  const models::ModelSource s = models::resolve_model(dir);
  auto model = models::create_model(s);
  CHECK_THROWS_WITH(models::load_weights(*model, s, s.weights),
                    Catch::Contains(dir + "/config.json does not describe " + dir + "/model.safetensors") &&
                        Catch::Contains("embed_dim") && Catch::Contains("cls_token"));
  // the same mismatch made by --model-args is the user's, not the folder's
  const models::ModelSource wider = models::resolve_model(kClip, {{"embed_dim", 96}});
  auto wide = models::create_model(wider);
  CHECK_THROWS_WITH(models::load_weights(*wide, wider, wider.weights),
                    Catch::Contains(kClip + "/model.safetensors does not fit " + kClip + "/config.json with --model-args") &&
                        Catch::Contains("cls_token"));
}

TEST_CASE("a hub folder without safetensors weights says what to do", "[cpu][hub]") {
  const std::string dir = folder_with("hub_bin", clip_config(), /*weights=*/false);
  const models::ModelSource s = models::resolve_model(dir);
  auto model = models::create_model(s);
  CHECK_THROWS_WITH(models::load_weights(*model, s, s.weights), Catch::Contains(dir + ": no model.safetensors"));
  std::ofstream(dir + "/pytorch_model.bin") << "pickle";
  CHECK_THROWS_WITH(models::load_weights(*model, s, s.weights),
                    Catch::Contains("pytorch_model.bin but no model.safetensors") && Catch::Contains("save_file(torch.load("));
  fs::remove_all(dir);
  fs::create_directories(dir);
  CHECK_THROWS_WITH(models::resolve_model(dir), Catch::Contains(dir + "/config.json: cannot open"));
}
