// arrays.cpp: the formats that arrive as one array of pixels: CIFAR-10/100 binary records
// (<label>[<coarse>]<1024 R><1024 G><1024 B>, 32x32 planes) and IDX (big-endian header, magic
// 0x00000803 + (n, h, w) for images, 0x00000801 + n for labels, then bytes), gzipped or raw.
// Pixels are kept as (N, H, W, C) bytes with C = 3 (CIFAR) or 1 (IDX, made RGB on load).
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "data/datasets.h"
#include "engine/files.h"

namespace frost::data {

namespace fs = std::filesystem;

Image ArrayDataset::load(int64_t index) const {
  if (index < 0 || index >= size() || height < 1 || width < 1)
    throw std::out_of_range(source + ": image " + std::to_string(index) + " of " + std::to_string(size()));
  const int64_t channels = int64_t(pixels.size()) / (size() * height * width);
  const uint8_t* src = pixels.data() + index * height * width * channels;
  Image img;
  img.height = height;
  img.width = width;
  img.pixels.resize(size_t(height * width * 3));
  for (int64_t i = 0; i < height * width; ++i)
    for (int64_t c = 0; c < 3; ++c) img.pixels[size_t(i * 3 + c)] = float(src[i * channels + (channels == 3 ? c : 0)]);
  return img;
}

namespace {

// The class names beside a CIFAR file, when there are any (a missing file is no error).
std::vector<std::string> read_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::error_code ec;
  if (!fs::exists(path, ec)) return lines;
  std::istringstream in(read_text_file(path.string(), uint64_t(1) << 20, "a class-name list"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

std::shared_ptr<ArrayDataset> cifar(const std::string& root, bool hundred, bool train) {
  const char* sub = hundred ? "cifar-100-binary" : "cifar-10-batches-bin";
  const fs::path dir = fs::is_directory(fs::path(root) / sub) ? fs::path(root) / sub : fs::path(root);
  std::vector<fs::path> files;
  if (hundred)
    files.push_back(dir / (train ? "train.bin" : "test.bin"));
  else if (train)
    for (int i = 1; i <= 5; ++i) files.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
  else
    files.push_back(dir / "test_batch.bin");
  const size_t record = hundred ? 3074 : 3073, label_offset = hundred ? 1 : 0;  // CIFAR-100: fine label
  const int64_t classes = hundred ? 100 : 10;
  auto d = std::make_shared<ArrayDataset>();
  d->height = d->width = 32;
  d->source = files.front().string();
  for (const fs::path& f : files) {
    const std::vector<uint8_t> bytes = read_file(f.string());
    if (bytes.empty() || bytes.size() % record)
      throw std::runtime_error(f.string() + ": " + std::to_string(bytes.size()) + " bytes is not a whole number of " +
                               std::to_string(record) + "-byte CIFAR records");
    const size_t n = bytes.size() / record, base = d->labels.size();
    d->pixels.resize((base + n) * 3072);
    for (size_t r = 0; r < n; ++r) {
      const uint8_t* rec = bytes.data() + r * record;
      if (rec[label_offset] >= classes)
        throw std::runtime_error(f.string() + ": record " + std::to_string(r) + " has label " +
                                 std::to_string(rec[label_offset]) + ", outside [0, " + std::to_string(classes) + ")");
      d->labels.push_back(rec[label_offset]);
      const uint8_t* planes = rec + record - 3072;
      uint8_t* dst = d->pixels.data() + (base + r) * 3072;
      for (int64_t i = 0; i < 1024; ++i)
        for (int64_t c = 0; c < 3; ++c) dst[i * 3 + c] = planes[c * 1024 + i];
    }
  }
  d->num_classes = classes;
  d->class_names = read_lines(dir / (hundred ? "fine_label_names.txt" : "batches.meta.txt"));
  if (int64_t(d->class_names.size()) != classes) d->class_names.clear();
  return d;
}

namespace {

uint32_t big_endian(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | uint32_t(b[at + 3]);
}

std::vector<uint8_t> read_maybe_gzipped(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  return is_gzip(bytes) ? gunzip(bytes, path) : bytes;
}

}  // namespace

std::shared_ptr<ArrayDataset> idx_dataset(const std::string& images_file, const std::string& labels_file) {
  const std::vector<uint8_t> images = read_maybe_gzipped(images_file), labels = read_maybe_gzipped(labels_file);
  if (images.size() < 16 || big_endian(images, 0) != 0x00000803)
    throw std::runtime_error(images_file + ": not an IDX image file (magic 0x00000803, unsigned bytes, 3 dims)");
  if (labels.size() < 8 || big_endian(labels, 0) != 0x00000801)
    throw std::runtime_error(labels_file + ": not an IDX label file (magic 0x00000801)");
  const uint64_t n = big_endian(images, 4), h = big_endian(images, 8), w = big_endian(images, 12);
  if (h == 0 || w == 0)
    throw std::runtime_error(images_file + ": IDX header gives images of " + std::to_string(h) + "x" + std::to_string(w) +
                             " pixels");
  // h, w < 2^32 each, so h * w cannot wrap; n * (h * w) can, and is checked.
  uint64_t pixels = 0;
  if (__builtin_mul_overflow(n, h * w, &pixels) || pixels != images.size() - 16)
    throw std::runtime_error(images_file + ": " + std::to_string(images.size()) + " bytes for " + std::to_string(n) +
                             " images of " + std::to_string(h) + "x" + std::to_string(w) +
                             " (the IDX header does not match the file's size)");
  if (big_endian(labels, 4) != n || labels.size() != 8 + n)
    throw std::runtime_error(labels_file + ": " + std::to_string(big_endian(labels, 4)) + " labels for " + std::to_string(n) +
                             " images in " + images_file);
  auto d = std::make_shared<ArrayDataset>();
  d->height = int64_t(h);
  d->width = int64_t(w);
  d->source = images_file;
  d->pixels.assign(images.begin() + 16, images.end());
  int64_t max_label = 0;
  for (size_t i = 0; i < n; ++i) {
    d->labels.push_back(labels[8 + i]);
    max_label = std::max<int64_t>(max_label, labels[8 + i]);
  }
  d->num_classes = max_label + 1;
  return d;
}

}  // namespace frost::data
