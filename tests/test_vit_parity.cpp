// test_vit_parity.cpp: the engine end to end against timm. The built-in ViT loads timm's fixture
// weights by name and must reproduce timm's logits and loss (relative error <= 1e-5) and the
// gradient of the input and of every parameter (<= 1e-4), the tolerances of fixtures/README.md.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "models/vit.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;

namespace {

models::ViTConfig vit_config_from_fixture(const std::string& json_path) {
  std::ifstream in(json_path);
  REQUIRE(in.good());
  const nlohmann::json meta = nlohmann::json::parse(in);
  const auto& args = meta.at("model_args");
  models::ViTConfig config;
  config.img_size = args.at("img_size");
  config.patch_size = args.at("patch_size");
  config.embed_dim = args.at("embed_dim");
  config.depth = args.at("depth");
  config.num_heads = args.at("num_heads");
  config.num_classes = args.at("num_classes");
  return config;
}

}  // namespace

TEST_CASE("ViT matches timm: logits, loss, input and parameter gradients", "[cpu][parity]") {
  const std::string dir = fixtures_dir() + "/timm/";
  models::VisionTransformer model(vit_config_from_fixture(dir + "vit_tiny.json"));
  const LoadReport report = load_safetensors(model, dir + "vit_tiny.weights.safetensors");
  CHECK(report.missing.empty());
  CHECK(report.unexpected.empty());
  CHECK(model.parameter_count() == 67258);

  const SafetensorsFile io = SafetensorsFile::open(dir + "vit_tiny.io.safetensors");
  Tensor input = io.get("input").clone().set_requires_grad(true);
  const Tensor logits = model.forward(input);
  CHECK(rel_error(logits, io.get("logits")) <= 1e-5);
  Tensor loss = cross_entropy(logits, io.get("labels"));
  CHECK(rel_error(loss, io.get("loss")) <= 1e-5);
  loss.backward();
  CHECK(rel_error(input.grad(), io.get("grad.input")) <= 1e-4);
  int checked = 0;
  for (const NamedTensor& p : model.named_parameters()) {
    INFO(p.name);
    REQUIRE(p.tensor.grad().defined());
    CHECK(rel_error(p.tensor.grad(), io.get("grad." + p.name)) <= 1e-4);
    ++checked;
  }
  CHECK(checked == 32);
}

TEST_CASE("checkpoint loading reports missing, unexpected and mis-shaped keys", "[cpu][parity]") {
  const std::string dir = fixtures_dir() + "/timm/";
  models::ViTConfig config = vit_config_from_fixture(dir + "vit_tiny.json");
  config.depth = 1;  // the file has blocks.1.*: unexpected for this model
  models::VisionTransformer shallow(config);
  CHECK_THROWS_WITH(load_safetensors(shallow, dir + "vit_tiny.weights.safetensors"),
                    Catch::Contains("12 tensors in the file are not in the model: 'blocks.1.norm1.weight'"));
  const LoadReport lenient = load_safetensors(shallow, dir + "vit_tiny.weights.safetensors", false);
  CHECK(lenient.unexpected.size() == 12);
  CHECK(lenient.missing.empty());
  config = vit_config_from_fixture(dir + "vit_tiny.json");
  config.num_classes = 7;
  models::VisionTransformer other_head(config);
  const std::vector<double> before = other_head.head->weight.to_doubles();
  CHECK_THROWS_WITH(load_safetensors(other_head, dir + "vit_tiny.weights.safetensors"),
                    Catch::Contains("tensor 'head.weight' has shape [10, 48] but the model expects [7, 48]"));
  CHECK(other_head.head->weight.to_doubles() == before);  // nothing was written
  CHECK_THROWS_WITH(models::VisionTransformer(models::ViTConfig{30, 8}), Catch::Contains("img_size 30 is not a multiple"));
}
