// test_cli.cpp: the command table's help and parser (every flag the help names parses, every
// example parses, a wrong flag gets the command's usage), frost train's flag defaults against
// TrainOptions', frost predict against frost eval on a folder, TensorBoard event files read back,
// and frost plot's figures.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/json_file.h"
#include "models/mae.h"
#include "tests/helpers.h"
#include "tools/cli.h"
#include "tools/inference.h"
#include "tools/plot.h"
#include "tools/tensorboard.h"
#include "tools/train.h"
#include "tools/train_state.h"

using namespace frost;
namespace fs = std::filesystem;

namespace {

// stdout and stderr to /dev/null while it lives (help and usage text would break the TAP stream).
class Silenced {
 public:
  Silenced() {
    std::fflush(stdout);
    std::fflush(stderr);
    out_ = dup(1);
    err_ = dup(2);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    close(null);
  }
  ~Silenced() {
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(out_, 1);
    dup2(err_, 2);
    close(out_);
    close(err_);
  }

 private:
  int out_ = -1, err_ = -1;
};

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The flag names a help text lists in its "flags:" section, in order.
std::vector<std::string> flags_in_help(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream in(help);
  bool section = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "flags:") section = true;
    if (line.empty()) section = false;
    if (section && line.rfind("  --", 0) == 0) names.push_back(words(line.substr(4))[0]);
  }
  return names;
}

}  // namespace

TEST_CASE("every command's help lists its flags with their defaults, and what it lists parses", "[cpu]") {
  for (const cli::Command& c : cli::all_commands()) {
    INFO(c.words);
    const cli::CommandSpec& spec = c.spec();
    const std::string help = cli::help_text(spec);
    CHECK(help.find("usage: " + spec.name) != std::string::npos);
    CHECK(help.find("examples:") != std::string::npos);
    std::string flat;  // the help with its line wrapping undone
    for (const std::string& w : words(help)) flat += (flat.empty() ? "" : " ") + w;
    // the help's flags are the parser's, in order, each with its default
    std::vector<std::string> expected;
    for (const cli::FlagSpec& f : spec.flags) {
      expected.push_back(f.name);
      if (!f.default_value.empty()) CHECK(flat.find("(default: " + f.default_value + ")") != std::string::npos);
    }
    CHECK(flags_in_help(help) == expected);
    // every flag the help names parses, given its default (or a placeholder) as its value
    std::vector<std::string> args;
    for (const std::string& name : flags_in_help(help)) {
      const auto f = std::find_if(spec.flags.begin(), spec.flags.end(), [&](const cli::FlagSpec& s) { return s.name == name; });
      REQUIRE(f != spec.flags.end());
      args.push_back("--" + name);
      if (!f->value.empty()) args.push_back(f->default_value.empty() ? "x" : f->default_value);
    }
    if (!spec.positional.empty()) args.push_back("file");
    CHECK_NOTHROW(cli::Flags(spec, args));
    // and so does every example
    for (const std::string& example : spec.examples) {
      INFO(example);
      std::vector<std::string> ex = words(example);
      const size_t skip = 1 + words(c.words).size();  // "frost" and the command's words
      REQUIRE(ex.size() >= skip);
      CHECK_NOTHROW(cli::Flags(spec, {ex.begin() + std::ptrdiff_t(skip), ex.end()}));
    }
    // -h / --help anywhere: the help, exit 0; a wrong flag: this command's usage, exit 2
    CHECK_THROWS_AS(cli::Flags(spec, {"-h"}), cli::HelpRequested);
    try {
      cli::Flags(spec, {"--no-such-flag"});
      FAIL("an unknown flag was accepted");
    } catch (const cli::UsageError& e) {
      CHECK(std::string(e.what()) == spec.name + ": unknown flag --no-such-flag");
      CHECK(e.usage == cli::usage_text(spec));
    }
    std::vector<std::string> line = words(c.words);
    line.push_back("--help");
    Silenced quiet;
    CHECK(cli::run_command_line(line) == 0);
    line.back() = "--no-such-flag";
    CHECK(cli::run_command_line(line) == 2);
  }
  Silenced quiet;
  CHECK(cli::run_command_line({"--help"}) == 0);
  CHECK(cli::run_command_line({"help", "bench", "step"}) == 0);
  CHECK(cli::run_command_line({"bench", "--help"}) == 0);
  CHECK(cli::run_command_line({"bench", "nothing"}) == 2);
  CHECK(cli::run_command_line({"nothing"}) == 2);
}

TEST_CASE("flag parsing: values, switches, required flags and the spec's defaults", "[cpu]") {
  const cli::CommandSpec spec{"frost t", "a test", "FILE...", {{"n", "N", "3", "a count"}, {"on", "", "", "a switch"},
                                                               {"name", "S", "", "required", true}}, {}};
  const cli::Flags f(spec, {"a.png", "--n=7", "--on", "b.png", "--name", "x"});
  CHECK(f.get_int("n") == 7);
  CHECK(f.has("on"));
  CHECK(f.positional() == std::vector<std::string>{"a.png", "b.png"});
  CHECK(cli::Flags(spec, {}).get_int("n") == 3);  // the spec's default
  CHECK_THROWS_WITH(cli::Flags(spec, {}).require("name"), "frost t: flag --name is required");
  CHECK_THROWS_WITH(cli::Flags(spec, {"--on=1"}), "frost t: flag --on takes no value");
  CHECK_THROWS_WITH(cli::Flags(spec, {"--n"}), "frost t: flag --n needs a value (N)");
  CHECK_THROWS_WITH(cli::Flags(spec, {"--n", "x"}).get_int("n"), "frost t: flag --n: 'x' is not an integer");
  CHECK_THROWS_AS(cli::Flags(spec, {}).get("typo"), std::logic_error);  // code reading a flag its spec lacks
  CHECK(cli::usage_text(spec) == "usage: frost t [--n N] [--on] --name S FILE...\n");
}

TEST_CASE("frost train's flag defaults are TrainOptions' defaults", "[cpu]") {
  const cli::TrainOptions d;
  const cli::TrainOptions o = cli::parse_train_flags(cli::Flags(cli::train_spec(), {"--model", "m", "--dataset", "folder"}));
  CHECK(o.peft == d.peft);
  CHECK(o.train_split == d.train_split);
  CHECK(o.val_split == d.val_split);
  CHECK(o.num_classes == d.num_classes);
  CHECK(o.img_size == d.img_size);
  CHECK(o.batch_size == d.batch_size);
  CHECK(o.epochs == d.epochs);
  CHECK(o.eval_every == d.eval_every);
  CHECK(o.log_interval == d.log_interval);
  CHECK(o.checkpoint_every == d.checkpoint_every);
  CHECK(o.warmup_epochs == d.warmup_epochs);
  CHECK(o.opt == d.opt);
  CHECK(o.sched == d.sched);
  CHECK(o.interpolation == d.interpolation);
  CHECK(o.crop_mode == d.crop_mode);
  CHECK(o.lr == d.lr);
  CHECK(o.weight_decay == d.weight_decay);
  CHECK(o.momentum == d.momentum);
  CHECK(o.smoothing == d.smoothing);
  CHECK(o.clip_grad == d.clip_grad);
  CHECK(o.drop_path == d.drop_path);
  CHECK(o.min_lr == d.min_lr);
  CHECK(o.warmup_lr == d.warmup_lr);
  CHECK(o.crop_pct == d.crop_pct);
  CHECK(o.mean == d.mean);
  CHECK(o.std == d.std);
  CHECK(o.scale == d.scale);
  CHECK(o.ratio == d.ratio);  // 4/3 exactly
  CHECK(o.hflip == d.hflip);
  CHECK(o.augment == d.augment);
  CHECK(o.direct_resize == d.direct_resize);
  CHECK(o.strict_data == d.strict_data);
  CHECK(o.max_image_pixels == d.max_image_pixels);
  CHECK(o.seed == d.seed);
  CHECK(o.workers == d.workers);
  CHECK(o.device == d.device);
  CHECK(o.precision == d.precision);
  CHECK(o.stop_after_steps == d.stop_after_steps);
  CHECK(o.log_dir == d.log_dir);
  CHECK(cli::parse_train_flags(cli::Flags(cli::train_spec(), {"--model", "m", "--dataset", "vtab"})).val_split == "test");
  // frost pretrain's MAE flags default to MaeConfig's
  const models::MaeConfig mae;
  const cli::Flags p(cli::pretrain_spec(), {});
  CHECK(p.get_double("mask-ratio") == mae.mask_ratio);
  CHECK(p.get_int("decoder-dim") == mae.decoder_dim);
  CHECK(p.get_int("decoder-depth") == mae.decoder_depth);
  CHECK(p.get_int("decoder-heads") == mae.decoder_heads);
}

namespace {

// A binary PPM of w x h pixels: the class's colour channel bright, the others dark, with noise.
void write_ppm(const fs::path& path, int cls, uint32_t& noise) {
  const int w = 16, h = 16;
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << w << " " << h << "\n255\n";
  for (int p = 0; p < w * h; ++p)
    for (int c = 0; c < 3; ++c) {
      noise = noise * 1103515245u + 12345u;
      out.put(char(uint8_t((c == cls ? 150 : 70) + (noise >> 26))));
    }
}

// root/{train,validation}/{blue,green,red}/*.ppm, and one unreadable file among the validation images.
std::string make_folder_dataset(const std::string& name) {
  const fs::path root = test::temp_path(name);
  fs::remove_all(root);
  uint32_t noise = 7;
  const char* classes[] = {"blue", "green", "red"};  // sorted: ImageFolder's class order
  const int rgb_channel[] = {2, 1, 0};
  for (const auto& [split, n] : {std::pair{"train", 8}, std::pair{"validation", 6}})
    for (int c = 0; c < 3; ++c) {
      fs::create_directories(root / split / classes[c]);
      for (int i = 0; i < n; ++i) write_ppm(root / split / classes[c] / (std::to_string(i) + ".ppm"), rgb_channel[c], noise);
    }
  std::ofstream(root / "validation" / "red" / "broken.png") << "not a png";
  return root.string();
}

}  // namespace

TEST_CASE("frost predict over a folder agrees with frost eval on it, with the run's class names", "[cpu]") {
  const std::string data = make_folder_dataset("predict_data"), out = test::temp_path("predict_run");
  fs::remove_all(out);
  cli::TrainOptions o;
  o.model = "vit_tiny_patch16_224";
  o.model_args = {{"img_size", 16}, {"patch_size", 8}, {"embed_dim", 16}, {"depth", 1}, {"num_heads", 2}};
  o.dataset = "folder";
  o.data_dir = data;
  o.peft = "lora:r=2";
  o.batch_size = 6;
  o.epochs = 2;
  o.lr = 1e-2;
  o.direct_resize = true;
  o.log_interval = 1;
  o.output = out;
  o.log_dir = out + "/tb";
  o.quiet = true;
  const cli::TrainResult trained = cli::run_train(o);
  const nlohmann::json args = read_json_file(out + "/args.json", "");
  CHECK(args.at("class_names") == nlohmann::json({"blue", "green", "red"}));

  // eval on the validation folder itself: a root with class folders and no split folders
  const std::string checkpoint = out + "/best.ckpt", folder = data + "/validation";
  const cli::Flags eval_flags(cli::eval_spec(), {"--checkpoint", checkpoint, "--dataset", "folder", "--data-dir", folder});
  const cli::InferenceModel m = cli::load_for_inference(eval_flags);
  CHECK(m.class_names == std::vector<std::string>{"blue", "green", "red"});
  const auto dataset = data::open_dataset("folder", folder, "validation", m.model->num_classes);
  const cli::EvalResult eval = cli::evaluate(*m.model, *dataset, m.transform, 4, 1, false);
  CHECK(eval.images == 18);
  CHECK(eval.skipped == 1);
  CHECK(eval.top1 == Approx(trained.best_top1));  // the run's own evaluation of the same images

  const std::vector<std::string> paths = cli::image_paths({folder});
  CHECK(paths.size() == 19);
  const cli::PredictResult p = cli::predict_images(m, paths, 2, 4, 1);
  REQUIRE(p.predictions.size() == 18);
  REQUIRE(p.skipped.size() == 1);
  CHECK(p.skipped[0].find("broken.png") != std::string::npos);
  double correct = 0;
  for (const cli::Prediction& pred : p.predictions) {
    REQUIRE(pred.classes.size() == 2);
    CHECK(pred.probs[0] >= pred.probs[1]);
    CHECK(pred.probs[0] + pred.probs[1] <= 1.0 + 1e-12);
    correct += m.class_names[size_t(pred.classes[0])] == fs::path(pred.path).parent_path().filename().string();
  }
  CHECK(100.0 * correct / 18.0 == eval.top1);

  // the command: CSV with the header and class names, exit 0 despite the unreadable file
  const std::string csv = out + "/predictions.csv";
  {
    Silenced quiet;
    CHECK(cli::run_predict_command({"--checkpoint", checkpoint, "--topk", "2", "--csv", csv, "--workers", "0", folder}) == 0);
  }
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  CHECK(header == "path,class,prob,class_2,prob_2");
  int rows = 0;
  while (std::getline(in, row)) {
    ++rows;
    const std::string cls = row.substr(row.find(',') + 1, row.find(',', row.find(',') + 1) - row.find(',') - 1);
    CHECK((cls == "blue" || cls == "green" || cls == "red"));
  }
  CHECK(rows == 18);

  // bf16 evaluation runs the same images; a folder of unreadable files is an error
  const cli::Flags bf16_flags(cli::eval_spec(),
                              {"--checkpoint", checkpoint, "--dataset", "folder", "--data-dir", folder, "--precision", "bf16"});
  const cli::InferenceModel mb = cli::load_for_inference(bf16_flags);
  const cli::EvalResult eval_bf16 = cli::evaluate(*mb.model, *dataset, mb.transform, 4, 1, false);
  CHECK(eval_bf16.images == 18);
  CHECK(std::abs(eval_bf16.top1 - eval.top1) <= 3 * 100.0 / 18.0 + 1e-9);
  CHECK_THROWS_WITH(cli::predict_images(m, {data + "/validation/red/broken.png"}, 1, 4, 1),
                    Catch::Contains("no image could be read (1 unreadable"));
  CHECK_THROWS_WITH(cli::image_paths({data + "/nothing_here"}), Catch::Contains("nothing_here: no such file or folder"));

  // the TensorBoard file: one eval/top1 per epoch, equal to summary.csv's; per-step loss and lr
  std::vector<std::string> events;
  for (const auto& e : fs::directory_iterator(out + "/tb")) events.push_back(e.path().string());
  REQUIRE(events.size() == 1);
  std::string version;
  const std::vector<cli::ScalarEvent> scalars = cli::read_scalar_events(events[0], &version);
  CHECK(version == "brain.Event:2");
  std::vector<double> top1;
  int losses = 0;
  for (const cli::ScalarEvent& s : scalars) {
    if (s.tag == "eval/top1") top1.push_back(s.value);
    losses += s.tag == "train/loss";
  }
  REQUIRE(top1.size() == 2);
  CHECK(top1[1] == Approx(trained.last_top1).epsilon(1e-6));
  CHECK(losses == 8);  // 24 images, batches of 6, 2 epochs, --log-interval 1
}

TEST_CASE("TensorBoard event files: CRC-32C, framing, and corruption found", "[cpu]") {
  CHECK(cli::crc32c("123456789", 9) == 0xE3069283u);  // the standard check value
  CHECK(cli::crc32c("", 0) == 0u);
  const std::string dir = test::temp_path("events");
  fs::remove_all(dir);
  std::string path;
  {
    cli::EventWriter w(dir);
    w.scalar("train/loss", 0.5, 3);
    w.scalar("eval/top1", 87.25, 10);
    w.flush();
    path = w.path();
  }
  CHECK(fs::path(path).filename().string().rfind("events.out.tfevents.", 0) == 0);
  const std::vector<cli::ScalarEvent> s = cli::read_scalar_events(path);
  REQUIRE(s.size() == 2);
  CHECK(s[0].tag == "train/loss");
  CHECK(s[0].step == 3);
  CHECK(s[0].value == 0.5f);
  CHECK(s[1].tag == "eval/top1");
  CHECK(s[1].step == 10);
  CHECK(s[1].value == 87.25f);
  CHECK(s[1].wall_time > 1.7e9);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-6, std::ios::end);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH(cli::read_scalar_events(path), Catch::Contains("record 2: the data's CRC does not match"));
}

TEST_CASE("frost plot: transfer.csv and summary.csv figures, and bad files named", "[cpu]") {
  const fs::path dir = test::temp_path("plot");
  fs::remove_all(dir);
  fs::create_directories(dir / "run_a");
  fs::create_directories(dir / "run_b");
  std::ofstream(dir / "transfer.csv") << "upstream,method,trainable_params,test_top1,seconds,peak_bytes\n"
                                         "supervised,full,463973,87.28,18.9,1\nsupervised,linear,485,75.54,6.5,1\n"
                                         "mae,full,463973,91.66,15.9,1\nmae,lora,28133,91.06,12.7,1\n";
  for (const char* run : {"run_a", "run_b"})
    std::ofstream(dir / run / "summary.csv") << "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\n"
                                                "0,1.5,1.2,60,90,0.001\n1,1.1,,,,0.0005\n2,0.9,0.8,75,97,0\n";
  std::ofstream(dir / "bad.csv") << "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\n0,1.5,1.2,60,90,0.001\n1,1.1\n";
  std::ofstream(dir / "other.csv") << "a,b\n1,2\n";
  const std::string transfer = (dir / "transfer.csv").string(), a = (dir / "run_a" / "summary.csv").string(),
                    b = (dir / "run_b" / "summary.csv").string();
  if (!cli::plotting_available()) {
    CHECK_THROWS_WITH(cli::plot_files({transfer}, (dir / "t.png").string()), Catch::Contains("no PLplot"));
    return;
  }
  auto png_signature = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    char sig[8] = {};
    in.read(sig, 8);
    return std::string(sig, 8) == "\x89PNG\r\n\x1a\n";
  };
  cli::plot_files({transfer}, (dir / "transfer.png").string());
  CHECK(png_signature(dir / "transfer.png"));
  cli::plot_files({a, b}, (dir / "curves.png").string(), "two runs");
  CHECK(png_signature(dir / "curves.png"));
  cli::plot_files({a}, (dir / "curves.svg").string());
  CHECK(fs::file_size(dir / "curves.svg") > 1000);
  CHECK_THROWS_WITH(cli::plot_files({(dir / "bad.csv").string()}, (dir / "x.png").string()),
                    Catch::Contains("bad.csv:3: 2 cells, the header has 6"));
  CHECK_THROWS_WITH(cli::plot_files({(dir / "other.csv").string()}, (dir / "x.png").string()),
                    Catch::Contains("other.csv: neither a frost demo transfer.csv"));
  CHECK_THROWS_WITH(cli::plot_files({transfer, a}, (dir / "x.png").string()), Catch::Contains("not of the same kind"));
  CHECK_THROWS_WITH(cli::plot_files({transfer}, (dir / "x.jpg").string()), Catch::Contains("expected a .png, .svg or .pdf"));
}
