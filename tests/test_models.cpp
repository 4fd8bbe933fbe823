// test_models.cpp: the backbones against timm. Every fixture case runs through run_forward (the
// code path of `frost forward`) and must reproduce timm's logits and loss (relative error <= 1e-5)
// and every gradient (<= 1e-4), the tolerances of fixtures/README.md; the 14 manifests must build
// with timm's exact keys, shapes and counts.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/layers.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "tests/helpers.h"
#include "tools/forward.h"

using namespace frost;
using namespace frost::test;

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

void check_case(const std::string& name, bool adapter) { check_timm_fixture(name, adapter, "cpu"); }

}  // namespace

// Every case of fixtures/timm: the backbones (ViT, Swin, ConvNeXt), ViT with an HF peft LoRA
// adapter, and the hub folders (config.json + model.safetensors, written by timm's save_for_hf) of
// the pre-trained families: CLIP towers (pre_norm, quick_gelu), DINOv2 (layer scale, registers,
// and pos_embed resampled to another size), MAE's avg pooling with fc_norm, DeiT distilled,
// DeiT-III, BEiT; and HF peft LoRA over BEiT and over distilled DeiT (both heads in modules_to_save).
TEST_CASE("every timm fixture matches timm through frost forward", "[cpu][parity][hub]") {
  for (const FixtureCase& c : timm_fixture_cases()) SECTION(c.name) {
      check_case(c.name, c.adapter);
    }
}

TEST_CASE("the fixture models have timm's parameter counts", "[cpu][parity]") {
  const std::string dir = fixtures_dir() + "/timm/";
  for (const char* name : {"vit_tiny", "swin_tiny", "convnext_tiny", "clip", "dinov2_reg4", "deit_distilled", "deit3", "beit"}) {
    const nlohmann::json meta = read_json(dir + std::string(name) + ".json");
    const auto model = models::create_model(meta.at("architecture"), meta.at("model_args"));
    INFO(name);
    CHECK(model->parameter_count() == meta.at("params").get<int64_t>());
  }
}

TEST_CASE("the 14 manifests build with timm's keys, shapes and counts", "[cpu][manifest]") {
  const nlohmann::json manifests = read_json(fixtures_dir() + "/timm/timm_manifests.json");
  CHECK(manifests.size() == 14);
  for (const auto& [name, manifest] : manifests.items()) {
    INFO(name);
    SkipInitGuard shapes_only;  // no random draws for 650M parameters
    const auto model = models::create_model(name);
    std::vector<std::pair<std::string, Shape>> want, got;
    for (const auto& [key, shape] : manifest.at("state_dict").items()) want.emplace_back(key, shape.get<Shape>());
    for (const NamedTensor& p : model->state_dict()) got.emplace_back(p.name, p.tensor.shape());
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    CHECK(got == want);
    CHECK(model->parameter_count() == manifest.at("params").get<int64_t>());
  }
}
