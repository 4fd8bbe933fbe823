// lora_folder.cpp: see lora_folder.h.
#include "peft/lora_folder.h"

#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "engine/json_file.h"
#include "engine/ops.h"
#include "engine/safetensors.h"

namespace frost::peft {

namespace fs = std::filesystem;

AppliedAdapter load_adapter(models::Model& model, const std::string& dir, LoraConfig* config_out) {
  const std::string config_path = (fs::path(dir) / "adapter_config.json").string();
  const std::string weights_path = (fs::path(dir) / "adapter_model.safetensors").string();
  if (!fs::is_directory(dir)) throw std::runtime_error(dir + ": not an adapter folder (no such directory)");
  const nlohmann::json j = read_json_file(config_path, "an HF peft adapter folder needs adapter_config.json");
  if (!fs::exists(weights_path)) {
    if (fs::exists(fs::path(dir) / "adapter_model.bin"))
      throw std::runtime_error(dir + ": adapter_model.bin (pickle) is not supported; save the adapter with safetensors");
    throw std::runtime_error(weights_path + ": no such file");
  }
  const SafetensorsFile file = SafetensorsFile::open(weights_path);  // validate before touching the model
  const LoraConfig config = LoraConfig::from_json(j, config_path);
  // The ranks the config asks for must be the ones the file holds, before any layer is built: what
  // is then allocated is bounded by what the file really holds.
  const std::string a_suffix = ".lora_A.weight", prefix = kPeftPrefix;
  int64_t lora_a = 0;
  for (const SafetensorsFile::Entry& e : file.entries()) {
    if (e.name.size() <= a_suffix.size() + prefix.size() || e.name.rfind(prefix, 0) != 0 ||
        e.name.compare(e.name.size() - a_suffix.size(), a_suffix.size(), a_suffix) != 0)
      continue;
    const std::string path = e.name.substr(prefix.size(), e.name.size() - a_suffix.size() - prefix.size());
    const int64_t r = config.rank_for(path);
    ++lora_a;
    if (e.shape.empty() || e.shape[0] != r)
      throw std::runtime_error(config_path + ": rank " + std::to_string(r) + " for '" + path + "' (r or rank_pattern), but " +
                               weights_path + " holds '" + e.name + "' of shape " + shape_str(e.shape));
  }
  if (lora_a == 0)
    throw std::runtime_error(weights_path + ": holds no '" + prefix + "<module>" + a_suffix +
                             "' tensor, so it is no LoRA adapter");
  AppliedAdapter applied;
  try {
    applied = apply_lora_config(model, config);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(config_path + ": " + e.what());
  }
  std::set<std::string> expected;
  std::vector<std::string> missing;
  for (const NamedTensor& t : applied.adapter_tensors) {
    expected.insert(t.name);
    if (!file.contains(t.name)) {
      missing.push_back(t.name);
      continue;
    }
    const Shape& shape = file.entry(t.name).shape;
    if (shape != t.tensor.shape())
      throw std::runtime_error(
          weights_path + ": tensor '" + t.name + "' has shape " + shape_str(shape) + " but the model expects " +
          shape_str(t.tensor.shape()) +
          (t.name.find(".lora_") != std::string::npos ? " (check r and rank_pattern in adapter_config.json)" : ""));
  }
  std::vector<std::string> unexpected;
  for (const SafetensorsFile::Entry& e : file.entries())
    if (!expected.count(e.name)) unexpected.push_back(e.name);
  if (!missing.empty())
    throw std::runtime_error(weights_path + ": " + std::to_string(missing.size()) +
                             " adapter tensors are missing: " + list_names(missing));
  if (!unexpected.empty())
    throw std::runtime_error(weights_path + ": " + std::to_string(unexpected.size()) +
                             " tensors match nothing the config creates: " + list_names(unexpected));
  for (const NamedTensor& t : applied.adapter_tensors) copy_into(t.tensor.detach(), file.get(t.name));
  if (config_out) *config_out = config;
  return applied;
}

void save_adapter(const std::string& dir, const LoraConfig& config, const AppliedAdapter& applied) {
  fs::create_directories(dir);
  save_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), applied.adapter_tensors, {{"format", "pt"}});
  write_json_file((fs::path(dir) / "adapter_config.json").string(), config.to_json());
}

namespace {

void save_state(const std::string& dir, const MethodState& state) {
  const auto& lora = dynamic_cast<const LoraState&>(state);
  save_adapter(dir, lora.config, lora.adapter);
}

std::pair<MethodSpec, std::shared_ptr<MethodState>> load_state(models::Model& model, const std::string& dir) {
  auto state = std::make_shared<LoraState>();
  state->adapter = load_adapter(model, dir, &state->config);
  MethodSpec spec{state->config.use_dora ? "dora" : "lora", {{"r", std::to_string(state->config.r)}}};
  return {std::move(spec), std::move(state)};
}

std::string folder_key(const MethodState& state, const std::string& model_key) {
  const AppliedAdapter& a = dynamic_cast<const LoraState&>(state).adapter;
  for (size_t i = 0; i < a.model_keys.size(); ++i)
    if (a.model_keys[i] == model_key) return a.is_lora[i] ? a.adapter_tensors[i].name : model_key;
  return model_key;
}

}  // namespace

const FolderLayout kHfPeftLayout = {"HF peft", "adapter_config.json", save_state, load_state, folder_key};

}  // namespace frost::peft
