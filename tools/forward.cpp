// forward.cpp: `frost forward --model NAME [--model-args JSON] --weights FILE [--adapter DIR]
// --input FILE --out FILE [--grads] [--non-strict] [--device cpu|cuda] [--precision f32|bf16]`.
// Under bf16 the weights no gradient is asked of are stored in bf16 and the model runs in bf16;
// logits, loss and gradients are written in f32.
#include "tools/forward.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/hub.h"
#include "models/registry.h"
#include "peft/spec.h"
#include "tools/cli.h"

namespace frost::cli {

namespace {

Tensor read_input(const SafetensorsFile& file, const models::Model& model) {
  if (!file.contains("input")) throw std::invalid_argument(file.path() + ": no tensor 'input' (expected [N, C, H, W] f32)");
  Tensor input = file.get("input");
  if (!dtype_is_float(input.dtype()))
    throw std::invalid_argument(file.path() + ": 'input' has dtype " + dtype_name(input.dtype()) + ", expected a float type");
  if (input.dim() != 4)
    throw std::invalid_argument(file.path() + ": 'input' has shape " + shape_str(input.shape()) +
                                ", expected rank 4 [N, C, H, W]");
  try {
    model.check_input(input);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(file.path() + ": " + e.what());
  }
  return input.to(DType::f32).clone();
}

Tensor read_labels(const SafetensorsFile& file, const models::Model& model, int64_t batch) {
  if (!file.contains("labels")) return Tensor();
  const Tensor labels = file.get("labels");
  if (dtype_is_float(labels.dtype()) || labels.dim() != 1 || labels.size(0) != batch)
    throw std::invalid_argument(file.path() + ": 'labels' has shape " + shape_str(labels.shape()) + " and dtype " +
                                dtype_name(labels.dtype()) + ", expected [" + std::to_string(batch) + "] integers");
  if (model.num_classes == 0)
    throw std::invalid_argument(file.path() + ": 'labels' given but the model has no classifier (num_classes 0)");
  const std::vector<double> values = labels.to_doubles();
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] < 0 || values[i] >= double(model.num_classes))
      throw std::invalid_argument(file.path() + ": labels[" + std::to_string(i) + "] = " + std::to_string(int64_t(values[i])) +
                                  " is outside [0, " + std::to_string(model.num_classes) + ")");
  return labels.to(DType::i64);
}

}  // namespace

ForwardResult run_forward(const ForwardRequest& request) {
  const Device device = parse_device_flag(request.device);
  const DType precision = parse_precision_flag(request.precision);
  ForwardResult result;
  auto note = [&](const std::string& text) {
    result.notes.push_back((request.weights.empty() ? request.model : request.weights) + ": " + text);
    if (request.on_note) request.on_note(result.notes.back());
  };
  const models::ModelSource source = models::resolve_model(request.model, request.model_args);
  for (const std::string& text : source.notes)
    if (request.on_note) request.on_note(text);
  const std::string weights = request.weights.empty() ? source.weights : request.weights;
  if (weights.empty())
    throw std::invalid_argument("frost forward: --weights is required with a model name (a hub folder has its own)");
  const auto model = models::create_model(source);
  const models::CheckpointReport report = models::load_weights(*model, source, weights, request.strict);
  for (const std::string& text : report.notes) note(text);
  if (!report.missing.empty()) note("not in the checkpoint, left initialised: " + list_names(report.missing));
  if (!report.unexpected.empty()) note("not used by the model: " + list_names(report.unexpected));
  peft::AppliedSpec adapter;
  const bool with_adapter = !request.adapter.empty();
  if (with_adapter) adapter = peft::load_spec_adapter(*model, request.adapter);
  model->train(false);
  if (!request.grads) model->set_requires_grad(false);  // inference: no parameter is trained
  model->to(device);
  model->set_precision(precision);

  const SafetensorsFile io = SafetensorsFile::open(request.input);
  Tensor input = read_input(io, *model).to(device);
  Tensor labels = read_labels(io, *model, input.size(0));
  if (labels.defined()) labels = labels.to(device);
  if (request.grads && !labels.defined())
    throw std::invalid_argument(request.input + ": --grads needs 'labels' in the input file (gradients are of the loss)");
  if (request.grads) input.set_requires_grad(true);

  std::optional<NoGradGuard> no_grad;
  if (!request.grads) no_grad.emplace();
  // Outputs are read back to the host (the file writer's and the caller's side).
  auto output = [&](const std::string& name, const Tensor& t) {
    result.outputs.push_back({name, t.detach().to(Device::cpu()).to(DType::f32)});
  };
  const Tensor logits = model->forward(input);
  output("logits", logits);
  if (!labels.defined()) return result;
  Tensor loss = cross_entropy(logits, labels);
  output("loss", loss);
  if (!request.grads) return result;
  loss.backward();
  auto grad_of = [](const Tensor& t) { return t.grad().defined() ? t.grad() : Tensor::zeros(t.shape(), t.dtype()); };
  output("grad.input", grad_of(input));
  if (with_adapter) {  // named as in the adapter folder (HF peft's keys for LoRA factors)
    for (const NamedTensor& p : adapter.trainable) output("grad." + adapter.folder_key(p.name), grad_of(p.tensor));
  } else {
    for (const NamedTensor& p : model->named_parameters()) output("grad." + p.name, grad_of(p.tensor));
  }
  return result;
}

const CommandSpec& forward_spec() {
  static const CommandSpec spec = {
      "frost forward",
      "logits, loss and gradients of a timm model (optionally with a PEFT adapter) on a batch stored as safetensors",
      "",
      {required(common_flag("model")),
       common_flag("model-args"),
       {"weights", "FILE|DIR", "", "timm weights (required with a model name; a hub folder brings its own)"},
       common_flag("adapter"),
       {"input", "FILE", "", "safetensors with 'input' (B, 3, H, W) and optionally 'labels' (B)", true},
       {"out", "FILE", "", "where the outputs go: logits, loss, grad.*", true},
       {"grads", "", "", "also the gradients of the input and of every parameter (adapter: of its tensors)"},
       {"non-strict", "", "", "allow missing or unexpected tensors in --weights"},
       common_flag("device"),
       common_flag("precision")},
      {"frost forward --model vit_tiny_patch16_224 --weights vit.safetensors --input batch.safetensors --out out.safetensors",
       "frost forward --model HUBDIR --adapter lora/ --input batch.safetensors --out out.safetensors --grads"}};
  return spec;
}

int run_forward_command(const std::vector<std::string>& args) {
  const Flags flags(forward_spec(), args);
  ForwardRequest request;
  request.model = flags.require("model");
  if (flags.has("model-args")) request.model_args = parse_json_flag(flags, "frost forward", "model-args");
  request.weights = flags.get("weights");
  request.adapter = flags.get("adapter");
  request.input = flags.require("input");
  const std::string out = flags.require("out");
  request.grads = flags.has("grads");
  request.strict = !flags.has("non-strict");
  request.device = flags.get("device");
  request.precision = flags.get("precision");
  request.on_note = [](const std::string& note) { std::fprintf(stderr, "frost forward: %s\n", note.c_str()); };
  const ForwardResult result = run_forward(request);
  save_safetensors(out, result.outputs, {{"model", request.model}});
  const Tensor& logits = result.outputs[0].tensor;
  std::printf("%s: logits %s", request.model.c_str(), shape_str(logits.shape()).c_str());
  if (result.outputs.size() > 1) std::printf(", loss %.6f", result.outputs[1].tensor.item());
  std::printf("; wrote %zu tensors to %s\n", result.outputs.size(), out.c_str());
  return 0;
}

}  // namespace frost::cli
