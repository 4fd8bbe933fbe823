// test_model_inputs.cpp: what `frost forward` does with checkpoints and inputs that do not fit:
// each bad input is one clear error naming the file, key or shape; a head for other classes is
// re-initialised and reported; pos_embed is resampled for another image size; keys older
// checkpoints carry are ignored.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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
const nlohmann::json kVitArgs = {{"img_size", 32}, {"patch_size", 8}, {"embed_dim", 48}, {"depth", 2}, {"num_heads", 3}, {"num_classes", 10}};

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

const Tensor& find_output(const cli::ForwardResult& r, const std::string& name) {
  for (const NamedTensor& t : r.outputs)
    if (t.name == name) return t.tensor;
  FAIL("no output " << name);
  throw 0;
}

}  // namespace

TEST_CASE("bad checkpoints: wrong shape, missing key, strict and non-strict", "[cpu][inputs]") {
  cli::ForwardRequest r = vit_request();
  r.weights = edited_weights("wrong_shape.safetensors", [](std::vector<NamedTensor>& t) {
    for (NamedTensor& x : t)
      if (x.name == "blocks.0.attn.qkv.weight") x.tensor = x.tensor.narrow(0, 0, 100);
  });
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains(r.weights) &&
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
  r.weights = edited_weights("unexpected.safetensors", [](std::vector<NamedTensor>& t) { t.push_back({"blocks.9.extra", Tensor::zeros({2})}); });
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("1 tensors in the file are not in the model: 'blocks.9.extra'"));
  r.weights = kDir + "missing_file.safetensors";
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("missing_file.safetensors: cannot open"));
}

TEST_CASE("bad model names and model args", "[cpu][inputs]") {
  CHECK_THROWS_WITH(models::create_model("vit_huge_patch99"), Catch::Contains("unknown model 'vit_huge_patch99' (known: vit_tiny_patch16_224"));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"depthh", 2}}),
                    Catch::Contains("unknown model arg 'depthh'") && Catch::Contains("accepted:"));
  CHECK_THROWS_WITH(models::create_model("swin_tiny_patch4_window7_224", {{"depths", "two"}}),
                    Catch::Contains("model arg 'depths' must be an integer >= 1 or a list of them, got \"two\""));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"global_pool", "max"}}),
                    Catch::Contains("model arg 'global_pool' must be one of 'token', 'avg'"));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"img_size", 30}}), Catch::Contains("img_size 30 is not a multiple of patch_size 16"));
  CHECK_THROWS_WITH(models::create_model("convnext_tiny", {{"depths", {1, 1}}}), Catch::Contains("depths has 2 stages but dims has 4"));
  CHECK(models::create_model("vit_base_patch16_224.augreg2_in21k_ft_in1k", {{"depth", 1}})->architecture == "vit_base_patch16_224");
}

TEST_CASE("bad inputs: rank, channels, size, labels", "[cpu][inputs]") {
  const SafetensorsFile io = SafetensorsFile::open(kDir + "vit_tiny.io.safetensors");
  const Tensor input = io.get("input"), labels = io.get("labels");  // (3, 3, 32, 32), (3)
  cli::ForwardRequest r = vit_request();
  r.input = input_file("rank.safetensors", input.narrow(0, 0, 1).squeeze(0), Tensor());
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("'input' has shape [3, 32, 32], expected rank 4"));
  r.input = input_file("channels.safetensors", input.narrow(1, 0, 1), labels);
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("vit_tiny_patch16_224: input [3, 1, 32, 32] does not match (B, 3, 32, 32)"));
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
    std::ofstream(dir + "/adapter_config.json") << nlohmann::json{{"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", targets}, {"modules_to_save", {"head"}}}.dump();
  };
  cli::ForwardRequest r = vit_request();
  r.weights = kDir + "vit_tiny_lora.weights.safetensors";
  r.adapter = dir;
  write_config({"query", "value"});
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("adapter_config.json") &&
                                             Catch::Contains("target_modules [\"query\",\"value\"] match no module of vit_tiny_patch16_224"));
  write_config({"attn"});
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("match modules LoRA cannot wrap: 'blocks.0.attn (Attention)'"));
  write_config({"proj"});  // matches attn.proj and (peft's suffix rule) patch_embed.proj, but the file holds qkv factors
  CHECK_THROWS_WITH(cli::run_forward(r), Catch::Contains("6 adapter tensors are missing: 'base_model.model.patch_embed.proj.lora_A.weight'"));
  write_config(".*\\.qkv");  // a regex string: peft's re.fullmatch
  CHECK(cli::run_forward(r).outputs.size() == 2);  // logits, loss
}

TEST_CASE("another num_classes re-initialises the head and reports it; num_classes 0 drops it", "[cpu][inputs]") {
  nlohmann::json args = kVitArgs;
  args["num_classes"] = 7;
  auto model = models::create_model("vit_tiny_patch16_224", args);
  const auto report = models::load_checkpoint(*model, kDir + "vit_tiny.weights.safetensors");
  REQUIRE(report.notes.size() == 1);
  CHECK_THAT(report.notes[0], Catch::Contains("classifier 'head' re-initialised for num_classes 7 (head.weight is [10, 48] in the checkpoint, [7, 48] in the model"));
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
