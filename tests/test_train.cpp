// test_train.cpp: `frost train` end to end on a tiny synthetic IDX dataset: exact resume after a
// stop at any step, refusal of another run's checkpoint, a NaN loss, a failing checkpoint write,
// and the adapter folder reading back into `frost eval`'s path with the same accuracy.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tests/helpers.h"
#include "tools/train.h"
#include "tools/train_state.h"

using namespace frost;
using frost::test::temp_path;
namespace fs = std::filesystem;

namespace {

cli::TrainOptions tiny(const std::string& output) { return test::tiny_train_options(output); }

std::string text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::vector<double>> model_tensors(const std::string& ckpt) {
  const SafetensorsFile f = SafetensorsFile::open(ckpt);
  std::vector<std::vector<double>> out;
  for (const auto& e : f.entries())
    if (e.name.rfind("model.", 0) == 0 || e.name.rfind("optim.", 0) == 0) out.push_back(f.get(e.name).to_doubles());
  return out;
}

}  // namespace

TEST_CASE("training learns, and a run stopped at any step resumes to bit-identical results", "[cpu][train]") {
  const cli::TrainResult whole = cli::run_train(tiny(temp_path("run_whole")));
  CHECK(whole.epochs_done == 3);
  CHECK(whole.last_top1 > 60.0);  // 3 classes, chance is 33%
  const std::string summary = text(temp_path("run_whole") + "/summary.csv");
  CHECK(std::count(summary.begin(), summary.end(), '\n') == 4);
  for (int64_t stop :
       {3, 7, 17}) {  // 7 steps per epoch: mid-epoch, at the first epoch end (with mid-epoch checkpoints), mid last epoch
    INFO("stopped after " << stop << " steps");
    const std::string dir = temp_path("run_stop_" + std::to_string(stop));
    fs::remove_all(dir);
    cli::TrainOptions o = tiny(dir);
    o.checkpoint_every = stop == 7 ? 2 : 0;
    o.stop_after_steps = stop;
    cli::run_train(o);
    o.stop_after_steps = 0;
    o.workers = 0;  // the data order does not depend on the worker count
    o.resume = fs::exists(dir + "/last.ckpt") ? dir : "";
    if (o.resume.empty()) fs::remove_all(dir);  // killed before the first checkpoint: start again
    cli::run_train(o);
    CHECK(text(dir + "/summary.csv") == summary);
    CHECK(model_tensors(dir + "/last.ckpt") == model_tensors(temp_path("run_whole") + "/last.ckpt"));
  }
}

TEST_CASE("training refuses another run's checkpoint, stops on a NaN loss, survives a failing checkpoint write", "[cpu][train]") {
  const std::string dir = temp_path("run_refuse");
  fs::remove_all(dir);
  cli::TrainOptions o = tiny(dir);
  o.epochs = 1;
  cli::run_train(o);
  cli::TrainOptions other = o;
  other.peft = "linear";
  other.resume = dir;
  CHECK_THROWS_WITH(cli::run_train(other),
                    Catch::Contains("last.ckpt: checkpoint is for peft \"full\", this run has \"linear\""));
  other = o;
  other.model_args["embed_dim"] = 32;
  other.resume = dir;
  CHECK_THROWS_WITH(cli::run_train(other), Catch::Contains("checkpoint is for model_args"));

  // A failing write: last.ckpt.tmp cannot be created; the previous last.ckpt stays as it was.
  const std::string before = text(dir + "/last.ckpt");
  fs::create_directories(dir + "/last.ckpt.tmp");
  cli::TrainOptions more = o;
  more.epochs = 2;
  more.resume = dir;
  CHECK_THROWS_WITH(cli::run_train(more), Catch::Contains("last.ckpt: cannot write " + dir + "/last.ckpt.tmp"));
  CHECK(text(dir + "/last.ckpt") == before);
  fs::remove_all(dir + "/last.ckpt.tmp");

  cli::TrainOptions wild = tiny(temp_path("run_nan"));
  wild.lr = 1e30;
  wild.warmup_epochs = 0;
  wild.opt = "sgd";
  wild.momentum = 0;
  CHECK_THROWS_WITH(cli::run_train(wild), Catch::Contains("the loss is") && Catch::Contains("training stopped"));
}

TEST_CASE("every PEFT method trains end to end; its adapter folder evaluates to the run's accuracy", "[cpu][train]") {
  // LoRA writes HF peft's layout, the others frost's; sparse calibrates its masks first.
  std::vector<std::string> specs = test::method_examples(peft::Backbone::vit);
  specs.push_back("lora:r=2+vpt:tokens=1+adapter:dim=2");
  for (const std::string& spec : specs) {
    INFO("--peft " << spec);
    const std::string dir = temp_path("run_peft");
    fs::remove_all(dir);
    cli::TrainOptions o = tiny(dir);
    o.epochs = 1;
    o.peft = spec;
    const cli::TrainResult r = cli::run_train(o);
    const peft::FolderLayout* own =
        peft::parse_spec(spec).size() == 1 ? peft::find_method(peft::parse_spec(spec)[0].name).layout : nullptr;
    CHECK(fs::exists(dir + "/adapter/" + (own ? own->marker : "frost_peft.json")));
    auto model = models::create_model(o.model, nlohmann::json::parse(text(dir + "/args.json")).at("model_args"), o.seed);
    peft::load_spec_adapter(*model, dir + "/adapter");  // the base weights are the seeded init (no --weights)
    model->train(false);
    auto test_set = data::open_dataset("cifar10", o.data_dir, "test", 3);
    data::TransformOptions t;
    t.size = 32;
    t.direct_resize = true;
    t.mean = {0.5f, 0.5f, 0.5f};
    t.std = {0.5f, 0.5f, 0.5f};
    const cli::EvalResult e = cli::evaluate(*model, *test_set, t, 8, 0, false);
    CHECK(e.top1 == r.last_top1);
    CHECK(e.per_class.size() == 3);
    fs::remove_all(dir);
  }
}
