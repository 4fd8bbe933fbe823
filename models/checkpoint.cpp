// checkpoint.cpp: see checkpoint.h.
#include "models/checkpoint.h"

#include <set>

#include "engine/safetensors.h"

namespace frost::models {

namespace {

// A classifier (its path `classifier`) is loaded only when every one of its tensors is in the file
// with the model's shape; otherwise the model keeps its fresh head and the file's is dropped.
void fit_classifier(const Model& model, const std::string& classifier, std::vector<NamedTensor>& source,
                    std::set<std::string>& skip, CheckpointReport& report) {
  const std::string prefix = classifier + ".";
  std::vector<NamedTensor> head;
  for (const NamedTensor& p : model.state_dict())
    if (p.name.rfind(prefix, 0) == 0) head.push_back(p);
  auto in_file = [&](const std::string& key) -> const Tensor* {
    for (const NamedTensor& t : source)
      if (t.name == key) return &t.tensor;
    return nullptr;
  };
  std::string mismatch;
  for (const NamedTensor& p : head) {
    const Tensor* t = in_file(p.name);
    if (!t)
      mismatch += (mismatch.empty() ? "" : "; ") + p.name + " is not in the checkpoint";
    else if (t->shape() != p.tensor.shape())
      mismatch += (mismatch.empty() ? "" : "; ") + p.name + " is " + shape_str(t->shape()) + " in the checkpoint, " +
                  shape_str(p.tensor.shape()) + " in the model";
  }
  const bool drop_file_head = !mismatch.empty() || head.empty();
  if (!mismatch.empty()) {
    for (const NamedTensor& p : head) skip.insert(p.name);
    report.notes.push_back("classifier '" + classifier + "' re-initialised for num_classes " + std::to_string(model.num_classes) +
                           " (" + mismatch + ")");
  }
  if (drop_file_head) {  // the checkpoint's own head (other classes, or a model without one) is not used
    std::vector<NamedTensor> kept;
    bool dropped = false;
    for (NamedTensor& t : source) {
      bool is_model_key = false;
      for (const NamedTensor& p : head) is_model_key |= p.name == t.name;
      if (t.name.rfind(prefix, 0) == 0 && (head.empty() || is_model_key)) {
        report.ignored.push_back(t.name);
        dropped = true;
      } else {
        kept.push_back(std::move(t));
      }
    }
    if (dropped && head.empty()) report.notes.push_back("checkpoint classifier '" + classifier + "' dropped (num_classes 0)");
    source = std::move(kept);
  }
}

}  // namespace

CheckpointReport load_checkpoint(Model& model, const std::string& path, bool strict) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  CheckpointReport report;
  std::vector<NamedTensor> source;
  std::vector<std::string> keys;
  for (const SafetensorsFile::Entry& e : file.entries()) keys.push_back(e.name);
  if (const int64_t renamed = model.remap_checkpoint_keys(keys))
    report.notes.push_back(std::to_string(renamed) + " keys of an older " + model.kind() +
                           " layout renamed to timm's current names");
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    if (model.ignores_checkpoint_key(key)) {
      report.ignored.push_back(key);
      continue;
    }
    const Tensor value = file.get(file.entries()[i].name);
    Tensor adapted = model.adapt_checkpoint_tensor(key, value);
    if (adapted.shape() != value.shape())
      report.notes.push_back(key + " resampled from " + shape_str(value.shape()) + " to " + shape_str(adapted.shape()));
    source.push_back({key, adapted});
  }
  std::set<std::string> skip;
  for (const std::string& classifier : model.classifier_paths()) fit_classifier(model, classifier, source, skip, report);
  const LoadReport loaded = load_tensors(model, source, path, strict, skip);
  report.missing = loaded.missing;
  report.unexpected = loaded.unexpected;
  return report;
}

}  // namespace frost::models
