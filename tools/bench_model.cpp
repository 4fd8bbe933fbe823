// bench_model.cpp: `frost bench model --model NAME [--model-args JSON] [--batch B] [--img-size S]
// [--repeat R] [--threads T]`: milliseconds per image for inference (forward without autograd)
// and for a full fine-tuning step's forward+backward (every parameter trainable), best of
// --repeat after one warm-up, on a seeded random batch. Weights are timm's init (no checkpoint
// needed: the time does not depend on the values).
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/hub.h"
#include "models/registry.h"
#include "tools/cli.h"

namespace frost::cli {

const CommandSpec& bench_model_spec() {
  static const CommandSpec spec = {"frost bench model",
                                   "forward and forward+backward milliseconds per image of a model (random weights)",
                                   "",
                                   {required(common_flag("model")),
                                    common_flag("model-args"),
                                    {"batch", "B", "2", "images per batch"},
                                    {"img-size", "S", "224", "input size (fixed-size models keep theirs)"},
                                    {"repeat", "R", "3", "timed runs after one warm-up; the best is reported"},
                                    common_flag("threads")},
                                   {"frost bench model --model vit_base_patch16_224 --batch 8",
                                    "frost bench model --model convnext_tiny --img-size 160 --threads 2"}};
  return spec;
}

int bench_model(const std::vector<std::string>& args) {
  const Flags flags(bench_model_spec(), args);
  apply_threads_flag(flags);
  const std::string name = flags.require("model");
  models::ModelSource source = models::resolve_model(name, parse_json_flag(flags, "frost bench model", "model-args"));
  const int64_t batch = flags.get_int("batch"), size = flags.get_int("img-size"), repeat = flags.get_int("repeat");
  if (models::model_info(source.architecture).takes_img_size &&
      (flags.has("img-size") || !source.model_args.contains("img_size")))
    source.model_args["img_size"] = size;
  const auto model = models::create_model(source, 1);
  model->train(false);  // no dropout: time the arithmetic, not the randomness
  Generator gen(3);
  const int64_t h = model->img_h > 0 ? model->img_h : size, w = model->img_w > 0 ? model->img_w : size;
  const Tensor images = randn({batch, model->in_chans, h, w}, gen);
  std::vector<double> y(static_cast<size_t>(batch), 0.0);
  for (int64_t i = 0; i < batch; ++i) y[size_t(i)] = double(i % std::max<int64_t>(model->num_classes, 1));
  const Tensor labels = Tensor::from_vector(y, {batch}, DType::i64);

  auto time_best = [&](auto&& step) {
    step();  // warm-up: pack buffers, page in the weights
    double best = 1e30;
    for (int64_t r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      step();
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return best / double(batch);
  };
  const double forward_ms = time_best([&] {
    NoGradGuard no_grad;
    model->forward(images);
  });
  const double train_ms = time_best([&] {
    Tensor loss = cross_entropy(model->forward(images), labels);
    loss.backward();
    for (NamedTensor& p : model->named_parameters()) p.tensor.zero_grad();
  });
  std::printf("%s: %lld params, batch %lld at %lldx%lld, %d threads: forward %.1f ms/image, forward+backward %.1f ms/image\n",
              name.c_str(), (long long)model->parameter_count(), (long long)batch, (long long)h, (long long)w,
              omp_get_max_threads(), forward_ms, train_ms);
  return 0;
}

}  // namespace frost::cli
