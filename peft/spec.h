// spec.h: the PEFT spec language every command takes: 'NAME[:key=value[,key=value]...][+NAME...]',
// e.g. `lora:r=8,alpha=16,targets=attn.qkv|mlp.fc1` or `linear`. Parsing is generic; applying
// looks each NAME up in the methods frost has (full, linear, lora so far) and refuses unknown
// names and keys with a message listing what exists. The classifier head trains under every
// method.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "peft/lora.h"

namespace frost::peft {

struct MethodSpec {
  std::string name;
  std::map<std::string, std::string> options;  // in the order of the map (sorted)
};

std::vector<MethodSpec> parse_spec(const std::string& spec);
std::string format_spec(const std::vector<MethodSpec>& methods);  // canonical text

// What a spec did to a model: its trainable tensors under the names an adapter folder uses.
struct AppliedSpec {
  std::string spec;  // canonical
  bool has_lora = false;
  LoraConfig lora;
  AppliedAdapter lora_tensors;
  std::vector<NamedTensor> trainable;  // model keys, for checkpoints
};

AppliedSpec apply_spec(models::Model& model, const std::string& spec, uint64_t seed = 0);

// Writes `dir` as the method's adapter folder: LoRA in HF peft's layout (head as modules_to_save),
// anything else as frost's: adapter.safetensors (trainable tensors by model key) + frost_peft.json.
void save_spec_adapter(const std::string& dir, const AppliedSpec& applied);

}  // namespace frost::peft
