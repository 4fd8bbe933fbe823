// bench_step.cpp: `frost bench step --model NAME [--model-args JSON] --peft SPEC --batch N
// [--img-size S] [--steps K] [--warmup W] [--device cpu|cuda] [--precision f32|bf16] [--json]
// [--threads T] [--profile]`: K AdamW training steps (forward, cross-entropy, backward, update) after W
// warm-up steps, on a seeded random batch, with the spec applied to a timm-initialised model.
// Each step is timed to its device's completion; prints the median milliseconds per step (and
// the mean), images per second at the median, and the allocator's peak live bytes over the timed
// steps: weights, gradients, optimizer state and every activation autograd kept, as the engine
// measured them (what torch.cuda.max_memory_allocated reports for PyTorch). --profile adds the
// per-op breakdown of the timed steps (engine/profile.h), per step: forward ops, backward nodes and
// the optimizer, each with calls, milliseconds and GFLOP/s or GB/s (in the JSON as "profile");
// --profile-shapes keeps the entries of each op apart by input shapes. host_reads_per_step: the
// requests for tensor data on the host a step makes (engine/device.h; each one a device
// synchronisation on a GPU), which a step should not make at all.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/optim.h"
#include "engine/profile.h"
#include "models/hub.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tools/cli.h"

namespace frost::cli {

const CommandSpec& bench_step_spec() {
  static const CommandSpec spec = {
      "frost bench step",
      "milliseconds per training step (forward, backward, AdamW) of a model with a PEFT method, images/s, peak memory",
      "",
      {required(common_flag("model")),
       common_flag("model-args"),
       {"peft", "SPEC", "", "the method trained (`frost methods`)", true},
       {"batch", "B", "8", "images per step"},
       {"img-size", "S", "224", "input size (fixed-size models keep theirs)"},
       {"steps", "K", "3", "timed steps; the median is reported"},
       {"warmup", "W", "1", "untimed steps first (optimizer state, packed buffers, allocator cache)"},
       common_flag("device"),
       common_flag("precision"),
       common_flag("threads"),
       common_flag("json"),
       {"profile", "", "", "also where the time goes, per op (forward and backward)"},
       {"profile-shapes", "", "", "as --profile, one row per op and shape"}},
      {"frost bench step --model vit_base_patch16_224 --peft lora:r=8 --batch 16",
       "frost bench step --model swin_tiny_patch4_window7_224 --peft adapter --device cuda --precision bf16 --json"}};
  return spec;
}

int bench_step(const std::vector<std::string>& args) {
  const std::string cmd = "frost bench step";
  const Flags f(bench_step_spec(), args);
  apply_threads_flag(f);
  const std::string name = f.require("model"), spec = f.require("peft");
  const Device device = parse_device_flag(f.get("device"));
  const DType precision = parse_precision_flag(f.get("precision"));
  models::ModelSource source = models::resolve_model(name, parse_json_flag(f, cmd, "model-args"));
  const int64_t batch = f.get_int("batch"), steps = f.get_int("steps"), warmup = f.get_int("warmup", 0);
  if (f.has("img-size") && models::model_info(source.architecture).takes_img_size)
    source.model_args["img_size"] = f.get_int("img-size");
  Allocator& alloc = allocator_for(device);
  auto model = models::create_model(source, 1);
  const int64_t size = model->img_h > 0 ? model->img_h : f.get_int("img-size");
  const peft::AppliedSpec applied = peft::apply_spec(*model, spec, 1);
  model->to(device);
  model->set_precision(precision);
  model->train(true);
  Generator gen(3);
  const Tensor images = randn({batch, model->in_chans, size, model->img_w > 0 ? model->img_w : size}, gen).to(device);
  std::vector<double> y;
  for (int64_t i = 0; i < batch; ++i) y.push_back(double(i % std::max<int64_t>(model->num_classes, 1)));
  const Tensor labels = Tensor::from_vector(y, {batch}, DType::i64).to(device);
  AdamWOptions ao;
  ao.lr = 1e-4;
  AdamW optimizer(model->trainable_parameters(), ao);
  auto step = [&] {
    Tensor loss = cross_entropy(model->forward(images), labels);
    loss.backward();
    optimizer.step();
    for (const NamedTensor& p : applied.trainable) Tensor(p.tensor).zero_grad();
  };
  for (int64_t s = 0; s < warmup; ++s) step();  // optimizer state, packed buffers, allocator cache
  synchronize(device);
  alloc.reset_peak();
  const bool profiling = f.has("profile") || f.has("profile-shapes");
  if (profiling) profile::start(f.has("profile-shapes"));
  std::vector<double> times;
  const int64_t reads_before = host_reads_total();
  for (int64_t s = 0; s < steps; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    synchronize(device);  // kernels run asynchronously: the clock stops when they are done
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double reads_per_step = double(host_reads_total() - reads_before) / double(steps);
  std::vector<profile::Entry> ops = profiling ? profile::stop() : std::vector<profile::Entry>{};
  for (profile::Entry& e : ops) {  // per step
    e.ms /= double(steps);
    e.flops /= double(steps);
    e.bytes /= double(steps);
  }
  const double mean_ms = std::accumulate(times.begin(), times.end(), 0.0) / double(steps);
  std::sort(times.begin(), times.end());
  const double ms = steps % 2 ? times[size_t(steps / 2)] : 0.5 * (times[size_t(steps / 2 - 1)] + times[size_t(steps / 2)]);
  const double ips = 1000.0 * double(batch) / ms;
  const size_t peak = alloc.peak_bytes();
  if (f.has("json")) {
    nlohmann::json out{{"ms_per_step", ms},
                       {"ms_mean", mean_ms},
                       {"images_per_s", ips},
                       {"peak_bytes", peak},
                       {"precision", dtype_name(precision)},
                       {"batch", batch},
                       {"host_reads_per_step", reads_per_step}};
    if (profiling) {
      out["profile"] = nlohmann::json::array();
      for (const profile::Entry& e : ops)
        out["profile"].push_back({{"phase", e.phase},
                                  {"op", e.name},
                                  {"calls_per_step", double(e.calls) / double(steps)},
                                  {"ms", e.ms},
                                  {"flops", e.flops},
                                  {"bytes", e.bytes}});
    }
    std::printf("%s\n", out.dump().c_str());
  } else {
    if (profiling) std::printf("%s", profile::format_table(ops, mean_ms, double(steps)).c_str());
    const peft::ParamCounts c = peft::count_params(*model);
    std::printf(
        "%s --peft %s: batch %lld at %lldpx, %s, %d threads, %lld trainable: %.1f ms/step (median; mean %.1f), %.2f images/s, "
        "peak %.1f MiB, %g host reads/step\n",
        name.c_str(), applied.spec.c_str(), (long long)batch, (long long)size, dtype_name(precision), omp_get_max_threads(),
        (long long)c.trainable, ms, mean_ms, ips, double(peak) / (1024.0 * 1024.0), reads_per_step);
  }
  return 0;
}

}  // namespace frost::cli
