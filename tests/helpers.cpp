// helpers.cpp: see helpers.h.
#include "tests/helpers.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/dispatch.h"
#include "engine/optim.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tools/cli.h"
#include "tools/forward.h"

namespace frost::test {

Tensor normal(const Shape& shape, uint64_t seed, DType dtype, double scale) {
  Generator gen(seed);
  NoGradGuard no_grad;
  return mul(randn(shape, gen, DType::f64), scale).to(dtype);
}

Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi, DType dtype) {
  Generator gen(seed);
  NoGradGuard no_grad;
  return add(mul(rand(shape, gen, DType::f64), hi - lo), lo).to(dtype);
}

double rel_error(const Tensor& a, const Tensor& b) { return cli::relative_error(a, b); }

double max_abs(const Tensor& a) {
  double m = 0;
  for (double v : a.to_doubles()) m = std::max(m, std::fabs(v));
  return m;
}

namespace {

// Address of logical element `flat` (row-major over the shape) of a strided tensor.
double* element(const Tensor& t, int64_t flat) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (flat % t.size(d)) * t.strides()[d];
    flat /= t.size(d);
  }
  return static_cast<double*>(t.raw_data()) + off;
}

double weighted_sum(const Tensor& out, const std::vector<double>& w) {
  const std::vector<double> v = out.to_doubles();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}

}  // namespace

double gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs, double eps) {
  for (Tensor x : inputs) x.zero_grad();
  Tensor out = f(inputs);
  // Fixed non-uniform weights so that every output element matters differently.
  const Tensor w = uniform(out.shape(), 999, 0.5, 1.5);
  const std::vector<double> wv = w.to_doubles();
  Tensor loss = sum(mul(out, w));
  loss.backward();
  double worst = 0;
  for (const Tensor& x : inputs) {
    if (!x.requires_grad()) continue;
    if (x.dtype() != DType::f64) throw std::invalid_argument("gradcheck needs f64 inputs");
    const Tensor g = x.grad();
    if (!g.defined()) return INFINITY;
    const std::vector<double> analytic = g.to_doubles();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double* p = element(x, i);
      const double saved = *p;
      NoGradGuard no_grad;
      *p = saved + eps;
      const double up = weighted_sum(f(inputs), wv);
      *p = saved - eps;
      const double down = weighted_sum(f(inputs), wv);
      *p = saved;
      const double numeric = (up - down) / (2 * eps);
      const double err = std::fabs(analytic[i] - numeric) / std::max(1.0, std::fabs(numeric));
      if (std::isnan(err)) return INFINITY;
      worst = std::max(worst, err);
    }
  }
  return worst;
}

std::string fixtures_dir() {
  if (const char* env = std::getenv("FROST_FIXTURES")) return env;
  return FROST_DEFAULT_FIXTURES;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("frost_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

void check_timm_fixture(const std::string& name, bool adapter, const std::string& device, const std::string& precision) {
  const std::string dir = fixtures_dir() + "/timm/";
  std::ifstream meta_file(dir + name + ".json");
  REQUIRE(meta_file.good());
  const nlohmann::json meta = nlohmann::json::parse(meta_file);
  cli::ForwardRequest request;
  if (meta.value("hub", false)) {  // a hub folder: its config.json names the model, its own weights load
    const bool other_size = meta.contains("hub_folder");
    request.model = dir + (other_size ? meta.at("hub_folder").get<std::string>() : name + ".hub");
    if (other_size) request.model_args = meta.at("model_args");  // over the folder's own
  } else {
    request.model = meta.at("architecture");
    request.model_args = meta.at("model_args");
    request.weights = dir + name + ".weights.safetensors";
  }
  if (adapter) request.adapter = dir + name + ".adapter";
  request.input = dir + name + ".io.safetensors";
  request.grads = true;
  request.device = device;
  request.precision = precision;
  const cli::ForwardResult result = cli::run_forward(request);
  if (meta.contains("hub_folder")) {  // loaded at another size: the position embedding is resampled
    REQUIRE(result.notes.size() == 1);
    CHECK(result.notes[0].find("pos_embed resampled") != std::string::npos);
  } else {
    CHECK(result.notes.empty());
  }
  const SafetensorsFile io = SafetensorsFile::open(request.input);
  std::set<std::string> expected;
  for (const SafetensorsFile::Entry& e : io.entries())
    if (e.name != "input" && e.name != "labels") expected.insert(e.name);
  std::set<std::string> produced;
  for (const NamedTensor& out : result.outputs) {
    INFO(name << " on " << device << " in " << precision << ": " << out.name);
    if (out.name == "grad.input" && !io.contains(out.name)) continue;  // the LoRA case stores trainable grads only
    produced.insert(out.name);
    REQUIRE(io.contains(out.name));
    const Tensor want = io.get(out.name);
    REQUIRE(out.tensor.shape() == want.shape());
    const bool grad = out.name.rfind("grad.", 0) == 0;
    // bf16: logits and loss within 2e-2 of timm's f32; gradients pass through every bf16 rounding of
    // the backward (activation gradients are stored in bf16 too), and the deepest (ConvNeXt's stem)
    // measure 3.1e-2, so they are held to 4e-2.
    const double tolerance = precision == "bf16" ? (grad ? 4e-2 : 2e-2) : grad ? 1e-4 : 1e-5;
    CHECK(rel_error(out.tensor, want) <= tolerance);
  }
  CHECK(produced == expected);  // every gradient timm wrote, and no other
}

std::vector<double> lora_losses(Device device, const std::string& spec, int steps, DType precision) {
  const std::string dir = fixtures_dir() + "/timm/";
  std::ifstream meta_file(dir + "vit_tiny.json");
  REQUIRE(meta_file.good());
  const nlohmann::json meta = nlohmann::json::parse(meta_file);
  auto model = models::create_model(meta.at("architecture"), meta.at("model_args"), 1);
  models::load_checkpoint(*model, dir + "vit_tiny.weights.safetensors");
  peft::apply_spec(*model, spec, 7);
  model->to(device);
  model->set_precision(precision);
  model->train(true);
  const SafetensorsFile io = SafetensorsFile::open(dir + "vit_tiny.io.safetensors");
  const Tensor input = io.get("input").to(DType::f32).to(device);
  const Tensor labels = io.get("labels").to(DType::i64).to(device);
  AdamWOptions o;
  o.lr = 3e-3;
  o.weight_decay = 0.05;
  AdamW opt(model->trainable_parameters(), o);
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    Tensor loss = cross_entropy(model->forward(input), labels, 0.1);
    losses.push_back(loss.item());
    loss.backward();
    opt.step();
    opt.zero_grad();
  }
  return losses;
}

// The class is which colour channel is bright (it survives crops, flips and the LayerNorms, which
// remove a uniform brightness).
std::string make_color_dataset() {
  const std::filesystem::path dir = temp_path("train_data");
  if (std::filesystem::exists(dir / "test_batch.bin")) return dir.string();
  std::filesystem::create_directories(dir);
  uint32_t noise = 1;
  auto batch = [&](const std::string& name, int n) {
    std::vector<uint8_t> bytes;
    for (int i = 0; i < n; ++i) {
      const int cls = i % 3;
      bytes.push_back(uint8_t(cls));
      for (int c = 0; c < 3; ++c)
        for (int p = 0; p < 1024; ++p) {
          noise = noise * 1103515245u + 12345u;
          bytes.push_back(uint8_t((c == cls ? 170 : 60) + (noise >> 26)));
        }
    }
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
  };
  for (int b = 1; b <= 5; ++b) batch("data_batch_" + std::to_string(b) + ".bin", 12);  // 60 training images
  batch("test_batch.bin", 30);
  return dir.string();
}

const std::vector<FixtureCase>& timm_fixture_cases() {
  static const std::vector<FixtureCase> cases = {
      {"vit_tiny", false, false},     {"swin_tiny", false, false},     {"convnext_tiny", false, false},
      {"vit_tiny_lora", true, false}, {"clip", false, true},           {"clip_quickgelu", false, true},
      {"dinov2", false, true},        {"dinov2_42", false, true},      {"dinov2_reg4", false, true},
      {"mae", false, true},           {"deit_distilled", false, true}, {"deit3", false, true},
      {"beit", false, true},          {"beit_lora", true, true},       {"deit_distilled_lora", true, true},
  };
  return cases;
}

std::vector<std::string> method_examples(peft::Backbone backbone) {
  std::vector<std::string> out;
  for (const peft::MethodInfo& m : peft::all_methods())
    for (const peft::MethodExample& e : m.examples)
      if (peft::on(e.on, backbone)) out.push_back(e.spec);
  return out;
}

cli::TrainOptions tiny_train_options(const std::string& output) {
  cli::TrainOptions o;
  o.model = "vit_tiny_patch16_224";
  o.model_args = {{"img_size", 32}, {"patch_size", 8}, {"embed_dim", 16}, {"depth", 1}, {"num_heads", 2}};
  o.dataset = "cifar10";
  o.num_classes = 3;
  o.data_dir = make_color_dataset();
  o.val_split = "test";
  o.batch_size = 8;
  o.epochs = 3;
  o.lr = 3e-3;
  o.warmup_epochs = 0.5;
  o.direct_resize = true;
  o.augment = true;   // random-resized-crop and flips: resume must reproduce them too
  o.drop_path = 0.1;  // and the drop-path stream
  o.workers = 2;
  o.output = output;
  o.quiet = true;
  return o;
}

}  // namespace frost::test
