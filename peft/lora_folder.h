// lora_folder.h: HF peft adapter folders. A folder holds adapter_config.json (peft's LoraConfig as
// JSON) and adapter_model.safetensors, whose keys are "base_model.model.<module>.lora_A.weight"
// (r, in), "...lora_B.weight" (out, r) and the modules_to_save tensors as
// "base_model.model.<module>.<param>". Loading applies the config to the model (apply_lora_config) and
// then fills every adapter tensor, checking all of them before writing any; saving writes a folder
// peft's PeftModel.from_pretrained reads.
#pragma once
#include <string>

#include "models/model.h"
#include "peft/lora.h"
#include "peft/method.h"

namespace frost::peft {

// `config_out`, when given, receives the folder's config.
AppliedAdapter load_adapter(models::Model& model, const std::string& dir, LoraConfig* config_out = nullptr);
void save_adapter(const std::string& dir, const LoraConfig& config, const AppliedAdapter& applied);

// What the `lora` and `dora` methods keep for their folder: the config and the recorded tensors.
struct LoraState : MethodState {
  LoraConfig config;
  AppliedAdapter adapter;
};
// HF peft's layout as the method table's hook: save_adapter / load_adapter on a LoraState, and
// each tensor's key in adapter_model.safetensors.
extern const FolderLayout kHfPeftLayout;

}  // namespace frost::peft
