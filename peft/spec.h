// spec.h: the PEFT spec language every command takes, 'NAME[:key=value[,key=value]...][+NAME...]'
// (e.g. `lora:r=8,alpha=8,targets=attn.qkv|mlp.fc1`, `vpt:mode=deep,tokens=10`,
// `adapter:dim=[8,8,0,...]`), and what a spec does to a model as a whole: freeze it, apply each
// method (peft/method.h) in a fixed order, make the classifier head trainable, and then count,
// save, load and merge the result.
//
// Adapter folders: a spec that is one method with a layout of its own is written in it (`lora` or
// `dora`: HF peft's adapter_config.json + adapter_model.safetensors, the head as modules_to_save,
// which peft's PeftModel.from_pretrained reads; lora_folder.h). Every other spec is written in frost's layout:
//   frost_peft.json      {"format": "frost-peft", "version": 1, "peft": SPEC, "architecture": ...}
//   adapter.safetensors  every trainable tensor under its model key; a sparse-masked weight as
//                        "<key>.sparse_index" (i64 flat indices) + "<key>.sparse_values"
// Loading re-applies the spec and fills every tensor, checking all before writing any.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "peft/method.h"
#include "peft/options.h"

namespace frost::peft {

std::vector<MethodSpec> parse_spec(const std::string& spec);
std::string format_spec(const std::vector<MethodSpec>& methods);  // canonical text

// What a spec did to a model.
struct AppliedSpec {
  std::string spec;  // canonical
  std::vector<MethodSpec> methods;
  std::vector<std::shared_ptr<MethodState>> states;  // per method: what its hooks need (or null)
  std::vector<NamedTensor> trainable;                // model keys

  // The layout of the spec's one method when it has its own (LoRA, DoRA: HF peft's); null: frost's.
  const FolderLayout* layout() const;
  // A trainable tensor's name in the adapter folder (the model key, but for a layout's own keys).
  std::string folder_key(const std::string& model_key) const;
  // Whether a method wants to look at data before training, and that look (in spec order).
  bool calibrates() const;
  void calibrate(Module& model, const Accumulate& accumulate) const;
};

AppliedSpec apply_spec(models::Model& model, const std::string& spec, uint64_t seed = 0);

struct ParamCounts {
  int64_t total = 0, trainable = 0, peft = 0;  // peft = trainable minus the head
};
ParamCounts count_params(const models::Model& model);

void save_spec_adapter(const std::string& dir, const AppliedSpec& applied, const models::Model& model);
// Reads either layout; applies its spec to `model` and fills the tensors.
AppliedSpec load_spec_adapter(models::Model& model, const std::string& dir);

// Folds every method into the model's own weights (model in eval mode) and returns the model's
// state_dict restricted to `keys` (a fresh model's: timm's). Throws naming the first method that
// cannot merge and why.
std::vector<NamedTensor> merge_spec(models::Model& model, const AppliedSpec& applied, const std::vector<std::string>& keys);

}  // namespace frost::peft
