// hub.cpp: see hub.h.
#include "models/hub.h"

#include <filesystem>
#include <stdexcept>

#include "engine/json_file.h"
#include "models/args.h"

namespace frost::models {

namespace fs = std::filesystem;

namespace {

std::array<float, 3> read_triple(const JsonFields& f, const std::string& key) {
  const nlohmann::json& v = f.at(key);
  if (!v.is_array() || v.size() != 3) f.fail(key, "must be a list of 3 numbers, got " + v.dump());
  std::array<float, 3> out{};
  for (size_t i = 0; i < 3; ++i) {
    if (!v[i].is_number() || !(v[i].get<double>() > -1e6 && v[i].get<double>() < 1e6))
      f.fail(key, "must be a list of 3 numbers, got " + v.dump());
    out[i] = v[i].get<float>();
  }
  return out;
}

std::string read_choice(const JsonFields& f, const std::string& key, const std::vector<std::string>& choices) {
  const nlohmann::json& v = f.at(key);
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "'" : ", '") + c + "'";
  if (v.is_string())
    for (const std::string& c : choices)
      if (v.get<std::string>() == c) return c;
  f.fail(key, "must be one of " + list + ", got " + v.dump());
}

// pretrained_cfg's preprocessing over the architecture's defaults; returns input_size's height.
int64_t read_pretrained_cfg(const nlohmann::json& cfg, const std::string& origin, PretrainedConfig& p,
                            std::vector<std::string>& notes) {
  const JsonFields f(cfg, origin);
  if (f.has("mean")) p.mean = read_triple(f, "mean");
  if (f.has("std")) p.std = read_triple(f, "std");
  for (float s : p.std)
    if (!(s > 0)) f.fail("std", "must be positive");
  if (f.has("crop_pct")) p.crop_pct = f.number("crop_pct", 0.01, 1.0);
  if (f.has("interpolation")) p.interpolation = read_choice(f, "interpolation", {"bicubic", "bilinear"});
  if (f.has("crop_mode")) {
    p.crop_mode = read_choice(f, "crop_mode", {"center", "squash", "border"});
    if (p.crop_mode == "border") {
      notes.push_back(origin + ": crop_mode 'border' is read as 'center' (frost has no border-padding crop)");
      p.crop_mode = "center";
    }
  }
  if (!f.has("input_size")) return 0;
  const nlohmann::json& v = f.at("input_size");
  const std::string expected = "must be [channels, height, width] with sizes in [1, " + std::to_string(kMaxSize) + "]";
  if (!v.is_array() || v.size() != 3) f.fail("input_size", expected + ", got " + v.dump());
  for (const nlohmann::json& e : v)
    if (!e.is_number_integer() || e.get<double>() < 1 || e.get<double>() > double(kMaxSize))
      f.fail("input_size", expected + ", got " + v.dump());
  if (v[1] != v[2]) f.fail("input_size", "must be square here (frost's eval transform crops squares), got " + v.dump());
  return v[1].get<int64_t>();
}

std::vector<std::string> read_label_names(const JsonFields& f, int64_t num_classes) {
  const nlohmann::json& v = f.at("label_names");
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const nlohmann::json& e : v) {
      if (!e.is_string()) f.fail("label_names", "must hold strings, got " + e.dump());
      out.push_back(e.get<std::string>());
    }
  } else if (v.is_object()) {  // {"0": "tench", ...}: ids with gaps
    for (const auto& item : v.items()) {
      char* end = nullptr;
      const long long id = std::strtoll(item.key().c_str(), &end, 10);
      if (item.key().empty() || *end || id < 0 || id >= num_classes || !item.value().is_string())
        f.fail("label_names", "must map class ids in [0, " + std::to_string(num_classes) + ") to names, got '" + item.key() +
                                  "': " + item.value().dump());
      if (out.size() <= size_t(id)) out.resize(size_t(id) + 1);
      out[size_t(id)] = item.value().get<std::string>();
    }
  } else {
    f.fail("label_names", "must be a list of names or an object of id: name, got " + v.dump());
  }
  if (num_classes > 0 && int64_t(out.size()) > num_classes)
    f.fail("label_names", "has " + std::to_string(out.size()) + " names for " + std::to_string(num_classes) + " classes");
  return out;
}

}  // namespace

bool is_hub_folder(const std::string& model) {
  std::error_code ec;
  return !model.empty() && fs::is_directory(model, ec);
}

std::string weights_file(const std::string& path) { return is_hub_folder(path) ? path + "/model.safetensors" : path; }

ModelSource resolve_model(const std::string& model, const nlohmann::json& user_args) {
  if (!user_args.is_null() && !user_args.is_object())
    throw std::invalid_argument("model args must be a JSON object, got " + user_args.dump());
  ModelSource src;
  if (!is_hub_folder(model)) {
    src.architecture = model;
    src.pretrained = pretrained_config(model);  // throws for an unknown name, listing the known ones
    if (user_args.is_object()) src.model_args = user_args;
    return src;
  }
  src.folder = fs::path(model).lexically_normal().string();
  if (src.folder.size() > 1 && src.folder.back() == '/') src.folder.pop_back();
  const std::string path = src.config_path();
  nlohmann::json config = read_json_file(path, "a timm hub folder holds config.json and model.safetensors");
  if (!config.is_object()) throw std::invalid_argument(path + ": must hold a JSON object, got " + config.dump().substr(0, 80));
  if (!config.contains("pretrained_cfg")) {  // the older single-dict layout
    nlohmann::json cfg = config;
    config = nlohmann::json{{"pretrained_cfg", cfg}};
    for (const char* key : {"architecture", "num_classes", "model_args", "global_pool", "label_names"})
      if (cfg.contains(key)) config[key] = cfg[key];
  }
  const JsonFields f(config, path);
  if (!f.has("architecture")) f.fail("architecture", "is missing (timm's model name, e.g. \"vit_base_patch16_224\")");
  if (!f.at("architecture").is_string())
    f.fail("architecture", "must be a string (timm's model name), got " + f.at("architecture").dump());
  src.architecture = f.string("architecture");
  ModelInfo info;
  try {
    info = model_info(src.architecture);
  } catch (const std::invalid_argument& e) {
    f.fail("architecture", e.what());
  }
  src.pretrained = info.pretrained;
  nlohmann::json args = nlohmann::json::object();
  if (f.has("model_args")) {
    if (!f.at("model_args").is_object())
      f.fail("model_args", "must be an object of timm's keyword arguments, got " + f.at("model_args").dump());
    args = f.at("model_args");
  }
  if (!f.at("pretrained_cfg").is_object()) f.fail("pretrained_cfg", "must be an object, got " + f.at("pretrained_cfg").dump());
  const JsonFields cfg(f.at("pretrained_cfg"), path + ": pretrained_cfg");
  int64_t num_classes = -1;
  if (cfg.has("num_classes")) num_classes = cfg.integer("num_classes", 0, kMaxClasses);
  if (f.has("num_classes")) num_classes = f.integer("num_classes", 0, kMaxClasses);
  if (num_classes >= 0 && !args.contains("num_classes")) args["num_classes"] = num_classes;
  if (f.has("global_pool") && !args.contains("global_pool")) {
    if (!f.at("global_pool").is_string()) f.fail("global_pool", "must be a string, got " + f.at("global_pool").dump());
    if (!f.string("global_pool").empty()) args["global_pool"] = f.string("global_pool");
  }
  src.input_size = read_pretrained_cfg(f.at("pretrained_cfg"), path + ": pretrained_cfg", src.pretrained, src.notes);
  const bool fixed = cfg.boolean("fixed_input_size", info.takes_img_size);
  if (src.input_size > 0 && fixed && info.takes_img_size && !args.contains("img_size")) args["img_size"] = src.input_size;
  if (f.has("label_names")) src.label_names = read_label_names(f, num_classes >= 0 ? num_classes : kMaxClasses);
  src.model_args = args;
  if (user_args.is_object()) {
    src.model_args.update(user_args);
    src.user_args = user_args;
  }
  src.weights = src.folder + "/model.safetensors";
  return src;
}

std::shared_ptr<Model> create_model(const ModelSource& source, uint64_t seed) {
  if (source.folder.empty()) return create_model(source.architecture, source.model_args, seed);
  try {
    return create_model(source.architecture, source.model_args, seed);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source.config_path() + ": " + e.what());
  }
}

CheckpointReport load_weights(Model& model, const ModelSource& source, const std::string& weights, bool strict) {
  const bool own = !source.folder.empty() && weights == source.weights;
  std::error_code ec;
  if (own && !fs::exists(weights, ec)) {
    const std::string bin = source.folder + "/pytorch_model.bin";
    if (fs::exists(bin, ec))
      throw std::invalid_argument(source.folder +
                                  ": holds pytorch_model.bin but no model.safetensors; frost reads safetensors "
                                  "only (no pickle). Convert it once with PyTorch: python3 -c \"import torch; from "
                                  "safetensors.torch import save_file; save_file(torch.load('" +
                                  bin + "', map_location='cpu'), '" + weights + "', metadata={'format': 'pt'})\"");
    throw std::invalid_argument(source.folder +
                                ": no model.safetensors (a timm hub folder holds config.json and "
                                "model.safetensors; or give --weights FILE)");
  }
  if (!own) return load_checkpoint(model, weights, strict);
  try {
    return load_checkpoint(model, weights, strict);
  } catch (const std::exception& e) {
    if (!source.user_args.empty())  // the user's arguments changed the model the folder describes
      throw std::invalid_argument(weights + " does not fit " + source.config_path() + " with --model-args " +
                                  source.user_args.dump() + ": " + e.what());
    throw std::invalid_argument(source.config_path() + " does not describe " + weights + " (architecture '" +
                                source.architecture + "', model_args " + source.model_args.dump() + "): " + e.what());
  }
}

}  // namespace frost::models
