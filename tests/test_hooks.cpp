// test_hooks.cpp: the hook points PEFT methods build on (models/model.h), each checked against an
// independent computation, and LoRA in HF peft's form (peft/lora.h, peft/lora_folder.h).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "models/vit.h"
#include "peft/lora_folder.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;
using models::Branch;

namespace {

const std::string kDir = fixtures_dir() + "/timm/";
const nlohmann::json kVitArgs = {{"img_size", 32}, {"patch_size", 8}, {"embed_dim", 48},
                                 {"depth", 2},     {"num_heads", 3},  {"num_classes", 10}};

std::shared_ptr<models::Model> fixture_model(const std::string& name) {
  const nlohmann::json meta = nlohmann::json::parse(std::ifstream(kDir + name + ".json"));
  auto model = models::create_model(meta.at("architecture"), meta.at("model_args"));
  models::load_checkpoint(*model, kDir + name + ".weights.safetensors");
  model->train(false);
  return model;
}

Tensor fixture_input(const std::string& name) { return SafetensorsFile::open(kDir + name + ".io.safetensors").get("input"); }

struct Scale : models::BranchHook {  // base(x) * factor
  double factor;
  explicit Scale(double f) : factor(f) {}
  Tensor forward(const Tensor& x, const models::BranchFn& base) const override { return mul(base(x), factor); }
};

struct Prompts : models::TokenHook {  // inserts P learned tokens after the class token
  Tensor prompts;
  explicit Prompts(int64_t count, int64_t dim) {
    prompts = register_parameter("prompts", normal({1, count, dim}, 5, DType::f32));
  }
  Tensor forward(const Tensor& x) const override {
    const int64_t B = x.size(0);
    return cat({x.narrow(1, 0, 1), prompts.expand({B, prompts.size(1), x.size(2)}), x.narrow(1, 1, x.size(1) - 1)}, 1);
  }
};

struct Rows : models::KVRows {
  Tensor k, v;
  Rows(int64_t heads, int64_t L, int64_t D) {
    k = register_parameter("k", normal({heads, L, D}, 7, DType::f32));
    v = register_parameter("v", normal({heads, L, D}, 8, DType::f32));
  }
  std::pair<Tensor, Tensor> rows() const override { return {k, v}; }
};

}  // namespace

TEST_CASE("layers are reachable and replaceable by their timm names", "[cpu][hooks]") {
  auto model = fixture_model("vit_tiny");
  CHECK(model->find("blocks.1.attn.qkv")->kind() == "Linear");
  CHECK(model->find("blocks.0.norm2")->kind() == "LayerNorm");
  CHECK(model->find("patch_embed.proj")->kind() == "Conv2d");
  CHECK(model->find("blocks.7") == nullptr);
  // A slot takes any module of its declared type: qkv any Layer, attn only an Attention.
  CHECK_THROWS_WITH(model->replace("blocks.0.attn.qkv", std::make_shared<models::Attention>(48, 3, true, 1)),
                    Catch::Contains("module 'blocks.0.attn.qkv' (a Linear) cannot be replaced by a Attention"));
  CHECK_THROWS_WITH(model->replace("blocks.0.attn", std::make_shared<Linear>(48, 48, true, 1)),
                    Catch::Contains("module 'blocks.0.attn' (a Attention) cannot be replaced by a Linear"));
  CHECK_THROWS_WITH(model->replace("blocks.0.attn.nothing", std::make_shared<LayerNorm>(48, 1e-6)),
                    Catch::Contains("no module named 'blocks.0.attn.nothing'"));
  // Swapping blocks.1.norm2 for a LayerNorm with twice the weight and bias: the same as scaling them in place.
  const Tensor input = fixture_input("vit_tiny");
  auto norm = std::make_shared<LayerNorm>(48, 1e-6);
  auto old = std::dynamic_pointer_cast<LayerNorm>(model->find("blocks.1.norm2"));
  copy_into(norm->weight, mul(old->weight, 2.0));
  copy_into(norm->bias, mul(old->bias, 2.0));
  model->replace("blocks.1.norm2", norm);
  CHECK(model->find("blocks.1.norm2") == norm);
  auto reference = fixture_model("vit_tiny");
  auto ref_norm = std::dynamic_pointer_cast<LayerNorm>(reference->find("blocks.1.norm2"));
  copy_into(ref_norm->weight, mul(ref_norm->weight, 2.0));
  copy_into(ref_norm->bias, mul(ref_norm->bias, 2.0));
  NoGradGuard no_grad;
  CHECK(rel_error(model->forward(input), reference->forward(input)) == 0.0);
}

TEST_CASE("a branch hook sees the branch input and wraps the branch", "[cpu][hooks]") {
  // x + 2 * mlp(norm2(x)) is LayerScale with gamma = 2: a ViT with init_values=2 must agree.
  nlohmann::json args = kVitArgs;
  args["init_values"] = 2.0;
  auto scaled = models::create_model("vit_tiny_patch16_224", args);
  auto hooked = models::create_model("vit_tiny_patch16_224", kVitArgs);
  auto ls = std::dynamic_pointer_cast<models::VisionTransformer>(scaled);
  for (auto& block : ls->blocks)
    copy_into(std::dynamic_pointer_cast<models::LayerScale>(std::static_pointer_cast<models::ViTBlock>(block)->ls1)->gamma,
              Tensor::ones({48}));
  const SafetensorsFile w = SafetensorsFile::open(kDir + "vit_tiny.weights.safetensors");
  std::vector<NamedTensor> tensors;
  for (const auto& e : w.entries()) tensors.push_back({e.name, w.get(e.name)});
  load_tensors(*hooked, tensors, "fixture", true);
  const LoadReport partial = load_tensors(*scaled, tensors, "fixture", false);
  CHECK(partial.missing.size() == 4);  // ls1/ls2 gammas of 2 blocks keep their values
  for (auto& [path, block] : hooked->all_blocks()) block->wrap_branch(Branch::mlp, "scale", std::make_shared<Scale>(2.0));
  scaled->train(false);
  hooked->train(false);
  const Tensor input = fixture_input("vit_tiny");
  NoGradGuard no_grad;
  CHECK(rel_error(hooked->forward(input), scaled->forward(input)) <= 1e-6);
  auto convnext = fixture_model("convnext_tiny");
  CHECK_THROWS_WITH(convnext->all_blocks()[0].second->wrap_branch(Branch::attention, "x", std::make_shared<Scale>(1.0)),
                    Catch::Contains("ConvNeXtBlock blocks have no attention branch"));
  convnext->all_blocks()[0].second->wrap_branch(Branch::mlp, "zero", std::make_shared<Scale>(0.0));  // block 0 becomes identity
  CHECK(convnext->named_parameters().size() == fixture_model("convnext_tiny")->named_parameters().size());
}

TEST_CASE("token hooks edit the sequence entering a block; prompts get gradients", "[cpu][hooks]") {
  auto model = fixture_model("vit_tiny");
  model->set_requires_grad(false);
  auto prompts = std::make_shared<Prompts>(3, 48);
  model->all_blocks()[0].second->add_token_hook("prompt", prompts);
  CHECK(model->trainable_parameters().size() == 1);
  CHECK(model->trainable_parameters()[0].name == "blocks.0.prompt.prompts");
  std::vector<Shape> seen;
  for (auto& [path, block] : model->all_blocks()) block->add_tap([&seen](const Tensor& out) { seen.push_back(out.shape()); });
  Tensor loss = sum(model->forward(fixture_input("vit_tiny")));
  CHECK(seen == std::vector<Shape>{{3, 20, 48}, {3, 20, 48}});  // 1 class + 3 prompts + 16 patches
  loss.backward();
  CHECK(max_abs(prompts->prompts.grad()) > 0);
}

TEST_CASE("taps see every block's output: the last one is the features before the final norm", "[cpu][hooks]") {
  for (const char* name : {"vit_tiny", "swin_tiny", "convnext_tiny"}) {
    INFO(name);
    auto model = fixture_model(name);
    std::vector<Tensor> outputs;
    for (auto& [path, block] : model->all_blocks()) block->add_tap([&outputs](const Tensor& out) { outputs.push_back(out); });
    NoGradGuard no_grad;
    const Tensor features = model->forward_features(fixture_input(name));
    CHECK(outputs.size() == model->all_blocks().size());
    const auto final_norm = std::dynamic_pointer_cast<Layer>(model->find("norm"));
    CHECK(rel_error(final_norm ? final_norm->forward(outputs.back()) : outputs.back(), features) == 0.0);
  }
}

TEST_CASE("attention takes extra key/value rows (prefixes)", "[cpu][hooks]") {
  models::Attention attn(48, 3, true, 1);
  auto rows = std::make_shared<Rows>(3, 5, 16);
  attn.add_prefix("prefix", rows);
  CHECK(attn.named_parameters().back().name == "prefix.v");
  const Tensor x = normal({2, 7, 48}, 3, DType::f32);
  const Tensor bias = normal({1, 3, 7, 7}, 4, DType::f32);
  // By hand: the same projections with [prefix; k] and [prefix; v], the bias zero on prefix columns.
  const Tensor qkv = attn.qkv->forward(x).reshape({2, 7, 3, 3, 16}).permute({2, 0, 3, 1, 4});
  auto part = [&](int i) { return qkv.narrow(0, i, 1).squeeze(0); };
  const Tensor k = cat({rows->k.unsqueeze(0).expand({2, 3, 5, 16}), part(1)}, 2);
  const Tensor v = cat({rows->v.unsqueeze(0).expand({2, 3, 5, 16}), part(2)}, 2);
  const Tensor o = scaled_dot_product_attention(part(0), k, v, cat({Tensor::zeros({1, 3, 7, 5}), bias}, 3));
  const Tensor want = attn.proj->forward(o.transpose(1, 2).reshape({2, 7, 48}));
  CHECK(rel_error(attn.forward(x, bias), want) <= 1e-6);
  // In a Swin model (windowed, masked): runs, and the rows get gradients.
  auto swin = fixture_model("swin_tiny");
  auto block = swin->all_blocks()[1].second;  // shifted, with a mask
  auto window_attn = std::dynamic_pointer_cast<models::Attention>(swin->find(swin->all_blocks()[1].first + ".attn"));
  auto swin_rows = std::make_shared<Rows>(2, 4, 12);
  window_attn->add_prefix("prefix", swin_rows);
  Tensor loss = sum(swin->forward(fixture_input("swin_tiny")));
  loss.backward();
  CHECK(max_abs(swin_rows->k.grad()) > 0);
  CHECK(max_abs(swin_rows->v.grad()) > 0);
}

TEST_CASE("LoRA: a fresh adapter is a no-op, freezes the base, merges, and round-trips through peft's format", "[cpu][lora]") {
  const Tensor input = fixture_input("vit_tiny");
  auto model = fixture_model("vit_tiny");
  Tensor before;
  {
    NoGradGuard no_grad;
    before = model->forward(input);
  }
  peft::LoraConfig config;
  config.r = 4;
  config.lora_alpha = 16;
  config.target_modules.kind = peft::TargetSpec::Kind::names;
  config.target_modules.names = {"qkv", "fc2"};
  config.modules_to_save = {"head"};
  const peft::AppliedAdapter applied = peft::apply_lora_config(*model, config, 3);
  CHECK(applied.lora_modules ==
        std::vector<std::string>{"blocks.0.attn.qkv", "blocks.0.mlp.fc2", "blocks.1.attn.qkv", "blocks.1.mlp.fc2"});
  // r (in + out) per target + the head: 2 * 4 * (48 + 144) + 2 * 4 * (192 + 48) + 480 + 10
  CHECK(model->parameter_count(true) == 2 * 4 * (48 + 144) + 2 * 4 * (192 + 48) + 490);
  CHECK(model->find("blocks.0.attn.qkv")->kind() == "LoraLinear");
  {
    NoGradGuard no_grad;
    CHECK(rel_error(model->forward(input), before) == 0.0);  // B = 0
  }
  // Give B values, train one backward: the base gets no gradient.
  for (const NamedTensor& t : applied.adapter_tensors)
    copy_into(t.tensor.detach(), normal(t.tensor.shape(), 11, DType::f32, 0.1));
  Tensor loss = sum(model->forward(input));
  loss.backward();
  CHECK_FALSE(model->find("blocks.0.attn.qkv")->named_parameters()[0].tensor.grad().defined());
  CHECK(max_abs(applied.adapter_tensors[0].tensor.grad()) > 0);
  // Merged: W + (alpha / r) B A in a plain Linear gives the same output.
  auto lora = std::dynamic_pointer_cast<peft::LoraLinear>(model->find("blocks.1.mlp.fc2"));
  const Tensor x = normal({5, 192}, 2, DType::f32);
  NoGradGuard no_grad;
  CHECK(rel_error(linear(x, add(lora->base_weight, lora->delta_weight()), lora->named_parameters()[1].tensor),
                  lora->forward(x)) <= 1e-6);
  // Save as an HF peft folder, load into a fresh model: the same logits.
  const std::string dir = temp_path("lora_roundtrip");
  peft::save_adapter(dir, config, applied);
  auto reloaded = fixture_model("vit_tiny");
  const peft::AppliedAdapter again = peft::load_adapter(*reloaded, dir);
  CHECK(again.adapter_tensors.size() == applied.adapter_tensors.size());
  model->train(false);
  CHECK(rel_error(reloaded->forward(input), model->forward(input)) == 0.0);
  const SafetensorsFile saved = SafetensorsFile::open(dir + "/adapter_model.safetensors");
  CHECK(saved.contains("base_model.model.blocks.0.attn.qkv.lora_A.weight"));
  CHECK(saved.contains("base_model.model.head.weight"));
  CHECK(saved.metadata().at("format") == "pt");
}

TEST_CASE("LoRA on convolutions, rsLoRA scaling and rank_pattern", "[cpu][lora]") {
  auto model = fixture_model("convnext_tiny");
  peft::LoraConfig config;
  config.r = 2;
  config.lora_alpha = 4;
  config.use_rslora = true;
  config.rank_pattern = {{"stages\\.3\\.downsample\\.1", 3}};
  config.target_modules = peft::TargetSpec::from_json({"downsample.1", "stem.0"}, "target_modules");
  const peft::AppliedAdapter applied = peft::apply_lora_config(*model, config);
  CHECK(applied.lora_modules.size() == 4);
  auto conv = std::dynamic_pointer_cast<peft::LoraConv2d>(model->find("stages.3.downsample.1"));
  REQUIRE(conv);
  CHECK(conv->lora_A->named_parameters()[0].tensor.shape() == Shape{3, 32, 2, 2});
  CHECK(conv->lora_B->named_parameters()[0].tensor.shape() == Shape{40, 3, 1, 1});
  CHECK(conv->scaling == Approx(4.0 / std::sqrt(3.0)));
  for (const NamedTensor& t : applied.adapter_tensors) copy_into(t.tensor.detach(), normal(t.tensor.shape(), 5, DType::f32, 0.1));
  const Tensor x = normal({2, 32, 8, 8}, 6, DType::f32);
  const auto* base = dynamic_cast<const Conv2d*>(conv->base.get());
  NoGradGuard no_grad;  // merged: conv with W + scaling * B A
  CHECK(rel_error(conv2d(x, add(conv->base_weight, conv->delta_weight()), base->bias, base->options), conv->forward(x)) <= 1e-6);
  config.target_modules = peft::TargetSpec::from_json({"conv_dw"}, "target_modules");
  CHECK_THROWS_WITH(peft::apply_lora_config(*fixture_model("convnext_tiny"), config),
                    Catch::Contains("is a grouped convolution"));
  config.target_modules = peft::TargetSpec::from_json("all-linear", "target_modules");
  const peft::AppliedAdapter all = peft::apply_lora_config(*fixture_model("convnext_tiny"), config);
  CHECK(all.lora_modules.size() == 10);  // fc1 and fc2 of 5 blocks; not the head
}
