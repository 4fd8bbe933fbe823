// spec.cpp: see spec.h.
#include "peft/spec.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/json_file.h"
#include "engine/safetensors.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace fs = std::filesystem;

std::vector<MethodSpec> parse_spec(const std::string& spec) {
  if (spec.empty()) throw std::invalid_argument("--peft: empty spec (e.g. full, linear, lora:r=8,targets=attn.qkv)");
  std::vector<MethodSpec> out;
  for (const std::string& part : split_top_level(spec, '+')) {
    MethodSpec m;
    const size_t colon = part.find(':');
    m.name = part.substr(0, colon);
    if (m.name.empty()) throw std::invalid_argument("--peft '" + spec + "': a method name is empty");
    if (colon != std::string::npos)
      for (const std::string& kv : split_top_level(part.substr(colon + 1), ',')) {
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size())
          throw std::invalid_argument("--peft " + m.name + ": '" + kv + "' is not key=value");
        if (!m.options.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second)
          throw std::invalid_argument("--peft " + m.name + ": key '" + kv.substr(0, eq) + "' given twice");
      }
    find_method(m.name);  // unknown names fail here, listing the known ones
    for (const MethodSpec& earlier : out)
      if (earlier.name == m.name) throw std::invalid_argument("--peft '" + spec + "': method '" + m.name + "' appears twice");
    out.push_back(std::move(m));
  }
  for (const MethodSpec& m : out)
    if (const MethodInfo& info = find_method(m.name); !info.combines() && out.size() > 1)
      throw std::invalid_argument("--peft '" + spec + "': '" + m.name + "' cannot be combined with other methods (" + info.alone +
                                  ")");
  return out;
}

std::string format_spec(const std::vector<MethodSpec>& methods) {
  std::string out;
  for (const MethodSpec& m : methods) {
    out += (out.empty() ? "" : "+") + m.name;
    std::string opts;
    for (const auto& [k, v] : m.options) opts += (opts.empty() ? ":" : ",") + k + "=" + v;
    out += opts;
  }
  return out;
}

AppliedSpec apply_spec(models::Model& model, const std::string& spec, uint64_t seed) {
  AppliedSpec applied;
  applied.methods = parse_spec(spec);
  applied.spec = format_spec(applied.methods);
  const std::vector<MethodSpec> ordered = [&] {
    std::vector<MethodSpec> v = applied.methods;
    std::stable_sort(v.begin(), v.end(), [](const MethodSpec& a, const MethodSpec& b) {
      return find_method(a.name).order < find_method(b.name).order;
    });
    return v;
  }();
  model.set_requires_grad(false);
  applied.states.resize(applied.methods.size());
  uint64_t n = 0;
  for (const MethodSpec& m : ordered) {
    MethodContext ctx(model, m.name, seed + 1000003 * ++n);
    Options o(m);
    find_method(m.name).apply(ctx, o);
    o.finish();
    for (size_t i = 0; i < applied.methods.size(); ++i)
      if (applied.methods[i].name == m.name) applied.states[i] = ctx.state;
  }
  for (const std::string& path : model.classifier_paths())
    if (auto head = model.find(path)) head->set_requires_grad(true);
  applied.trainable = model.trainable_parameters();
  return applied;
}

const FolderLayout* AppliedSpec::layout() const {
  return methods.size() == 1 && states.size() == 1 && states[0] ? find_method(methods[0].name).layout : nullptr;
}

std::string AppliedSpec::folder_key(const std::string& model_key) const {
  const FolderLayout* own = layout();
  return own ? own->key(*states[0], model_key) : model_key;
}

bool AppliedSpec::calibrates() const {
  for (size_t i = 0; i < methods.size(); ++i)
    if (find_method(methods[i].name).calibrate && states.at(i)) return true;
  return false;
}

void AppliedSpec::calibrate(Module& model, const Accumulate& accumulate) const {
  for (size_t i = 0; i < methods.size(); ++i)
    if (const Calibrate c = find_method(methods[i].name).calibrate; c && states.at(i)) c(model, *states[i], accumulate);
}

ParamCounts count_params(const models::Model& model) {
  ParamCounts c;
  c.total = model.parameter_count(false);
  c.trainable = model.parameter_count(true);
  int64_t head = 0;
  for (const std::string& path : model.classifier_paths())
    if (auto m = model.find(path)) head += m->parameter_count(true);
  c.peft = c.trainable - head;
  return c;
}

void save_spec_adapter(const std::string& dir, const AppliedSpec& applied, const models::Model& model) {
  if (const FolderLayout* own = applied.layout()) {
    own->save(dir, *applied.states[0]);
    return;
  }
  fs::create_directories(dir);
  std::vector<NamedTensor> tensors;
  for (const NamedTensor& t : applied.trainable) {
    const Tensor mask = t.tensor.grad_mask();
    if (!mask.defined()) {
      tensors.push_back(t);
      continue;
    }
    std::vector<double> index, values;
    const std::vector<double> m = mask.to_doubles(), v = t.tensor.to_doubles();
    for (size_t i = 0; i < m.size(); ++i)
      if (m[i] != 0.0) {
        index.push_back(double(i));
        values.push_back(v[i]);
      }
    const int64_t k = int64_t(index.size());
    tensors.push_back({t.name + ".sparse_index", Tensor::from_vector(index, {k}, DType::i64)});
    tensors.push_back({t.name + ".sparse_values", Tensor::from_vector(values, {k}, t.tensor.dtype())});
  }
  save_safetensors((fs::path(dir) / "adapter.safetensors").string(), tensors, {{"peft", applied.spec}});
  write_json_file((fs::path(dir) / "frost_peft.json").string(), {{"format", "frost-peft"},
                                                                 {"version", 1},
                                                                 {"peft", applied.spec},
                                                                 {"architecture", model.architecture},
                                                                 {"num_classes", model.num_classes},
                                                                 {"tensors", tensors.size()}});
}

AppliedSpec load_spec_adapter(models::Model& model, const std::string& dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir + ": not an adapter folder (no such directory)");
  for (const MethodInfo& m : all_methods())
    if (m.layout && fs::exists(fs::path(dir) / m.layout->marker)) {
      AppliedSpec applied;
      auto [spec, state] = m.layout->load(model, dir);
      applied.methods = {std::move(spec)};
      applied.states = {std::move(state)};
      applied.spec = format_spec(applied.methods);
      applied.trainable = model.trainable_parameters();
      return applied;
    }
  const std::string json_path = (fs::path(dir) / "frost_peft.json").string(),
                    weights = (fs::path(dir) / "adapter.safetensors").string();
  if (!fs::exists(json_path)) {
    std::string markers;
    for (const MethodInfo& m : all_methods())
      if (m.layout && markers.find(m.layout->marker) == std::string::npos)
        markers += std::string(m.layout->marker) + " (" + m.layout->name + ") ";
    throw std::runtime_error(dir + ": neither " + markers + "nor frost_peft.json (frost) is there");
  }
  const JsonFields j(read_json_file(json_path, "frost's adapter layout"), json_path);
  if (j.has("format") && j.string("format") != "frost-peft") j.fail("format", "is not \"frost-peft\"");
  const std::string spec = j.string("peft");
  if (j.has("architecture") && j.string("architecture") != model.architecture)
    throw std::runtime_error(json_path + ": the adapter was trained on " + j.string("architecture") + ", not " +
                             model.architecture);
  const SafetensorsFile file = SafetensorsFile::open(weights);
  AppliedSpec applied;
  try {
    applied = apply_spec(model, spec);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(json_path + ": " + e.what());
  }
  // Check everything before writing anything.
  std::set<std::string> expected;
  std::vector<std::string> missing;
  for (const NamedTensor& t : applied.trainable) {
    const bool sparse = t.tensor.grad_mask().defined();
    const std::vector<std::string> names =
        sparse ? std::vector<std::string>{t.name + ".sparse_index", t.name + ".sparse_values"} : std::vector<std::string>{t.name};
    for (const std::string& name : names) {
      expected.insert(name);
      if (!file.contains(name)) missing.push_back(name);
    }
    if (!sparse && file.contains(t.name) && file.entry(t.name).shape != t.tensor.shape())
      throw std::runtime_error(weights + ": tensor '" + t.name + "' has shape " + shape_str(file.entry(t.name).shape) +
                               " but the model expects " + shape_str(t.tensor.shape()) + " (were --model-args the same?)");
    if (sparse && file.contains(names[0])) {
      const Tensor index = file.get(names[0]);
      if (index.dim() != 1 || !file.contains(names[1]) || file.entry(names[1]).shape != index.shape())
        throw std::runtime_error(weights + ": '" + names[0] + "' and '" + names[1] + "' must be two vectors of one length");
      if (index.dtype() != DType::i64)
        throw std::runtime_error(weights + ": '" + names[0] + "' must hold integers (I64), not " + dtype_name(index.dtype()));
      std::vector<bool> seen(size_t(t.tensor.numel()), false);
      for (double i : index.to_doubles()) {
        if (i < 0 || i >= double(t.tensor.numel()))
          throw std::runtime_error(weights + ": '" + names[0] + "' holds index " + std::to_string(int64_t(i)) + " outside " +
                                   t.name + " " + shape_str(t.tensor.shape()));
        if (seen[size_t(i)])
          throw std::runtime_error(weights + ": '" + names[0] + "' holds index " + std::to_string(int64_t(i)) + " twice");
        seen[size_t(i)] = true;
      }
    }
  }
  std::vector<std::string> unexpected;
  for (const SafetensorsFile::Entry& e : file.entries())
    if (!expected.count(e.name)) unexpected.push_back(e.name);
  if (!missing.empty())
    throw std::runtime_error(weights + ": " + std::to_string(missing.size()) + " tensors are missing: " + list_names(missing));
  if (!unexpected.empty())
    throw std::runtime_error(weights + ": " + std::to_string(unexpected.size()) +
                             " tensors match nothing the spec creates: " + list_names(unexpected));
  NoGradGuard no_grad;
  for (const NamedTensor& t : applied.trainable) {
    if (!t.tensor.grad_mask().defined()) {
      copy_into(t.tensor.detach(), file.get(t.name));
      continue;
    }
    const std::vector<double> index = file.get(t.name + ".sparse_index").to_doubles();
    const std::vector<double> values = file.get(t.name + ".sparse_values").to_doubles();
    std::vector<double> w = t.tensor.to_doubles(), mask(w.size(), 0.0);
    for (size_t i = 0; i < index.size(); ++i) {
      w[size_t(index[i])] = values[i];
      mask[size_t(index[i])] = 1.0;
    }
    copy_into(t.tensor.detach(), Tensor::from_vector(w, t.tensor.shape(), t.tensor.dtype()));
    Tensor(t.tensor).set_grad_mask(Tensor::from_vector(mask, t.tensor.shape(), t.tensor.dtype()));
  }
  return applied;
}

std::vector<NamedTensor> merge_spec(models::Model& model, const AppliedSpec& applied, const std::vector<std::string>& keys) {
  for (const MethodSpec& m : applied.methods) {
    const MethodInfo& info = find_method(m.name);
    if (!info.mergeable())
      throw std::invalid_argument("merge: '" + m.name + "' cannot be merged into the base weights: " + info.why_not +
                                  " (use the adapter folder with --adapter instead)");
  }
  model.train(false);
  merge_wrappers(model);
  std::map<std::string, Tensor> state;
  for (const NamedTensor& t : model.state_dict()) state[t.name] = t.tensor;
  std::vector<NamedTensor> out;
  std::vector<std::string> missing;
  for (const std::string& k : keys) {
    auto it = state.find(k);
    if (it == state.end())
      missing.push_back(k);
    else
      out.push_back({k, it->second.detach()});
  }
  if (!missing.empty()) throw std::logic_error("merge: the merged model lacks " + list_names(missing));
  return out;
}

}  // namespace frost::peft
