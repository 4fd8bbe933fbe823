// peft_cli.cpp: `frost methods`, `frost params` and `frost merge`.
//   frost methods [--specs | --counts]
//     the method table (peft/method_table.cpp) as Markdown, as in the README; --specs: each
//     method's published-size specs, one per line; --counts: their PEFT-only counts on ViT-B/16,
//     Swin-T and ConvNeXt-T (the README's counts table).
//   frost params --model NAME [--model-args JSON] [--peft SPEC] [--json]
//     total, trainable and PEFT-only (trainable minus the head) parameter counts; a sparse mask
//     counts its selected entries. The model is built without random init (counts only).
//   frost merge --model NAME [--model-args JSON] --weights BASE --adapter DIR --out FILE
//     folds a mergeable adapter (lora, dora, ssf, fact, krona, glora, repadapter, bitfit, ln, and
//     the other specification methods) into the base weights and writes a plain checkpoint with
//     exactly timm's keys; other methods are refused with the reason.
#include <cstdio>
#include <stdexcept>

#include "engine/layers.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "models/hub.h"
#include "models/registry.h"
#include "peft/method.h"
#include "peft/spec.h"
#include "tools/cli.h"

namespace frost::cli {

namespace {
std::string thousands(int64_t n) {  // 2374476 -> "2,374,476"
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
}  // namespace

std::string counts_markdown() {
  const std::vector<std::string> names = {"vit_base_patch16_224", "swin_tiny_patch4_window7_224", "convnext_tiny"};
  std::string out = "| --peft |";
  for (const std::string& n : names) out += " " + n + " |";
  out += "\n|---|";
  for (size_t i = 0; i < names.size(); ++i) out += "---:|";
  out += "\n";
  SkipInitGuard no_random_init;
  for (const peft::MethodInfo& m : peft::all_methods())
    for (const peft::SizedSpec& s : m.sized) {
      out += "| `" + std::string(s.spec) + "` |";
      for (const std::string& name : names) {
        auto model = models::create_model(name, nlohmann::json::object());
        try {
          peft::apply_spec(*model, s.spec);
          out += ' ';
          out += thousands(peft::count_params(*model).peft);
          out += " |";
        } catch (const std::invalid_argument& e) {  // the two ways a spec does not apply
          const std::string why = e.what();
          if (why.find("not available on") != std::string::npos)
            out += " refused |";
          else if (why.find("match no") != std::string::npos)
            out += " no target |";
          else
            throw;
        }
      }
      out += "\n";
    }
  return out;
}

const CommandSpec& methods_spec() {
  static const CommandSpec spec = {"frost methods",
                                   "the PEFT methods with their keys, defaults and placement (Markdown, as in the README)",
                                   "",
                                   {{"specs", "", "", "each method's published-size specs, one per line"},
                                    {"counts", "", "", "those specs' PEFT-only counts on ViT-B/16, Swin-T and ConvNeXt-T"}},
                                   {"frost methods", "frost methods --specs"}};
  return spec;
}

const CommandSpec& params_spec() {
  static const CommandSpec spec = {
      "frost params",
      "total, trainable and PEFT-only (trainable minus the head) parameter counts",
      "",
      {required(common_flag("model")), common_flag("model-args"), common_flag("peft"), common_flag("json")},
      {"frost params --model vit_base_patch16_224 --peft lora:r=8,targets=attn.qkv",
       "frost params --model convnext_tiny --peft ssf --json"}};
  return spec;
}

const CommandSpec& merge_spec() {
  static const CommandSpec spec = {
      "frost merge",
      "fold a mergeable adapter into the base weights: a plain timm checkpoint with timm's keys",
      "",
      {required(common_flag("model")),
       common_flag("model-args"),
       {"weights", "FILE|DIR", "", "the base weights (required with a model name; a hub folder brings its own)"},
       {"adapter", "DIR", "", "the adapter folder: lora, dora, ssf, fact, krona, glora, repadapter, bitfit, ln...", true},
       {"out", "FILE", "", "the merged .safetensors", true}},
      {"frost merge --model vit_base_patch16_224 --weights vit_b16.safetensors --adapter RUN/adapter --out merged.safetensors"}};
  return spec;
}

int run_methods_command(const std::vector<std::string>& args) {
  const Flags f(methods_spec(), args);
  if (f.has("specs")) {
    for (const peft::MethodInfo& m : peft::all_methods())
      for (const peft::SizedSpec& s : m.sized) std::printf("%s\n", s.spec);
  } else {
    std::fputs((f.has("counts") ? counts_markdown() : peft::methods_markdown()).c_str(), stdout);
  }
  return 0;
}

int run_params_command(const std::vector<std::string>& args) {
  const std::string cmd = "frost params";
  const Flags f(params_spec(), args);
  const std::string name = f.require("model");
  std::shared_ptr<models::Model> model;
  {
    SkipInitGuard no_random_init;
    model = models::create_model(models::resolve_model(name, parse_json_flag(f, cmd, "model-args")));
    peft::apply_spec(*model, f.get("peft"));
  }
  const peft::ParamCounts c = peft::count_params(*model);
  if (f.has("json")) {
    std::printf("%s\n", nlohmann::json{{"total", c.total}, {"trainable", c.trainable}, {"peft", c.peft}}.dump().c_str());
  } else {
    std::printf("%s --peft %s\n  total      %lld\n  trainable  %lld (%.3f%%)\n  peft       %lld (trainable minus the head)\n",
                name.c_str(), f.get("peft").c_str(), (long long)c.total, (long long)c.trainable,
                100.0 * double(c.trainable) / double(std::max<int64_t>(c.total, 1)), (long long)c.peft);
  }
  return 0;
}

MergeResult merge_adapter(const std::string& name, const nlohmann::json& model_args, const std::string& weights,
                          const std::string& adapter, const std::string& out) {
  const models::ModelSource source = models::resolve_model(name, model_args);
  std::vector<std::string> keys;  // a fresh model's keys: timm's
  {
    SkipInitGuard no_random_init;
    for (const NamedTensor& t : models::create_model(source)->state_dict()) keys.push_back(t.name);
  }
  auto model = models::create_model(source);
  const std::string file = weights.empty() ? source.weights : models::weights_file(weights);
  if (file.empty())
    throw std::invalid_argument("frost merge: --weights is required with a model name (a hub folder has its own)");
  models::load_weights(*model, source, file, true);
  const peft::AppliedSpec applied = peft::load_spec_adapter(*model, adapter);
  const std::vector<NamedTensor> merged = peft::merge_spec(*model, applied, keys);
  save_safetensors(out, merged, {{"format", "pt"}, {"merged_peft", applied.spec}});
  return {applied.spec, int64_t(merged.size())};
}

int run_merge_command(const std::vector<std::string>& args) {
  const std::string cmd = "frost merge";
  const Flags f(merge_spec(), args);
  const std::string weights = f.get("weights"), out = f.require("out");
  const MergeResult r =
      merge_adapter(f.require("model"), parse_json_flag(f, cmd, "model-args"), weights, f.require("adapter"), out);
  std::printf("%s: %lld tensors, %s merged into %s\n", out.c_str(), (long long)r.tensors, r.spec.c_str(),
              (weights.empty() ? f.require("model") : weights).c_str());
  return 0;
}

}  // namespace frost::cli
