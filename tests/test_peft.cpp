// test_peft.cpp: every PEFT method of peft/ on the three fixture backbones (timm's vit_tiny,
// swin_tiny and convnext_tiny fixtures, with their weights): identity at init, only the method
// and the head receive gradients and change, f64 finite differences of the method's tensors on a
// tiny model, merge equivalence through `frost merge`, adapter folders that read back, learning on
// a fixed batch with bit-identical reruns, and the spec language's errors.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "engine/layers.h"
#include "engine/optim.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/hub.h"
#include "models/registry.h"
#include "peft/method.h"
#include "peft/sparse.h"
#include "peft/spec.h"
#include "tests/helpers.h"
#include "tools/cli.h"

using namespace frost;
using namespace frost::test;
namespace fs = std::filesystem;

namespace {

const std::string kDir = fixtures_dir() + "/timm/";
const std::vector<std::string> kBackbones = {"vit_tiny", "swin_tiny", "convnext_tiny"};
// Hub folders of pre-trained ViT families: every ViT method applies to them as to vit_tiny (CLIP's
// pre-norm, DINOv2's registers without position, DeiT's distillation token and second head,
// BEiT's relative-position bias and q/v biases).
const std::vector<std::string> kHubBackbones = {"clip", "dinov2_reg4", "deit_distilled", "beit"};

nlohmann::json meta(const std::string& name) { return nlohmann::json::parse(std::ifstream(kDir + name + ".json")); }
bool is_hub(const std::string& name) { return meta(name).value("hub", false); }

// The backbone as `frost --model` names it: the hub folder, or the timm name (with model_args).
models::ModelSource source_of(const std::string& name) {
  const nlohmann::json m = meta(name);
  return is_hub(name) ? models::resolve_model(kDir + name + ".hub")
                      : models::resolve_model(m.at("architecture"), m.at("model_args"));
}
std::string weights_of(const std::string& name) {
  return is_hub(name) ? kDir + name + ".hub/model.safetensors" : kDir + name + ".weights.safetensors";
}

std::shared_ptr<models::Model> base_model(const std::string& name) {
  const models::ModelSource source = source_of(name);
  auto model = models::create_model(source);
  models::load_weights(*model, source, weights_of(name));
  model->train(false);
  return model;
}

Tensor input_of(const std::string& name) { return SafetensorsFile::open(kDir + name + ".io.safetensors").get("input"); }

struct Case {
  std::string spec;
  bool identity;  // published init is the identity
  bool mergeable;
  std::string exact_grad_only;  // MethodInfo::exact_grad_only
};

peft::Backbone backbone_kind(const std::string& backbone) {
  return backbone == "swin_tiny"       ? peft::Backbone::swin
         : backbone == "convnext_tiny" ? peft::Backbone::convnext
                                       : peft::Backbone::vit;
}

// Every method's examples (peft/method_table.cpp) for the backbone, then the combinations:
// NOAH's search space with per-block sizes, and nested wrappers that merge inner first.
std::vector<Case> cases_for(const std::string& backbone) {
  std::vector<Case> c;
  for (const peft::MethodInfo& m : peft::all_methods())
    for (const peft::MethodExample& e : m.examples)
      if (peft::on(e.on, backbone_kind(backbone))) c.push_back({e.spec, e.identity, m.mergeable(), m.exact_grad_only});
  if (backbone == "vit_tiny") {
    c.push_back({"vpt:mode=deep,tokens=[2,3]", false, false, ""});
    c.push_back({"lora:r=[4,0],targets=attn.qkv|mlp.fc1+vpt:tokens=2+adapter:dim=[0,4]", false, false, ""});
    c.push_back({"lora:r=2+ssf+fact:r=2", false, true, ""});
  }
  return c;
}

// Moves every trainable tensor but the head away from its init, so that B = 0 style inits do not
// hide anything (seeded, small).
void perturb_method_tensors(models::Model& model, uint64_t seed) {
  NoGradGuard no_grad;
  for (const NamedTensor& p : model.trainable_parameters()) {
    bool head = false;
    for (const std::string& path : model.classifier_paths()) head |= p.name.rfind(path + ".", 0) == 0;
    if (head) continue;
    const Tensor noise = normal(p.tensor.shape(), seed++, p.tensor.dtype(), 0.05);
    const Tensor mask = p.tensor.grad_mask();
    copy_into(p.tensor.detach(), add(p.tensor.detach(), mask.defined() ? mul(noise, mask) : noise));
  }
}

std::map<std::string, std::vector<double>> snapshot(const models::Model& model) {
  std::map<std::string, std::vector<double>> out;
  for (const NamedTensor& p : model.named_parameters()) out[p.name] = p.tensor.to_doubles();
  return out;
}

Tensor labels_for(const models::Model& model, int64_t batch) {
  std::vector<double> y;
  for (int64_t i = 0; i < batch; ++i) y.push_back(double((i * 7 + 3) % model.num_classes));
  return Tensor::from_vector(y, {batch}, DType::i64);
}

}  // namespace

TEST_CASE("peft: frost params gives each method's closed-form counts on vit_base_patch16_224", "[cpu][peft]") {
  SkipInitGuard counts_only;
  for (const peft::MethodInfo& m : peft::all_methods()) {
    REQUIRE(!m.sized.empty());
    for (const peft::SizedSpec& s : m.sized) {
      auto model = models::create_model("vit_base_patch16_224", nlohmann::json::object());
      peft::apply_spec(*model, s.spec);
      const peft::ParamCounts c = peft::count_params(*model);
      INFO(s.spec);
      CHECK(c.peft == s.vit_base_params);
      CHECK(c.trainable == s.vit_base_params + 768 * 1000 + 1000);
      // specification methods train tensors the backbone has; the others add theirs to it
      const bool own = std::string(m.family) == "specification";
      CHECK(c.total == 86567656 + (own ? 0 : s.vit_base_params));
    }
  }
}

TEST_CASE("peft: the method table is whole: examples on every backbone a method claims, refusals elsewhere", "[cpu][peft]") {
  for (const peft::MethodInfo& m : peft::all_methods()) {
    INFO("--peft " << m.name);
    for (const std::string& backbone : kBackbones) {
      const peft::Backbone b = backbone_kind(backbone);
      bool example = false;
      for (const peft::MethodExample& e : m.examples) {
        CHECK(peft::parse_spec(e.spec).at(0).name == m.name);
        CHECK((e.on & ~m.on) == 0u);  // no example where the method refuses
        example |= peft::on(e.on, b);
      }
      INFO(backbone);
      CHECK(example == peft::on(m.on, b));
      if (!peft::on(m.on, b))
        CHECK_THROWS_WITH(peft::apply_spec(*base_model(backbone), m.name),
                          Catch::Contains("--peft " + std::string(m.name) + ": not available on"));
    }
    if (!m.combines())
      CHECK_THROWS_WITH(peft::parse_spec(std::string(m.name) + "+" + (m.name == std::string("ssf") ? "bitfit" : "ssf")),
                        Catch::Contains("cannot be combined"));
  }
}

TEST_CASE("peft: identity at init, only the method trains, save/load, merge", "[cpu][peft]") {
  std::vector<std::string> backbones = kBackbones;
  backbones.insert(backbones.end(), kHubBackbones.begin(), kHubBackbones.end());
  for (const std::string& backbone : backbones) {
    const Tensor x = input_of(backbone);
    const Tensor labels = labels_for(*base_model(backbone), x.size(0));
    Tensor base_logits;
    {
      NoGradGuard no_grad;
      base_logits = base_model(backbone)->forward(x);
    }
    for (const Case& c : cases_for(backbone)) {
      INFO(backbone << " --peft " << c.spec);
      auto model = base_model(backbone);
      const peft::AppliedSpec applied = peft::apply_spec(*model, c.spec, 5);
      model->train(false);
      if (c.identity) {
        NoGradGuard no_grad;
        CHECK(rel_error(model->forward(x), base_logits) <= 1e-6);
      }
      // Only the method's tensors and the head get gradients; the rest stays bit-identical.
      perturb_method_tensors(*model, 11);
      std::set<std::string> trainable;
      for (const NamedTensor& t : applied.trainable) trainable.insert(t.name);
      CHECK(trainable.count(model->classifier + ".weight"));
      const auto before = snapshot(*model);
      AdamWOptions ao;
      ao.lr = 1e-2;
      ao.weight_decay = 0.05;
      AdamW opt(model->trainable_parameters(), ao);
      for (int step = 0; step < 2; ++step) {
        Tensor loss = cross_entropy(model->forward(x), labels);
        loss.backward();
        for (const NamedTensor& p : model->named_parameters()) {
          INFO(p.name);
          CHECK(p.tensor.grad().defined() == bool(trainable.count(p.name)));
        }
        opt.step();
        for (const NamedTensor& p : model->named_parameters()) Tensor(p.tensor).zero_grad();
      }
      int64_t changed = 0;
      for (const NamedTensor& p : model->named_parameters()) {
        const std::vector<double> now = p.tensor.to_doubles(), was = before.at(p.name);
        if (!trainable.count(p.name)) {
          INFO(p.name);
          CHECK(now == was);
          continue;
        }
        const Tensor mask = p.tensor.grad_mask();
        const std::vector<double> mk = mask.defined() ? mask.to_doubles() : std::vector<double>(now.size(), 1.0);
        for (size_t i = 0; i < now.size(); ++i) {
          if (mk[i] == 0.0 && now[i] != was[i]) FAIL("masked entry " << i << " of " << p.name << " changed");
          changed += now[i] != was[i];
        }
      }
      CHECK(changed > 0);

      // Save and load into a fresh model: the same logits, bit for bit.
      const std::string dir = temp_path("adapter_" + backbone + "_" + std::to_string(std::hash<std::string>{}(c.spec)));
      fs::remove_all(dir);
      peft::save_spec_adapter(dir, applied, *model);
      CHECK(fs::exists(dir + "/" + (applied.layout() ? applied.layout()->marker : "frost_peft.json")));
      if (!applied.layout()) {
        const SafetensorsFile file = SafetensorsFile::open(dir + "/adapter.safetensors");
        CHECK(file.entries().size() == applied.trainable.size() + peft::sparse_tensors(*model).size());
      }
      Tensor logits;
      {
        NoGradGuard no_grad;
        logits = model->forward(x);
      }
      auto reloaded = base_model(backbone);
      peft::load_spec_adapter(*reloaded, dir);
      reloaded->train(false);
      {
        NoGradGuard no_grad;
        CHECK(rel_error(reloaded->forward(x), logits) == 0.0);
      }
      // Merge through the command: a plain timm checkpoint with the same logits, or a refusal.
      const std::string merged = dir + "/merged.safetensors";
      const models::ModelSource source = source_of(backbone);
      auto merge = [&] {
        return cli::merge_adapter(is_hub(backbone) ? source.folder : source.architecture,
                                  is_hub(backbone) ? nlohmann::json::object() : source.model_args, weights_of(backbone), dir,
                                  merged);
      };
      if (c.mergeable) {
        REQUIRE(merge().tensors == int64_t(base_model(backbone)->state_dict().size()));
        auto plain = models::create_model(source);
        models::load_checkpoint(*plain, merged);  // strict: exactly timm's keys
        plain->train(false);
        NoGradGuard no_grad;
        CHECK(rel_error(plain->forward(x), logits) <= 1e-5);
      } else {
        CHECK_THROWS_WITH(merge(), Catch::Contains("cannot be merged into the base weights"));
        CHECK(!fs::exists(merged));
      }
      fs::remove_all(dir);
    }
  }
}

TEST_CASE("peft: finite differences in f64 of every method's tensors on a tiny model", "[cpu][peft][grad]") {
  const nlohmann::json vit_args = {{"img_size", 8}, {"patch_size", 4}, {"embed_dim", 8},
                                   {"depth", 2},    {"num_heads", 2},  {"num_classes", 3}};
  const nlohmann::json swin_args = {{"img_size", 8},    {"patch_size", 2},     {"window_size", 2}, {"embed_dim", 4},
                                    {"depths", {1, 1}}, {"num_heads", {1, 2}}, {"num_classes", 3}};
  const nlohmann::json convnext_args = {{"depths", {1, 1}}, {"dims", {4, 8}}, {"num_classes", 3}};
  struct Tiny {
    std::string name;
    nlohmann::json args;
    std::string backbone;
  };
  for (const Tiny& t :
       {Tiny{"vit_tiny_patch16_224", vit_args, "vit_tiny"}, Tiny{"swin_tiny_patch4_window7_224", swin_args, "swin_tiny"},
        Tiny{"convnext_tiny", convnext_args, "convnext_tiny"}}) {
    for (Case c : cases_for(t.backbone)) {
      c.spec =
          std::regex_replace(std::regex_replace(c.spec, std::regex("dim=4"), "dim=2"), std::regex("img_size=64"), "img_size=8");
      INFO(t.name << " --peft " << c.spec);
      std::shared_ptr<models::Model> model;
      {
        ParameterDTypeGuard f64(DType::f64);
        model = models::create_model(t.name, t.args, 2);
        peft::apply_spec(*model, c.spec, 3);
      }
      model->train(false);
      perturb_method_tensors(*model, 21);
      std::vector<Tensor> inputs;
      for (const NamedTensor& p : model->trainable_parameters()) {
        // A method that detaches part of its graph on purpose (DoRA's norm): its exact tensors only.
        if (!c.exact_grad_only.empty() && p.name.find(c.exact_grad_only) == std::string::npos) {
          Tensor(p.tensor).set_requires_grad(false);
          continue;
        }
        // A gradient mask (sparse) is lifted: its masked entries get a zero gradient by design.
        if (p.tensor.grad_mask().defined()) Tensor(p.tensor).set_grad_mask(Tensor::ones(p.tensor.shape(), p.tensor.dtype()));
        inputs.push_back(p.tensor);
      }
      const Tensor images = normal({2, 3, 8, 8}, 9);
      const Tensor labels = labels_for(*model, 2);
      CHECK(gradcheck([&](const std::vector<Tensor>&) { return cross_entropy(model->forward(images), labels); }, inputs) < 1e-6);
    }
  }
}

TEST_CASE("peft: 50 AdamW steps on a fixed batch drive the loss down, bit-identically per seed", "[cpu][peft]") {
  const Tensor x = input_of("vit_tiny");
  auto run = [&](const std::string& spec) {
    auto model = base_model("vit_tiny");
    peft::apply_spec(*model, spec, 17);
    model->train(true);
    model->rng->seed = 17;
    const Tensor labels = labels_for(*model, x.size(0));
    AdamWOptions ao;
    ao.lr = 1e-2;
    AdamW opt(model->trainable_parameters(), ao);
    std::vector<double> losses;
    for (int step = 0; step < 50; ++step) {
      Tensor loss = cross_entropy(model->forward(x), labels);
      losses.push_back(loss.item());
      loss.backward();
      opt.step();
      for (const NamedTensor& p : model->trainable_parameters()) Tensor(p.tensor).zero_grad();
    }
    return losses;
  };
  for (const Case& c : cases_for("vit_tiny")) {
    INFO("--peft " << c.spec);
    const std::vector<double> a = run(c.spec), b = run(c.spec);
    CHECK(a == b);
    double first = 0, last = 0;
    for (int i = 0; i < 5; ++i) first += a[size_t(i)] / 5, last += a[a.size() - 1 - size_t(i)] / 5;
    CHECK(last < 0.7 * first);
  }
}

TEST_CASE("peft: sparse calibration picks the largest accumulated gradients per row", "[cpu][peft]") {
  auto model = base_model("vit_tiny");
  const peft::AppliedSpec applied = peft::apply_spec(*model, "sparse:k=3,batches=2");
  REQUIRE(applied.calibrates());
  const auto& state = dynamic_cast<const peft::SparseState&>(*applied.states.at(0));
  CHECK(state.k == 3);
  CHECK(state.batches == 2);
  const Tensor x = input_of("vit_tiny");
  const Tensor labels = labels_for(*model, x.size(0));
  Tensor w = std::dynamic_pointer_cast<Linear>(model->find("blocks.0.mlp.fc2"))->weight;
  Tensor score;
  applied.calibrate(*model, [&](int64_t b) {
    Tensor loss = cross_entropy(model->forward(x.narrow(0, b, 1)), labels.narrow(0, b, 1));
    loss.backward();
    const Tensor g = sqrt(mul(w.grad(), w.grad()));
    score = score.defined() ? add(score, g) : g;
  });
  CHECK(w.grad_mask().to_doubles() == peft::top_k_rows(score, 3).to_doubles());
  CHECK(model->parameter_count(true) - 490 == 3 * (144 + 48 + 192 + 48) * 2);  // k per row of every block Linear + head
}

TEST_CASE("peft: spec errors name the method, key, value or backbone", "[cpu][peft]") {
  auto vit = base_model("vit_tiny");
  auto convnext = base_model("convnext_tiny");
  auto swin = base_model("swin_tiny");
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "loraa"),
                    Catch::Contains("unknown method 'loraa'") && Catch::Contains("available: full"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "lora:rank=8"),
                    Catch::Contains("--peft lora: unknown key 'rank'") && Catch::Contains("known: targets, r, alpha"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "lora:r=x"), Catch::Contains("--peft lora: r=x: must be an integer in [1, 4096]"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "lora:targets=attn.qvk"),
                    Catch::Contains("match no Linear or Conv2d layer") && Catch::Contains("attn.qvk"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "krona:targets=mlp.fc3"),
                    Catch::Contains("--peft krona: targets") && Catch::Contains("match no Linear"));
  // one matcher for every method: the head is no target of an option-driven method, a matched
  // module that is not a Linear is an error, not skipped
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "krona:targets=head"), Catch::Contains("match no Linear layer"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "glora:targets=attn.qkv|attn"),
                    Catch::Contains("--peft glora: targets") && Catch::Contains("cannot wrap") && Catch::Contains("(Attention)"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "adapter:mode=serial"),
                    Catch::Contains("mode=serial is not one of pfeiffer | houlsby"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "adapter:dim=[8,8,8]"),
                    Catch::Contains("dim lists 3 values but the model has 2 blocks"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "adapter:dropout=1.5"),
                    Catch::Contains("--peft adapter: dropout=1.5 must be in [0, 1)"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "lora+lora"), Catch::Contains("method 'lora' appears twice"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "lst+lora"), Catch::Contains("'lst' cannot be combined"));
  CHECK_THROWS_WITH(peft::apply_spec(*vit, "vpt:tokens"), Catch::Contains("'tokens' is not key=value"));
  CHECK_THROWS_WITH(peft::apply_spec(*convnext, "prefix"),
                    Catch::Contains("--peft prefix: not available on convnext_tiny (ConvNeXt)"));
  CHECK_THROWS_WITH(peft::apply_spec(*convnext, "convpass"), Catch::Contains("--peft convpass: not available on convnext_tiny"));
  CHECK_THROWS_WITH(peft::apply_spec(*swin, "fact"),
                    Catch::Contains("--peft fact: not available on swin_tiny_patch4_window7_224 (Swin)"));
  CHECK_THROWS_WITH(peft::apply_spec(*swin, "lst"), Catch::Contains("--peft lst: not available"));
  CHECK_THROWS_WITH(peft::apply_spec(*swin, "vpt:mode=deep"), Catch::Contains("pixel-level prompt pad"));
  CHECK_THROWS_WITH(peft::apply_spec(*convnext, "adapter:mode=houlsby"), Catch::Contains("needs an attention branch"));
}
