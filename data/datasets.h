// datasets.h: the dataset formats frost reads. A Dataset is indexable: size(), and load(i) gives
// the decoded image and its label; file-backed formats decode on demand (in the loader's worker
// threads), array formats (CIFAR, IDX) hold their pixels in memory.
//   folder  ImageFolder: <root>/<split>/<class>/**/<image>, classes = sorted subfolder names; a
//           root with no split folder is itself an evaluation split (<root>/<class>/<image>)
//   vtab    NOAH's VTAB-1k: <root>/<split>.txt, lines "<path relative to root> <label>"
//   fgvc    VPT's FGVC splits: <root>/<split>.json, {"<path>": class id}; ids remapped to
//           0..K-1 in sorted order of train.json's ids; images under images/ or Images/ if present
//   cifar10 / cifar100  the binary versions (cifar-10-batches-bin, cifar-100-binary; fine labels)
//   mnist / fmnist      IDX files, gzipped or raw (<prefix>-images-idx3-ubyte[.gz] + labels)
// Every error names the file, and the line or key for list formats.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"

namespace frost::data {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Image load(int64_t index) const = 0;  // throws naming the file when it cannot be read
  virtual int64_t label(int64_t index) const = 0;
  virtual std::string describe(int64_t index) const = 0;  // a path, or "<file>[i]"
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  // when the format has them
};

// Image files with labels (folder, vtab, fgvc).
class FileDataset : public Dataset {
 public:
  int64_t size() const override { return int64_t(paths.size()); }
  Image load(int64_t index) const override { return load_image(paths[size_t(index)]); }
  int64_t label(int64_t index) const override { return labels[size_t(index)]; }
  std::string describe(int64_t index) const override { return paths[size_t(index)]; }
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
};

// Decoded pixels in memory (cifar, idx): (N, H, W, 3) bytes.
class ArrayDataset : public Dataset {
 public:
  int64_t size() const override { return int64_t(labels.size()); }
  Image load(int64_t index) const override;
  int64_t label(int64_t index) const override { return labels[size_t(index)]; }
  std::string describe(int64_t index) const override { return source + "[" + std::to_string(index) + "]"; }
  int64_t height = 0, width = 0;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  std::string source;
};

std::shared_ptr<FileDataset> image_folder(const std::string& root);
std::shared_ptr<FileDataset> vtab_split(const std::string& task_dir, const std::string& split);
std::shared_ptr<FileDataset> fgvc_split(const std::string& root, const std::string& split);
std::shared_ptr<ArrayDataset> cifar(const std::string& root, bool hundred, bool train);
std::shared_ptr<ArrayDataset> idx_dataset(const std::string& images_file, const std::string& labels_file);

// A view of `base` restricted to `indices`, with labels renamed through `label_map` (base label
// -> new label). Transfer experiments carve tasks out of one dataset this way.
class SubsetDataset : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<Dataset> base, std::vector<int64_t> indices, std::vector<int64_t> label_map);
  int64_t size() const override { return int64_t(indices_.size()); }
  Image load(int64_t index) const override { return base_->load(indices_[size_t(index)]); }
  int64_t label(int64_t index) const override { return map_[size_t(base_->label(indices_[size_t(index)]))]; }
  std::string describe(int64_t index) const override { return base_->describe(indices_[size_t(index)]); }

 private:
  std::shared_ptr<Dataset> base_;
  std::vector<int64_t> indices_, map_;
};
// The images of `classes` (relabelled 0..k-1 in that order), at most `per_class` of each (0: all),
// the first ones in the base's order.
std::shared_ptr<SubsetDataset> class_subset(std::shared_ptr<Dataset> base, const std::vector<int64_t>& classes,
                                            int64_t per_class = 0);

// By name ("folder", "vtab", "fgvc", "cifar10", "cifar100", "mnist", "fmnist") and split; for
// folder, `root/split` when that directory exists (timm's layout), else root/<split aliases>.
// num_classes > 0 checks every label against it; 0 takes the format's own count, refused when most
// classes it implies have no image or there are more than kMaxInferredClasses.
constexpr int64_t kMaxInferredClasses = 100'000;
std::shared_ptr<Dataset> open_dataset(const std::string& kind, const std::string& root, const std::string& split,
                                      int64_t num_classes = 0);

}  // namespace frost::data
