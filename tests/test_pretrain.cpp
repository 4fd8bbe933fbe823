// test_pretrain.cpp: `frost pretrain` end to end on the tiny synthetic colour dataset: MAE lowers
// its reconstruction loss epoch over epoch, a run stopped mid-epoch resumes to a bit-identical
// encoder, the encoder file holds timm's keys without decoder or head and `frost train --weights`
// reads it; and the command's flag errors.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "tests/helpers.h"
#include "tools/cli.h"
#include "tools/train.h"

using namespace frost;
using frost::test::temp_path;
namespace fs = std::filesystem;

namespace {

cli::TrainOptions mae_options(const std::string& dir) {
  cli::TrainOptions o = test::tiny_train_options(dir);
  o.model_args = {{"img_size", 32}, {"patch_size", 8}, {"embed_dim", 32}, {"depth", 2}, {"num_heads", 2}};
  models::MaeConfig c;
  c.norm_pix_loss = true;
  c.decoder_dim = 16;
  c.decoder_depth = 1;
  c.decoder_heads = 2;
  o.mae = c;
  o.epochs = 6;
  o.augment = false;
  o.weight_decay = 0.05;
  o.weights_out = dir + "/encoder.safetensors";
  return o;
}

std::vector<double> column(const std::string& summary_path, size_t index) {
  std::ifstream in(summary_path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<double> out;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    for (size_t i = 0; i <= index; ++i) std::getline(row, cell, ',');
    out.push_back(cell.empty() ? -1.0 : std::stod(cell));
  }
  return out;
}

std::vector<std::vector<double>> tensors_of(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  std::vector<std::vector<double>> out;
  for (const auto& e : f.entries()) out.push_back(f.get(e.name).to_doubles());
  return out;
}

}  // namespace

TEST_CASE("MAE pre-training lowers its loss, resumes exactly, and its encoder fine-tunes", "[cpu][train][mae]") {
  const std::string dir = temp_path("mae_whole");
  fs::remove_all(dir);
  const cli::TrainResult whole = cli::run_train(mae_options(dir));
  CHECK(whole.epochs_done == 6);
  const std::vector<double> train_loss = column(dir + "/summary.csv", 1), eval_loss = column(dir + "/summary.csv", 2),
                            top1 = column(dir + "/summary.csv", 3);
  REQUIRE(train_loss.size() == 6);
  CHECK(train_loss.back() < 0.8 * train_loss.front());
  CHECK(eval_loss.back() > 0);
  CHECK(eval_loss.back() < eval_loss.front());
  CHECK(top1.back() == -1.0);  // no accuracy for a reconstruction objective
  CHECK(whole.last_eval_loss == Approx(eval_loss.back()));

  // the encoder file: timm's keys of a head-less ViT, exactly
  const SafetensorsFile enc = SafetensorsFile::open(dir + "/encoder.safetensors");
  nlohmann::json args = mae_options(dir).model_args;
  args["num_classes"] = 0;
  const auto plain = models::create_model("vit_tiny_patch16_224", args);
  CHECK(enc.entries().size() == plain->state_dict().size());
  models::load_checkpoint(*plain, dir + "/encoder.safetensors", true);  // strict
  // ... and frost train fine-tunes from it (a new head for the classes)
  cli::TrainOptions down = test::tiny_train_options(temp_path("mae_down"));
  down.model_args = mae_options(dir).model_args;
  down.weights = dir + "/encoder.safetensors";
  down.peft = "lora:r=4";
  down.epochs = 1;
  CHECK(cli::run_train(down).last_top1 >= 0);

  // stopped mid-epoch 2 and resumed: the same summary and a bit-identical encoder
  const std::string part = temp_path("mae_resumed");
  fs::remove_all(part);
  cli::TrainOptions o = mae_options(part);
  o.checkpoint_every = 3;
  o.stop_after_steps = 11;
  cli::run_train(o);
  o.stop_after_steps = 0;
  o.resume = part;
  cli::run_train(o);
  std::ifstream a(dir + "/summary.csv"), b(part + "/summary.csv");
  CHECK(std::string(std::istreambuf_iterator<char>(a), {}) == std::string(std::istreambuf_iterator<char>(b), {}));
  CHECK(tensors_of(part + "/encoder.safetensors") == tensors_of(dir + "/encoder.safetensors"));
  // a classification checkpoint is not an MAE run's
  cli::TrainOptions wrong = test::tiny_train_options(temp_path("mae_wrong"));
  wrong.model_args = o.model_args;
  wrong.resume = part;
  CHECK_THROWS_WITH(cli::run_train(wrong), Catch::Contains("objective") || Catch::Contains("num_classes"));
}

TEST_CASE("frost pretrain: flags, defaults and errors", "[cpu][train][mae]") {
  const std::string data = test::make_color_dataset(), out = temp_path("pretrain_cli");
  fs::remove_all(out);
  const std::vector<std::string> base = {
      "--model",      "vit_tiny_patch16_224",
      "--model-args", R"({"img_size":32,"patch_size":8,"embed_dim":16,"depth":1,"num_heads":2})",
      "--dataset",    "cifar10",
      "--data-dir",   data,
      "--val-split",  "test",
      "--epochs",     "1",
      "--batch-size", "8",
      "--output",     out};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  CHECK(cli::run_pretrain_command(with({"--method", "mae", "--decoder-dim", "16", "--decoder-depth", "1", "--decoder-heads", "2",
                                        "--mask-ratio", "0.5", "--norm-pix-loss"})) == 0);
  CHECK(fs::exists(out + "/encoder.safetensors"));
  const nlohmann::json args = nlohmann::json::parse(std::ifstream(out + "/args.json"));
  CHECK(args.at("weight_decay") == 0.05);  // MAE's default where frost train's differs
  CHECK_THROWS_WITH(cli::run_pretrain_command(with({"--method", "byol"})), Catch::Contains("--method must be mae or supervised"));
  CHECK_THROWS_WITH(cli::run_pretrain_command(with({"--method", "supervised", "--mask-ratio", "0.5"})),
                    Catch::Contains("for --method mae"));
  CHECK_THROWS_WITH(cli::run_pretrain_command(with({"--method", "mae", "--mask-ratio", "1"})), Catch::Contains("(0, 1)"));
  CHECK_THROWS_WITH(cli::run_pretrain_command(
                        with({"--method", "mae", "--model-args",
                              R"({"img_size":32,"patch_size":8,"embed_dim":16,"depth":1,"num_heads":2,"global_pool":"avg"})"})),
                    Catch::Contains("final norm"));
  fs::remove_all(out);
  CHECK(cli::run_pretrain_command(with({"--method", "supervised"})) == 0);
  CHECK(fs::exists(out + "/encoder.safetensors"));
}
