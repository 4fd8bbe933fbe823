// datasets.cpp: the file-backed formats (folder, vtab, fgvc) and open_dataset; the array formats
// (cifar, idx) are in arrays.cpp.
#include "data/datasets.h"

#include "engine/files.h"
#include "engine/json_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

namespace frost::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxLabel = (int64_t(1) << 31) - 1;

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char* e : {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm"})
    if (ext == e) return true;
  return false;
}

void check_labels(const Dataset& d, int64_t num_classes, const std::string& origin) {
  for (int64_t i = 0; i < d.size(); ++i)
    if (d.label(i) < 0 || d.label(i) >= num_classes)
      throw std::runtime_error(origin + ": " + d.describe(i) + " has label " + std::to_string(d.label(i)) + ", outside [0, " +
                               std::to_string(num_classes) + ")");
}

// A class count taken from the largest label must be backed by the labels: one typo (label
// 999999 among 0..9) would otherwise build a million-class head without a word.
void check_inferred_classes(const Dataset& d, const std::string& origin) {
  std::set<int64_t> used;
  for (int64_t i = 0; i < d.size(); ++i) used.insert(d.label(i));
  const int64_t unused = d.num_classes - int64_t(used.size());
  if (d.num_classes > kMaxInferredClasses || (unused > 0 && unused * 2 > d.num_classes)) {
    int64_t at = 0;
    while (at < d.size() && d.label(at) != d.num_classes - 1) ++at;
    throw std::runtime_error(origin + ": the labels run up to " + std::to_string(d.num_classes - 1) + " (" + d.describe(at) +
                             "), but only " + std::to_string(used.size()) + " distinct labels are used; pass --num-classes " +
                             std::to_string(d.num_classes) + " if that many classes are meant");
  }
}

}  // namespace

std::shared_ptr<FileDataset> image_folder(const std::string& root) {
  if (!fs::is_directory(root)) throw std::runtime_error(root + ": no such directory");
  auto d = std::make_shared<FileDataset>();
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory() && entry.path().filename().string()[0] != '.')
      d->class_names.push_back(entry.path().filename().string());
  std::sort(d->class_names.begin(), d->class_names.end());
  if (d->class_names.empty()) throw std::runtime_error(root + ": no class folders (expected <root>/<class>/<image>)");
  for (size_t c = 0; c < d->class_names.size(); ++c) {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(root) / d->class_names[c]))
      if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path().string());
    if (files.empty())
      throw std::runtime_error(root + ": class folder '" + d->class_names[c] + "' holds no .jpg/.jpeg/.png/.bmp/.ppm/.pgm image");
    std::sort(files.begin(), files.end());
    for (std::string& f : files) {
      d->paths.push_back(std::move(f));
      d->labels.push_back(int64_t(c));
    }
  }
  d->num_classes = int64_t(d->class_names.size());
  return d;
}

std::shared_ptr<FileDataset> vtab_split(const std::string& task_dir, const std::string& split) {
  const std::string list = (fs::path(task_dir) / (split + ".txt")).string();
  if (!fs::exists(list))
    throw std::runtime_error(list + ": cannot open (VTAB-1k splits are <task>/{train800,val200,train800val200,test}.txt)");
  std::istringstream in(read_text_file(list, kMaxJsonFileBytes, "a VTAB split list"));
  auto d = std::make_shared<FileDataset>();
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string path, extra;
    int64_t label = -1;
    if (!(fields >> path >> label) || (fields >> extra))
      throw std::runtime_error(list + ":" + std::to_string(number) + ": expected '<image path> <label>', got '" + line + "'");
    if (label < 0 || label > kMaxLabel)
      throw std::runtime_error(list + ":" + std::to_string(number) + ": label " + std::to_string(label) + " is outside [0, " +
                               std::to_string(kMaxLabel) + "]");
    const fs::path full = fs::path(task_dir) / path;
    if (!fs::exists(full))
      throw std::runtime_error(list + ":" + std::to_string(number) + ": " + full.string() + " does not exist");
    d->paths.push_back(full.string());
    d->labels.push_back(label);
  }
  if (d->paths.empty()) throw std::runtime_error(list + ": no images listed");
  d->num_classes = *std::max_element(d->labels.begin(), d->labels.end()) + 1;
  return d;
}

std::shared_ptr<FileDataset> fgvc_split(const std::string& root, const std::string& split) {
  auto read_json = [](const std::string& path) {
    const nlohmann::json j = read_json_file(path, "FGVC splits are <root>/{train,val,test}.json");
    if (!j.is_object()) throw std::runtime_error(path + ": expected an object {\"<image path>\": <class id>}");
    for (const auto& [key, value] : j.items())
      if (!value.is_number_integer())
        throw std::runtime_error(path + ": '" + key + "' has a non-integer class id " + value.dump());
    return j;
  };
  const std::string split_path = (fs::path(root) / (split + ".json")).string();
  const nlohmann::json annotations = read_json(split_path);
  const std::string train_path = (fs::path(root) / "train.json").string();
  const nlohmann::json ids = fs::exists(train_path) ? read_json(train_path) : annotations;
  std::set<int64_t> unique;
  for (const auto& [key, value] : ids.items()) unique.insert(value.get<int64_t>());
  std::map<int64_t, int64_t> contiguous;
  for (int64_t id : unique) contiguous.emplace(id, int64_t(contiguous.size()));
  fs::path images = root;
  for (const char* sub : {"images", "Images"})
    if (fs::is_directory(fs::path(root) / sub)) images = fs::path(root) / sub;
  auto d = std::make_shared<FileDataset>();
  for (const auto& [key, value] : annotations.items()) {
    auto it = contiguous.find(value.get<int64_t>());
    if (it == contiguous.end())
      throw std::runtime_error(split_path + ": '" + key + "' has class id " + value.dump() + ", which train.json never uses");
    const fs::path full = images / key;
    if (!fs::exists(full)) throw std::runtime_error(split_path + ": '" + key + "': " + full.string() + " does not exist");
    d->paths.push_back(full.string());
    d->labels.push_back(it->second);
  }
  if (d->paths.empty()) throw std::runtime_error(split_path + ": no images listed");
  d->num_classes = int64_t(contiguous.size());
  return d;
}

std::shared_ptr<Dataset> open_dataset(const std::string& kind, const std::string& root, const std::string& split,
                                      int64_t num_classes) {
  std::shared_ptr<Dataset> d;
  const bool train = split == "train" || split == "training";
  if (kind == "folder") {
    std::vector<std::string> names{split};
    if (train)
      names = {"train", "training"};
    else if (split == "val" || split == "validation")
      names = {"validation", "val", "valid", "eval", "evaluation"};
    std::string dir;
    for (const std::string& n : names)
      if (dir.empty() && fs::is_directory(fs::path(root) / n)) dir = (fs::path(root) / n).string();
    // A root with no split folder at all is itself an evaluation split: <root>/<class>/<image>.
    bool has_splits = false;
    for (const char* n : {"train", "training", "validation", "val", "valid", "eval", "evaluation", "test"})
      has_splits = has_splits || fs::is_directory(fs::path(root) / n);
    if (dir.empty() && !train && !has_splits && fs::is_directory(root)) dir = root;
    if (dir.empty())
      throw std::runtime_error(root + ": no split folder for '" + split + "' (looked for " + names.front() + "/ and aliases)");
    d = image_folder(dir);
  } else if (kind == "vtab") {
    d = vtab_split(root, split == "train" ? "train800val200" : split);
  } else if (kind == "fgvc") {
    d = fgvc_split(root, split);
  } else if (kind == "cifar10" || kind == "cifar100") {
    if (!train && split != "test" && split != "val" && split != "validation")
      throw std::invalid_argument(kind + ": split must be train or test, got '" + split + "'");
    d = cifar(root, kind == "cifar100", train);
  } else if (kind == "mnist" || kind == "fmnist") {
    const std::string dir = root.empty() && kind == "fmnist" ? "/usr/share/datasets/fashion-mnist" : root;
    const std::string prefix = (fs::path(dir) / (train ? "train" : "t10k")).string();
    auto pick = [&](const std::string& stem) { return fs::exists(stem + ".gz") ? stem + ".gz" : stem; };
    d = idx_dataset(pick(prefix + "-images-idx3-ubyte"), pick(prefix + "-labels-idx1-ubyte"));
    d->num_classes = 10;
  } else {
    throw std::invalid_argument("unknown dataset '" + kind + "' (expected folder, vtab, fgvc, cifar10, cifar100, mnist, fmnist)");
  }
  if (d->size() == 0) throw std::runtime_error(root + ": the " + split + " split of this " + kind + " dataset is empty");
  if (num_classes > 0) {
    check_labels(*d, num_classes, root);
    d->num_classes = num_classes;
  } else if (kind == "vtab") {  // the one format whose class count is its largest label + 1
    check_inferred_classes(*d, root + " (" + kind + " " + split + ")");
  }
  return d;
}

SubsetDataset::SubsetDataset(std::shared_ptr<Dataset> base, std::vector<int64_t> indices, std::vector<int64_t> label_map)
    : base_(std::move(base)), indices_(std::move(indices)), map_(std::move(label_map)) {
  for (int64_t m : map_) num_classes = std::max(num_classes, m + 1);
}

std::shared_ptr<SubsetDataset> class_subset(std::shared_ptr<Dataset> base, const std::vector<int64_t>& classes,
                                            int64_t per_class) {
  std::vector<int64_t> map(size_t(std::max<int64_t>(base->num_classes, 1)), -1), taken(classes.size(), 0), indices;
  for (size_t c = 0; c < classes.size(); ++c) {
    if (classes[c] < 0 || classes[c] >= int64_t(map.size()))
      throw std::invalid_argument("class_subset: class " + std::to_string(classes[c]) + " is outside the dataset's " +
                                  std::to_string(map.size()) + " classes");
    map[size_t(classes[c])] = int64_t(c);
  }
  for (int64_t i = 0; i < base->size(); ++i) {
    const int64_t to = map[size_t(base->label(i))];
    if (to < 0 || (per_class > 0 && taken[size_t(to)] >= per_class)) continue;
    ++taken[size_t(to)];
    indices.push_back(i);
  }
  auto out = std::make_shared<SubsetDataset>(base, std::move(indices), std::move(map));
  out->num_classes = int64_t(classes.size());
  for (int64_t c : classes)
    out->class_names.push_back(size_t(c) < base->class_names.size() ? base->class_names[size_t(c)] : std::to_string(c));
  return out;
}

}  // namespace frost::data
