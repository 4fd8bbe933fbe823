// forward.h: `frost forward`, as a library call so the parity tests run exactly the path the
// command runs: build a model by timm name + model_args (or from a timm hub folder, models/hub.h),
// load a timm checkpoint (the folder's own unless `weights` names one), optionally apply
// an HF peft adapter, run the input file's batch in eval mode, and return logits, loss and the
// requested gradients under the names fixtures/README.md uses.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/module.h"

namespace frost::cli {

struct ForwardRequest {
  std::string model;
  nlohmann::json model_args = nlohmann::json::object();
  std::string weights, adapter, input;
  bool grads = false, strict = true;
  std::string device = "cpu";
  std::string precision = "f32";  // bf16: frozen weights and activations in bf16 (outputs still f32)
  // Called with each note as soon as it is known (so a later error does not hide it).
  std::function<void(const std::string&)> on_note;
};

struct ForwardResult {
  std::vector<NamedTensor> outputs;  // logits, loss, grad.input, grad.<key>...
  std::vector<std::string> notes;    // for stderr: head re-initialised, keys ignored, ...
};

ForwardResult run_forward(const ForwardRequest& request);

}  // namespace frost::cli
