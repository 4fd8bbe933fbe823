// test_mae.cpp: MAE pre-training (models/mae.h) against facebookresearch/mae's models_mae.py
// (computed on timm's modules by tools/make_fixtures.py, with the masking noise in the file):
// the sin-cos position embeddings, the mask, the predictions, the loss on masked norm-pix targets
// and every gradient of encoder and decoder; and what an encoder that cannot be pre-trained says.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "models/mae.h"
#include "models/registry.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;

TEST_CASE("MAE pre-training matches the paper's code: mask, predictions, loss and every gradient", "[cpu][mae][parity]") {
  const std::string dir = fixtures_dir() + "/timm/";
  const nlohmann::json meta = nlohmann::json::parse(std::ifstream(dir + "mae_pretrain.json"));
  auto model = models::create_model(meta.at("architecture"), meta.at("model_args"));
  auto& vit = dynamic_cast<models::VisionTransformer&>(*model);
  const nlohmann::json& m = meta.at("mae");
  models::MaeConfig c;
  c.mask_ratio = m.at("mask_ratio");
  c.norm_pix_loss = m.at("norm_pix_loss");
  c.decoder_dim = m.at("decoder_dim");
  c.decoder_depth = m.at("decoder_depth");
  c.decoder_heads = m.at("decoder_heads");
  const auto decoder = models::attach_mae(vit, c, 3);
  const SafetensorsFile w = SafetensorsFile::open(dir + "mae_pretrain.weights.safetensors");
  // the fixed sin-cos tables frost computes are the paper's
  CHECK(rel_error(vit.pos_embed, w.get("pos_embed")) <= 1e-6);
  CHECK(rel_error(decoder->decoder_pos_embed, w.get("mae_decoder.decoder_pos_embed")) <= 1e-6);
  std::vector<NamedTensor> tensors;
  for (const auto& e : w.entries()) tensors.push_back({e.name, w.get(e.name)});
  load_tensors(*model, tensors, "mae fixture", true);
  const SafetensorsFile io = SafetensorsFile::open(dir + "mae_pretrain.io.safetensors");
  Tensor images = io.get("input").to(DType::f32);
  images.set_requires_grad(true);
  model->train(false);
  const models::MaeOutput out = models::mae_forward(vit, *decoder, images, io.get("noise").to_doubles());
  CHECK(out.mask.to_doubles() == io.get("mask").to_doubles());
  CHECK(rel_error(out.pred, io.get("pred")) <= 1e-5);
  CHECK(rel_error(out.loss, io.get("loss")) <= 1e-5);
  Tensor(out.loss).backward();
  std::map<std::string, Tensor> params;
  for (const NamedTensor& p : model->named_parameters()) params[p.name] = p.tensor;
  int64_t grads = 0;
  for (const auto& e : io.entries()) {
    if (e.name.rfind("grad.", 0) != 0) continue;
    INFO(e.name);
    const std::string key = e.name.substr(5);
    REQUIRE((key == "input" || params.count(key)));
    const Tensor got = key == "input" ? images.grad() : params.at(key).grad();
    REQUIRE(got.defined());
    CHECK(rel_error(got, io.get(e.name)) <= 1e-4);
    ++grads;
  }
  CHECK(grads == int64_t(model->trainable_parameters().size()) + 1);  // every trainable tensor, and the input
  // the exported encoder: timm's keys, no decoder, no head
  for (const NamedTensor& t : models::encoder_state_dict(*model)) CHECK(t.name.rfind("mae_decoder.", 0) != 0);
  CHECK(models::encoder_state_dict(*model).size() == model->state_dict().size() - decoder->state_dict().size());
}

TEST_CASE("MAE pre-training refuses encoders it cannot mask, naming why", "[cpu][mae]") {
  const nlohmann::json small = {{"img_size", 32}, {"patch_size", 8}, {"embed_dim", 16}, {"depth", 1}, {"num_heads", 2}};
  auto attach = [&](const std::string& name, nlohmann::json extra, double ratio = 0.75) {
    nlohmann::json args = small;
    if (extra.is_object()) args.update(extra);
    auto model = models::create_model(name, args);
    models::MaeConfig c;
    c.mask_ratio = ratio;
    c.decoder_dim = 16;
    c.decoder_depth = 1;
    c.decoder_heads = 2;
    models::attach_mae(dynamic_cast<models::VisionTransformer&>(*model), c, 1);
  };
  CHECK_NOTHROW(attach("vit_base_patch16_224", nlohmann::json::object()));
  CHECK_THROWS_WITH(attach("vit_small_patch14_reg4_dinov2", {{"patch_size", 8}}), Catch::Contains("register or distillation"));
  CHECK_THROWS_WITH(attach("vit_base_patch16_224", {{"global_pool", "avg"}}), Catch::Contains("final norm"));
  CHECK_THROWS_WITH(attach("beit_base_patch16_224", nlohmann::json::object()), Catch::Contains("absolute position embedding"));
  CHECK_THROWS_WITH(attach("vit_base_patch16_224", nlohmann::json::object(), 1.0), Catch::Contains("--mask-ratio"));
}
