// train_state.cpp: see train_state.h.
#include "tools/train_state.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/files.h"
#include "engine/json_file.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "models/registry.h"

namespace frost::cli {

namespace fs = std::filesystem;

namespace {

const char* kFormat = "frost-train-1";
constexpr int64_t kMaxPosition = int64_t(1) << 40;  // epochs, batches and steps of any real run

Tensor f64(double v) { return Tensor::scalar(v, DType::f64); }

std::string exact(double v) {  // round-trips through strtod
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void save_train_checkpoint(const std::string& path, const models::Model& model, const Optimizer& optimizer, const TrainState& s,
                           const nlohmann::json& identity) {
  std::vector<NamedTensor> tensors;
  for (const NamedTensor& p : model.trainable_parameters()) tensors.push_back({"model." + p.name, p.tensor});
  for (const NamedTensor& t : optimizer.state_tensors()) tensors.push_back({"optim." + t.name, t.tensor});
  tensors.push_back({"state.loss_sum", f64(s.loss_sum)});
  tensors.push_back({"state.loss_count", f64(s.loss_count)});
  tensors.push_back({"state.best_top1", f64(s.best_top1)});
  const nlohmann::json position = {{"epoch", s.epoch},
                                   {"batch", s.batch},
                                   {"step", s.step},
                                   {"best_epoch", s.best_epoch},
                                   {"rng_seed", std::to_string(s.rng_seed)},
                                   {"rng_offset", std::to_string(s.rng_offset)}};
  save_safetensors(path, tensors, {{"format", kFormat}, {"identity", identity.dump()}, {"position", position.dump()}});
}

namespace {

// A JSON object stored as the metadata string `key` (identity, position), parsed strictly.
nlohmann::json metadata_object(const SafetensorsFile& file, const std::string& key) {
  auto it = file.metadata().find(key);
  if (it == file.metadata().end()) throw std::runtime_error(file.path() + ": checkpoint metadata lacks '" + key + "'");
  nlohmann::json j = parse_json(it->second, file.path() + ": metadata '" + key + "'");
  if (!j.is_object()) throw std::runtime_error(file.path() + ": metadata '" + key + "' is not a JSON object");
  return j;
}

void check_format(const SafetensorsFile& file) {
  auto it = file.metadata().find("format");
  if (it == file.metadata().end() || it->second != kFormat)
    throw std::invalid_argument(file.path() + ": not a frost training checkpoint (no format '" + kFormat + "' in its metadata)");
}

// A scalar f64 state tensor, finite and in [min, max].
double state_value(const SafetensorsFile& file, const std::string& name, double min, double max) {
  const Tensor t = file.get(name);
  if (t.numel() != 1 || !dtype_is_float(t.dtype()))
    throw std::runtime_error(file.path() + ": '" + name + "' must be one float, got " + dtype_name(t.dtype()) + " " +
                             shape_str(t.shape()));
  const double v = t.item();
  if (!std::isfinite(v) || v < min || v > max)
    throw std::runtime_error(file.path() + ": '" + name + "' is " + std::to_string(v) + ", outside [" + std::to_string(min) +
                             ", " + std::to_string(max) + "]: the checkpoint is corrupt");
  return v;
}

}  // namespace

TrainState read_train_position(const SafetensorsFile& file) {
  // The position is checked whole before it is used: a corrupt one is refused, never resumed from.
  const JsonFields position(metadata_object(file, "position"), file.path() + ": metadata 'position'");
  TrainState s;
  s.epoch = position.integer("epoch", 0, kMaxPosition);
  s.batch = position.integer("batch", 0, kMaxPosition);
  s.step = position.integer("step", 0, kMaxPosition);
  s.best_epoch = position.integer("best_epoch", -1, s.epoch - 1);
  s.rng_seed = position.decimal_u64("rng_seed");
  s.rng_offset = position.decimal_u64("rng_offset");
  s.loss_count = state_value(file, "state.loss_count", 0, 1e18);
  s.loss_sum = state_value(file, "state.loss_sum", -1e300, 1e300);
  s.best_top1 = state_value(file, "state.best_top1", -1, 100);
  if (s.batch > s.step) position.fail("batch", "is " + std::to_string(s.batch) + ", past step " + std::to_string(s.step));
  return s;
}

nlohmann::json read_checkpoint_identity(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  check_format(file);
  return metadata_object(file, "identity");
}

TrainState load_train_checkpoint(const std::string& path, models::Model& model, Optimizer* optimizer,
                                 const nlohmann::json& identity) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  check_format(file);
  nlohmann::json saved = metadata_object(file, "identity");
  if (!saved.contains("precision")) saved["precision"] = "f32";  // written before --precision existed
  for (const auto& [key, value] : identity.items())
    if (!saved.contains(key) || saved.at(key) != value)
      throw std::invalid_argument(path + ": checkpoint is for " + key + " " +
                                  (saved.contains(key) ? saved.at(key).dump() : "(none)") + ", this run has " + value.dump());
  std::vector<NamedTensor> weights, optim;
  for (const auto& e : file.entries()) {
    if (e.name.rfind("model.", 0) == 0) weights.push_back({e.name.substr(6), file.get(e.name)});
    if (e.name.rfind("optim.", 0) == 0) optim.push_back({e.name.substr(6), file.get(e.name)});
  }
  // Every trainable tensor must be there with its shape; frozen ones are not in the file.
  std::set<std::string> skip;
  for (const NamedTensor& p : model.state_dict())
    if (!p.tensor.requires_grad()) skip.insert(p.name);
  load_tensors(model, weights, path, true, skip);
  if (optimizer) optimizer->load_state_tensors(optim, path);
  return read_train_position(file);
}

namespace {

const char* kSummaryHeader = "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr";

// summary.csv's lines, the header first; a missing file has none. A line whose epoch does not
// parse is an error naming the file and line (the file is frost's own, so it was damaged).
std::vector<std::string> summary_lines(const std::string& path) {
  std::vector<std::string> lines;
  if (!fs::exists(path)) return lines;
  std::istringstream in(read_text_file(path, uint64_t(64) << 20, "a summary.csv"));
  for (std::string line; std::getline(in, line);) {
    if (lines.empty() && line != kSummaryHeader) throw std::runtime_error(path + ":1: not frost's summary.csv header");
    if (!lines.empty()) {
      char* end = nullptr;
      std::strtoll(line.c_str(), &end, 10);
      if (end == line.c_str() || *end != ',')
        throw std::runtime_error(path + ":" + std::to_string(lines.size() + 1) + ": no epoch number");
    }
    lines.push_back(line);
  }
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  write_file_atomic(path, text);
}

}  // namespace

void truncate_summary(const std::string& path, int64_t epochs_done) {
  std::vector<std::string> kept;
  for (const std::string& line : summary_lines(path))
    if (kept.empty() || std::strtoll(line.c_str(), nullptr, 10) < epochs_done) kept.push_back(line);
  if (!kept.empty()) write_lines(path, kept);
}

void append_summary(const std::string& path, int64_t epoch, double train_loss, const EvalResult* eval, double lr) {
  std::vector<std::string> lines = summary_lines(path);
  if (lines.empty()) lines.push_back(kSummaryHeader);
  std::string row = std::to_string(epoch) + "," + exact(train_loss) + ",";
  row +=
      eval ? exact(eval->loss) + "," + (eval->accuracy ? exact(eval->top1) + "," + exact(eval->top5) : std::string(",")) : ",,";
  lines.push_back(row + "," + exact(lr));
  write_lines(path, lines);  // rewritten whole: a full disk leaves the previous summary, not half a row
}

data::TransformOptions transform_for(const TrainOptions& o, const models::Model& model, bool train,
                                     const models::PretrainedConfig& pre) {
  data::TransformOptions t;
  t.size = model.img_h > 0 ? model.img_h : (o.img_size > 0 ? o.img_size : 224);
  t.crop_pct = o.crop_pct > 0 ? o.crop_pct : pre.crop_pct;
  t.direct_resize = o.direct_resize;
  const std::string crop_mode = o.crop_mode.empty() ? pre.crop_mode : o.crop_mode;
  if (crop_mode != "center" && crop_mode != "squash")
    throw std::invalid_argument("--crop-mode must be center or squash, got '" + crop_mode + "'");
  t.squash = crop_mode == "squash";
  t.interpolation = data::parse_interpolation(o.interpolation.empty() ? pre.interpolation : o.interpolation);
  t.mean = pre.mean;
  t.std = pre.std;
  for (size_t c = 0; c < 3 && o.mean.size() == 3; ++c) t.mean[c] = float(o.mean[c]);
  for (size_t c = 0; c < 3 && o.std.size() == 3; ++c) t.std[c] = float(o.std[c]);
  t.train_augment = train && o.augment;
  t.scale = o.scale;
  t.ratio = o.ratio;
  t.hflip = o.hflip;
  return t;
}

nlohmann::json pretrained_json(const models::PretrainedConfig& pre) {
  return {{"mean", pre.mean},
          {"std", pre.std},
          {"crop_pct", pre.crop_pct},
          {"crop_mode", pre.crop_mode},
          {"interpolation", pre.interpolation}};
}

models::PretrainedConfig pretrained_from_json(const nlohmann::json& j, const std::string& origin) {
  const JsonFields f(j, origin);
  models::PretrainedConfig pre;
  for (const char* key : {"mean", "std"}) {
    const nlohmann::json& v = f.at(key);
    if (!v.is_array() || v.size() != 3) f.fail(key, "must be a list of 3 numbers");
    for (size_t c = 0; c < 3; ++c) {
      if (!v[c].is_number()) f.fail(key, "must be a list of 3 numbers");
      (std::string(key) == "mean" ? pre.mean : pre.std)[c] = v[c].get<float>();
    }
  }
  pre.crop_pct = f.number("crop_pct", 0.01, 1.0);
  pre.crop_mode = f.string("crop_mode");
  pre.interpolation = f.string("interpolation");
  return pre;
}

Tensor batch_images(const data::Batch& b, Device device) {
  // For a GPU the batch is staged in pinned memory, so the copy runs at full bus speed.
  Tensor images =
      device.is_cpu() ? Tensor::empty({b.size, 3, b.height, b.width}) : Tensor::empty_pinned({b.size, 3, b.height, b.width});
  std::memcpy(images.raw_data(), b.images.data(), b.images.size() * sizeof(float));
  return images.to(device);
}

Tensor batch_labels(const data::Batch& b, Device device) { return Tensor::from_indices(b.labels, device); }

PrefetchedBatches::PrefetchedBatches(data::DataLoader& loader, Device device) : loader_(loader), uploader_(device) { advance(); }

bool PrefetchedBatches::next(data::Batch& b, Tensor& images, Tensor& labels) {
  if (!have_) return false;
  b = std::move(batch_);
  PendingUpload up_images = std::move(images_), up_labels = std::move(labels_);
  advance();
  if (b.size > 0) {
    images = up_images.take();
    labels = up_labels.take();
  }
  return true;
}

void PrefetchedBatches::advance() {
  have_ = loader_.next(batch_);
  if (!have_ || batch_.size == 0) return;
  images_ = uploader_.stage(batch_.images.data(), {batch_.size, 3, batch_.height, batch_.width}, DType::f32);
  labels_ = uploader_.stage(batch_.labels.data(), {batch_.size}, DType::i64);
}

// Every batch of `dataset` in order (eval transform, no gradients) on `device`; counts the images
// read and skipped into r.
void for_each_eval_batch(Device device, const data::Dataset& dataset, const data::TransformOptions& transform, int64_t batch_size,
                         int workers, bool strict, EvalResult& r,
                         const std::function<void(const Tensor& images, const Tensor& labels, const data::Batch& b)>& fn) {
  data::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.workers = workers;
  lo.strict = strict;
  data::DataLoader loader(std::shared_ptr<const data::Dataset>(&dataset, [](const data::Dataset*) {}), transform, lo);
  loader.start(0);
  NoGradGuard no_grad;
  PrefetchedBatches batches(loader, device);
  data::Batch b;
  for (Tensor images, labels; batches.next(b, images, labels);) {
    r.skipped += int64_t(b.skipped.size());
    r.skipped_files.insert(r.skipped_files.end(), b.skipped.begin(), b.skipped.end());
    if (b.size == 0) continue;
    fn(images, labels, b);
    r.images += b.size;
  }
  if (r.images == 0)
    throw std::runtime_error("no image could be read (" + std::to_string(r.skipped) + " unreadable" +
                             (r.skipped_files.empty() ? std::string(")") : ", the first: " + r.skipped_files[0] + ")"));
}

EvalResult evaluate_mae(const models::VisionTransformer& encoder, const models::MaeDecoder& decoder, const data::Dataset& dataset,
                        const data::TransformOptions& transform, int64_t batch_size, int workers, bool strict, uint64_t seed) {
  EvalResult r;
  r.accuracy = false;
  Generator gen(seed);  // the same masks at every evaluation
  double loss_sum = 0;
  for_each_eval_batch(encoder.device(), dataset, transform, batch_size, workers, strict, r,
                      [&](const Tensor& images, const Tensor&, const data::Batch& b) {
                        loss_sum += models::mae_forward(encoder, decoder, images, gen).loss.item() * double(b.size);
                      });
  r.loss = loss_sum / double(r.images);
  return r;
}

EvalResult evaluate(const models::Model& model, const data::Dataset& dataset, const data::TransformOptions& transform,
                    int64_t batch_size, int workers, bool strict) {
  EvalResult r;
  const int64_t K = dataset.num_classes;
  std::vector<double> correct(size_t(K), 0), seen(size_t(K), 0);
  double loss_sum = 0, top1 = 0, top5 = 0;
  for_each_eval_batch(model.device(), dataset, transform, batch_size, workers, strict, r,
                      [&](const Tensor& images, const Tensor& labels, const data::Batch& b) {
                        const Tensor logits = model.forward(images);
                        loss_sum += cross_entropy(logits, labels).item() * double(b.size);
                        const std::vector<double> values = logits.to_doubles();
                        const int64_t classes = logits.size(1);
                        for (int64_t i = 0; i < b.size; ++i) {
                          const double* row = values.data() + i * classes;
                          const int64_t target = b.labels[size_t(i)];
                          int64_t rank = 0;  // how many classes score above the target (ties count against it)
                          for (int64_t c = 0; c < classes; ++c)
                            rank += c != target && (row[c] > row[target] || (row[c] == row[target] && c < target));
                          top1 += rank == 0;
                          top5 += rank < 5;
                          if (target < K) {
                            seen[size_t(target)] += 1;
                            correct[size_t(target)] += rank == 0;
                          }
                        }
                      });
  r.loss = loss_sum / double(r.images);
  r.top1 = 100.0 * top1 / double(r.images);
  r.top5 = 100.0 * top5 / double(r.images);
  for (int64_t c = 0; c < K; ++c)
    r.per_class.push_back(seen[size_t(c)] > 0 ? 100.0 * correct[size_t(c)] / seen[size_t(c)]
                                              : std::numeric_limits<double>::quiet_NaN());
  return r;
}

}  // namespace frost::cli
