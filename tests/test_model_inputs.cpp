// test_model_inputs.cpp: what `frost forward` does with checkpoints and inputs that do not fit:
// each bad input is one clear error naming the file, key or shape; a head for other classes is
// re-initialised and reported; pos_embed is resampled for another image size; keys older
// checkpoints carry are ignored.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/pos_embed.h"
#include "models/registry.h"
#include "models/vit.h"
#include "tests/helpers.h"
#include "tools/forward.h"

using namespace frost;
using namespace frost::test;
namespace fs = std::filesystem;

namespace {

const std::string kDir = fixtures_dir() + "/timm/";
const nlohmann::json kVitArgs = {{"img_size", 32}, {"patch_size", 8}, {"embed_dim", 48},
                                 {"depth", 2},     {"num_heads", 3},  {"num_classes", 10}};

cli::ForwardRequest vit_request() {
  cli::ForwardRequest r;
  r.model = "vit_tiny_patch16_224";
  r.model_args = kVitArgs;
  r.weights = kDir + "vit_tiny.weights.safetensors";
  r.input = kDir + "vit_tiny.io.safetensors";
  return r;
}

// The fixture weights with `edit` applied to the list of tensors, written to a temp file.
std::string edited_weights(const std::string& name, const std::function<void(std::vector<NamedTensor>&)>& edit) {
  const SafetensorsFile file = SafetensorsFile::open(kDir + "vit_tiny.weights.safetensors");
  std::vector<NamedTensor> tensors;
  for (const auto& e : file.entries()) tensors.push_back({e.name, file.get(e.name)});
  edit(tensors);
  const std::string path = temp_path(name);
  save_safetensors(path, tensors);
  return path;
}

std::string input_file(const std::string& name, const Tensor& input, const Tensor& labels) {
  const std::string path = temp_path(name);
  std::vector<NamedTensor> tensors{{"input", input}};
  if (labels.defined()) tensors.push_back({"labels", labels});
  save_safetensors(path, tensors);
  return path;
}

}  // namespace

TEST_CASE("bad checkpoints: wrong shape, missing key, strict and non-strict", "[cpu][inputs]") {
  cli::ForwardRequest r = vit_request();
  r.weights = edited_weights("wrong_shape.safetensors", [](std::vector<NamedTensor>& t) {
    for (NamedTensor& x : t)
      if (x.name == "blocks.0.attn.qkv.weight") x.tensor = x.tensor.narrow(0, 0, 100);
  });
  CHECK_THROWS_WITH(cli::run_forward(r),
                    Catch::Contains(r.weights) &&
                        Catch::Contains("tensor 'blocks.0.attn.qkv.weight' has shape [100, 48] but the model expects [144, 48]"));
  r.weights = edited_weights("missing.safetensors", [](std::vector<NamedTensor>& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [](const NamedTensor& x) { return x.name == "blocks.1.mlp.fc2.bias"; }), t.end());
  });
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("1 model tensors are missing from the file: 'blocks.1.mlp.fc2.bias'"));
  r.strict = false;
  const cli::ForwardResult lenient = cli::run_forward(r);
  REQUIRE(lenient.notes.size() == 1);
  CHECK_THAT(lenient.notes[0], Catch::Contains("left initialised: 'blocks.1.mlp.fc2.bias'"));
  r = vit_request();
  r.weights = edited_weights("unexpected.safetensors", [](std::vector<NamedTensor>& t) {
    t.push_back({"blocks.9.extra", Tensor::zeros({2})});
  });
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("1 tensors in the file are not in the model: 'blocks.9.extra'"));
  r.weights = kDir + "missing_file.safetensors";
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("missing_file.safetensors: cannot open"));
}

TEST_CASE("bad model names and model args", "[cpu][inputs]") {
  CHECK_THROWS_WITH(models::create_model("vit_huge_patch99"),
                    Catch::Contains("unknown model 'vit_huge_patch99' (known: vit_tiny_patch16_224"));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"depthh", 2}}),
                    Catch::Contains("unknown model arg 'depthh'") && Catch::Contains("accepted:"));
  CHECK_THROWS_WITH(models::create_model("swin_tiny_patch4_window7_224", {{"depths", "two"}}),
                    Catch::Contains("model arg 'depths' must be an integer in [1, 65536] or a list of them, got \"two\""));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"global_pool", "max"}}),
                    Catch::Contains("model arg 'global_pool' must be one of 'token', 'avg'"));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"img_size", 30}}),
                    Catch::Contains("img_size 30 is not a multiple of patch_size 16"));
  CHECK_THROWS_WITH(models::create_model("convnext_tiny", {{"depths", {1, 1}}}),
                    Catch::Contains("depths has 2 stages but dims has 4"));
  CHECK(models::create_model("vit_base_patch16_224.augreg2_in21k_ft_in1k", {{"depth", 1}})->architecture ==
        "vit_base_patch16_224");
}

TEST_CASE("bad inputs: rank, channels, size, labels", "[cpu][inputs]") {
  const SafetensorsFile io = SafetensorsFile::open(kDir + "vit_tiny.io.safetensors");
  const Tensor input = io.get("input"), labels = io.get("labels");  // (3, 3, 32, 32), (3)
  cli::ForwardRequest r = vit_request();
  r.input = input_file("rank.safetensors", input.narrow(0, 0, 1).squeeze(0), Tensor());
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("'input' has shape [3, 32, 32], expected rank 4"));
  r.input = input_file("channels.safetensors", input.narrow(1, 0, 1), labels);
  CHECK_THROWS_WITH(cli::run_forward(r),
                    Catch::Contains("vit_tiny_patch16_224: input [3, 1, 32, 32] does not match (B, 3, 32, 32)"));
  r.input = input_file("size.safetensors", Tensor::zeros({3, 3, 40, 40}), labels);
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("does not match (B, 3, 32, 32)"));
  r.input = input_file("labels.safetensors", input, Tensor::from_vector({0, 10, 1}, {3}, DType::i64));
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("labels[1] = 10 is outside [0, 10)"));
  r.input = input_file("nolabels.safetensors", input, Tensor());
  r.grads = true;
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("--grads needs 'labels'"));
  r.grads = false;
  const cli::ForwardResult logits_only = cli::run_forward(r);
  CHECK(logits_only.outputs.size() == 1);
  CHECK(rel_error(logits_only.outputs[0].tensor, io.get("logits")) <= 1e-5);
  r.device = "cuda";
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("--device cuda"));
}

TEST_CASE("an adapter whose targets match nothing, or match what LoRA cannot wrap", "[cpu][inputs]") {
  const std::string dir = temp_path("adapter_nomatch");
  fs::create_directories(dir);
  fs::copy_file(kDir + "vit_tiny_lora.adapter/adapter_model.safetensors", dir + "/adapter_model.safetensors",
                fs::copy_options::overwrite_existing);
  auto write_config = [&](const nlohmann::json& targets) {
    std::ofstream(dir + "/adapter_config.json") << nlohmann::json{
        {"peft_type", "LORA"},
        {"r", 4},
        {"lora_alpha", 8},
        {"target_modules", targets},
        {"modules_to_save", {"head"}}}.dump();
  };
  cli::ForwardRequest r = vit_request();
  r.weights = kDir + "vit_tiny_lora.weights.safetensors";
  r.adapter = dir;
  write_config({"query", "value"});
  CHECK_THROWS_WITH(
      cli::run_forward(r),
      Catch::Contains("adapter_config.json") &&
          Catch::Contains("target_modules [\"query\",\"value\"] match no Linear or Conv2d layer of vit_tiny_patch16_224"));
  write_config({"attn"});
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("match modules LoRA cannot wrap: 'blocks.0.attn (Attention)'"));
  write_config({"proj"});  // matches attn.proj and (peft's suffix rule) patch_embed.proj, but the file holds qkv factors
  CHECK_THROWS_WITH(cli::run_forward(r),
                    Catch::Contains("6 adapter tensors are missing: 'base_model.model.patch_embed.proj.lora_A.weight'"));
  write_config(".*\\.qkv");                        // a regex string: peft's re.fullmatch
  CHECK(cli::run_forward(r).outputs.size() == 2);  // logits, loss
}

TEST_CASE("another num_classes re-initialises the head and reports it; num_classes 0 drops it", "[cpu][inputs]") {
  nlohmann::json args = kVitArgs;
  args["num_classes"] = 7;
  auto model = models::create_model("vit_tiny_patch16_224", args);
  const auto report = models::load_checkpoint(*model, kDir + "vit_tiny.weights.safetensors");
  REQUIRE(report.notes.size() == 1);
  CHECK_THAT(
      report.notes[0],
      Catch::Contains(
          "classifier 'head' re-initialised for num_classes 7 (head.weight is [10, 48] in the checkpoint, [7, 48] in the model"));
  auto reference = models::create_model("vit_tiny_patch16_224", kVitArgs);
  models::load_checkpoint(*reference, kDir + "vit_tiny.weights.safetensors");
  model->train(false);
  reference->train(false);
  const Tensor input = SafetensorsFile::open(kDir + "vit_tiny.io.safetensors").get("input");
  NoGradGuard no_grad;
  CHECK(rel_error(model->forward_features(input), reference->forward_features(input)) == 0.0);  // the body loaded
  CHECK(model->forward(input).shape() == Shape{3, 7});
  args["num_classes"] = 0;
  auto headless = models::create_model("vit_tiny_patch16_224", args);
  const auto dropped = models::load_checkpoint(*headless, kDir + "vit_tiny.weights.safetensors");
  CHECK(dropped.ignored.size() == 2);
  CHECK(dropped.notes == std::vector<std::string>{"checkpoint classifier 'head' dropped (num_classes 0)"});
  CHECK(headless->forward(input).shape() == Shape{3, 48});  // pooled features
}

TEST_CASE("pos_embed is resampled (bicubic, antialiased, prefix kept) for another img_size", "[cpu][inputs]") {
  nlohmann::json args = kVitArgs;
  args["img_size"] = 48;  // grid 6x6 instead of 4x4
  auto model = models::create_model("vit_tiny_patch16_224", args);
  const auto report = models::load_checkpoint(*model, kDir + "vit_tiny.weights.safetensors");
  REQUIRE(report.notes.size() == 1);
  CHECK(report.notes[0] == "pos_embed resampled from [1, 17, 48] to [1, 37, 48]");
  const Tensor original = SafetensorsFile::open(kDir + "vit_tiny.weights.safetensors").get("pos_embed");
  auto& vit = dynamic_cast<models::VisionTransformer&>(*model);
  CHECK(rel_error(vit.pos_embed.narrow(1, 0, 1), original.narrow(1, 0, 1)) == 0.0);  // class slot kept
  // Same size: the identity. A constant grid stays constant (weights sum to 1), up and down.
  CHECK(rel_error(models::resample_abs_pos_embed(original, 4, 4, 4, 4, 1), original) <= 1e-7);
  const Tensor ones = Tensor::ones({1, 1 + 25, 3});
  for (int64_t side : {3, 8, 13})
    CHECK(rel_error(models::resample_abs_pos_embed(ones, side, side, 5, 5, 1), Tensor::ones({1, 1 + side * side, 3})) <= 1e-7);
}

TEST_CASE("pos_embed resampling matches PyTorch's antialiased bicubic interpolation", "[cpu][inputs]") {
  // Golden values: torch 1.13 (Debian python3-torch), torch.manual_seed(0); p = torch.randn(1, 26, 3);
  // F.interpolate(p[:, 1:].reshape(1, 5, 5, 3).permute(0, 3, 1, 2), size=(3, 2), mode='bicubic',
  // antialias=True).permute(0, 2, 3, 1).flatten(). Upsampling to (8, 11) agreed to 2.6e-7 too.
  const std::vector<double> p = {
      -1.1258398294448853,   -1.152360200881958,   -0.2505785822868347,   -0.4338788092136383,  0.8487103581428528,
      0.6920091509819031,    -0.31601276993751526, -2.1152193546295166,   0.32227492332458496,  -1.2633347511291504,
      0.34998318552970886,   0.30813392996788025,  0.11984150856733322,   1.237657904624939,    1.1167771816253662,
      -0.2472781538963318,   -1.3526537418365479,  -1.6959311962127686,   0.5666506290435791,   0.7935083508491516,
      0.5988394618034363,    -1.5550950765609741,  -0.3413603901863098,   1.85300612449646,     0.750189483165741,
      -0.5854975581169128,   -0.1733967512845993,  0.18347793817520142,   1.3893661499023438,   1.586334228515625,
      0.946298360824585,     -0.843676745891571,   -0.6135830879211426,   0.03159274160861969,  -0.4926769733428955,
      0.2484147548675537,    0.4396958351135254,   0.11241118609905243,   0.6407923698425293,   0.441156268119812,
      -0.10230965167284012,  0.7924439907073975,   -0.28966769576072693,  0.05250748619437218,  0.5228604674339294,
      2.3022053241729736,    -1.4688938856124878,  -1.586688756942749,    -0.6730899214744568,  0.8728312253952026,
      1.0553574562072754,    0.17784371972084045,  -0.23033547401428223,  -0.3917543888092041,  0.5432947278022766,
      -0.3951575458049774,   -0.4462171792984009,  0.7440207004547119,    1.5209795236587524,   3.4105026721954346,
      -1.5311843156814575,   -1.2341350317001343,  -1.09246826171875,     -0.08519429713487625, -0.09334823489189148,
      0.6870502233505249,    -0.8383153676986694,  0.0008918217499740422, 0.8418940901756287,   -0.4000341594219208,
      0.621138334274292,     0.6381815671920776,   -0.24600094556808472,  2.302516460418701,    -1.881689190864563,
      -0.049727022647857666, -1.0449786186218262,  -0.9565008282661438};
  const std::vector<double> down = {-0.4676133394241333,  -0.22604252398014069, 0.7518362998962402,   0.03925582766532898,
                                    0.07027057558298111,  0.13225148618221283,  0.10371293127536774,  0.01183398813009262,
                                    0.6102447509765625,   0.5963699817657471,   -0.27080869674682617, 0.2879500389099121,
                                    -0.25337299704551697, 0.2119682878255844,   0.49062567949295044,  -0.18403474986553192,
                                    0.466235876083374,    -0.17798838019371033};
  const Tensor resized = models::resample_abs_pos_embed(Tensor::from_vector(p, {1, 26, 3}), 3, 2, 5, 5, 1);
  CHECK(rel_error(resized.narrow(1, 1, 6), Tensor::from_vector(down, {1, 6, 3})) <= 1e-6);
  CHECK(rel_error(resized.narrow(1, 0, 1), Tensor::from_vector({p[0], p[1], p[2]}, {1, 1, 3})) == 0.0);
}

TEST_CASE("older layouts load: Swin before timm 0.9, ConvNeXt's original release", "[cpu][inputs]") {
  // Rename the fixture checkpoints to the old names (the inverse of timm's checkpoint_filter_fn);
  // loading must rename them back and give timm's logits.
  auto rename = [](const std::string& name, const std::function<std::string(const std::string&)>& old_name) {
    const SafetensorsFile file = SafetensorsFile::open(kDir + name + ".weights.safetensors");
    std::vector<NamedTensor> tensors;
    for (const auto& e : file.entries()) tensors.push_back({old_name(e.name), file.get(e.name)});
    const std::string path = temp_path(name + "_old.safetensors");
    save_safetensors(path, tensors);
    return path;
  };
  const std::string swin = rename("swin_tiny", [](const std::string& k) {
    std::smatch m;
    if (std::regex_search(k, m, std::regex(R"(^layers\.(\d+)\.downsample\.)")))
      return "layers." + std::to_string(std::stoi(m[1]) - 1) + ".downsample." + k.substr(size_t(m.length(0)));
    return k.rfind("head.fc.", 0) == 0 ? "head." + k.substr(8) : k;
  });
  const std::string convnext = rename("convnext_tiny", [](const std::string& k) {
    std::string n = k;
    if (n.rfind("stem.", 0) == 0) n = "downsample_layers.0." + n.substr(5);
    n = std::regex_replace(n, std::regex(R"(^stages\.(\d+)\.downsample\.)"), "downsample_layers.$1.");
    n = std::regex_replace(n, std::regex(R"(^stages\.(\d+)\.blocks\.(\d+)\.)"), "stages.$1.$2.");
    n = std::regex_replace(n, std::regex("conv_dw"), "dwconv");
    n = std::regex_replace(n, std::regex(R"(mlp\.fc)"), "pwconv");
    if (n.rfind("head.norm.", 0) == 0) return "norm." + n.substr(10);
    if (n.rfind("head.fc.", 0) == 0) return "head." + n.substr(8);
    return n;
  });
  for (auto [name, path] : {std::pair{std::string("swin_tiny"), swin}, std::pair{std::string("convnext_tiny"), convnext}}) {
    INFO(name);
    cli::ForwardRequest r;
    const nlohmann::json meta = nlohmann::json::parse(std::ifstream(kDir + name + ".json"));
    r.model = meta.at("architecture");
    r.model_args = meta.at("model_args");
    r.weights = path;
    r.input = kDir + name + ".io.safetensors";
    const cli::ForwardResult out = cli::run_forward(r);
    REQUIRE(out.notes.size() == 1);
    CHECK_THAT(out.notes[0], Catch::Contains("layout renamed to timm's current names"));
    CHECK(rel_error(out.outputs[0].tensor, SafetensorsFile::open(r.input).get("logits")) <= 1e-5);
  }
}

TEST_CASE("checkpoints in bf16 and f16 load into the f32 model", "[cpu][inputs]") {
  for (DType dtype : {DType::bf16, DType::f16}) {
    INFO(dtype_name(dtype));
    cli::ForwardRequest r = vit_request();
    r.weights = edited_weights(std::string("half_") + dtype_name(dtype) + ".safetensors", [dtype](std::vector<NamedTensor>& t) {
      for (NamedTensor& x : t) x.tensor = x.tensor.to(dtype);
    });
    const cli::ForwardResult out = cli::run_forward(r);
    CHECK(rel_error(out.outputs[0].tensor, SafetensorsFile::open(r.input).get("logits")) <= 2e-2);  // README's bf16 tolerance
  }
}

TEST_CASE("Swin ignores relative_position_index and attn_mask in older checkpoints", "[cpu][inputs]") {
  const SafetensorsFile file = SafetensorsFile::open(kDir + "swin_tiny.weights.safetensors");
  std::vector<NamedTensor> tensors;
  for (const auto& e : file.entries()) tensors.push_back({e.name, file.get(e.name)});
  tensors.push_back({"layers.0.blocks.0.attn.relative_position_index", Tensor::zeros({16, 16}, DType::i64)});
  tensors.push_back({"layers.0.blocks.1.attn_mask", Tensor::zeros({16, 16, 16})});
  const std::string path = temp_path("swin_old.safetensors");
  save_safetensors(path, tensors);
  const nlohmann::json meta = nlohmann::json::parse(std::ifstream(kDir + "swin_tiny.json"));
  auto model = models::create_model(meta.at("architecture"), meta.at("model_args"));
  const auto report = models::load_checkpoint(*model, path);
  CHECK(report.ignored.size() == 2);
}

TEST_CASE("the registry knows each name's family, whether it takes img_size, and its preprocessing", "[cpu][inputs]") {
  const models::ModelInfo vit = models::model_info("vit_base_patch16_224.augreg2_in21k_ft_in1k");
  CHECK(vit.family == "vit");
  CHECK(vit.takes_img_size);
  CHECK(vit.pretrained.mean[0] == 0.5f);
  const models::ModelInfo convnext = models::model_info("convnext_tiny");
  CHECK(convnext.family == "convnext");
  CHECK_FALSE(convnext.takes_img_size);
  CHECK(convnext.pretrained.crop_pct == 0.95);
  CHECK(models::model_info("swin_tiny_patch4_window7_224").pretrained.std[2] == 0.225f);
  CHECK_THROWS_WITH(models::model_info("vit_giant"),
                    Catch::Contains("unknown model 'vit_giant'") && Catch::Contains("convnext_tiny"));
  // what it says of img_size is what the builder accepts
  CHECK_THROWS(models::create_model("convnext_tiny", {{"img_size", 64}, {"depths", {1, 1, 1, 1}}, {"dims", {8, 16, 24, 32}}}));
  CHECK(models::create_model("vit_tiny_patch16_224", {{"img_size", 32}, {"patch_size", 8}, {"depth", 1}})->img_h == 32);
}

TEST_CASE("every registry name has its default tag's preprocessing, input size and head, as timm", "[cpu][inputs]") {
  // timm_pretrained.json: timm's pretrained_cfg of each name's default tag, and its num_classes.
  const nlohmann::json cfgs = nlohmann::json::parse(std::ifstream(kDir + "timm_pretrained.json"));
  std::set<std::string> timm_names, frost_names;
  for (const auto& [name, cfg] : cfgs.items()) timm_names.insert(name);
  for (const std::string& name : models::model_names()) frost_names.insert(name);
  CHECK(frost_names == timm_names);
  for (const auto& [name, cfg] : cfgs.items()) {
    INFO(name << " (timm's default tag " << cfg.at("tag").get<std::string>() << ")");
    const models::ModelInfo info = models::model_info(name);
    for (size_t c = 0; c < 3; ++c) {
      CHECK(info.pretrained.mean[c] == cfg.at("mean")[c].get<float>());
      CHECK(info.pretrained.std[c] == cfg.at("std")[c].get<float>());
    }
    CHECK(info.pretrained.crop_pct == cfg.at("crop_pct").get<double>());
    CHECK(info.pretrained.crop_mode == cfg.at("crop_mode").get<std::string>());
    CHECK(info.pretrained.interpolation == cfg.at("interpolation").get<std::string>());
    CHECK(info.default_args.value("num_classes", int64_t(1000)) == cfg.at("num_classes").get<int64_t>());
    if (info.takes_img_size) CHECK(info.default_args.value("img_size", int64_t(224)) == cfg.at("input_size")[1].get<int64_t>());
  }
}
