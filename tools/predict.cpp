// predict.cpp: `frost predict IMAGE|FOLDER... (--checkpoint RUN/best.ckpt | --model NAME|DIR
// --weights FILE [--adapter DIR]) [--topk K] [--csv FILE] [--classes FILE]`: the model's top-k
// classes and probabilities of each image, with the run's eval preprocessing. Prints
// "path  class  prob" lines (then class_2 prob_2 ... up to K); --csv writes them with the header
// path,class,prob,class_2,prob_2,... Unreadable images are reported and skipped; the exit status
// is non-zero only when none could be read.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <stdexcept>

#include "data/datasets.h"
#include "engine/files.h"
#include "tools/inference.h"
#include "tools/train_state.h"

namespace frost::cli {

namespace fs = std::filesystem;

const CommandSpec& predict_spec() {
  static const CommandSpec spec = {
      "frost predict",
      "classify image files and folders with a trained model: the top-k classes and their probabilities",
      "IMAGE|FOLDER...",
      with_flags(inference_flags(),
                 {{"topk", "K", "1", "classes printed per image, most probable first"},
                  {"classes", "FILE", "", "class names, one per line (default: the run's, or the hub folder's label_names)"},
                  {"csv", "FILE", "", "also write path,class,prob[,class_2,prob_2...] there"}}),
      {"frost predict --checkpoint output/train/RUN/best.ckpt photos/ cat.jpg",
       "frost predict --checkpoint RUN/best.ckpt --topk 3 --csv predictions.csv photos/",
       "frost predict --model HUBDIR --adapter RUN/adapter --classes classes.txt img.png"}};
  return spec;
}

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char* e : {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm"})
    if (ext == e) return true;
  return false;
}

// A CSV field, quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> read_class_names(const std::string& file) {
  const std::string text = read_text_file(file, 64u << 20, "a class-name list, one per line (--classes)");
  std::vector<std::string> names;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    names.push_back(line);
    start = end + 1;
  }
  while (!names.empty() && names.back().empty()) names.pop_back();
  return names;
}

}  // namespace

std::vector<std::string> image_paths(const std::vector<std::string>& inputs) {
  std::vector<std::string> paths;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec))
        if (entry.is_regular_file() && is_image(entry.path())) found.push_back(entry.path().string());
      if (ec) throw std::runtime_error(in + ": cannot list the folder (" + ec.message() + ")");
      std::sort(found.begin(), found.end());
      paths.insert(paths.end(), found.begin(), found.end());
    } else if (fs::exists(in, ec)) {
      paths.push_back(in);  // a file named explicitly is tried whatever its extension
    } else {
      throw std::invalid_argument(in + ": no such file or folder");
    }
  }
  return paths;
}

PredictResult predict_images(const InferenceModel& m, const std::vector<std::string>& paths, int64_t topk, int64_t batch_size,
                             int workers) {
  data::FileDataset images;
  images.paths = paths;
  images.labels.assign(paths.size(), 0);
  images.num_classes = m.model->num_classes;
  const int64_t k = std::min(topk, m.model->num_classes);
  PredictResult out;
  EvalResult counts;
  for_each_eval_batch(m.model->device(), images, m.transform, batch_size, workers, false, counts,
                      [&](const Tensor& x, const Tensor&, const data::Batch& b) {
                        const std::vector<double> logits = m.model->forward(x).to_doubles();
                        const int64_t classes = int64_t(logits.size()) / b.size;
                        for (int64_t i = 0; i < b.size; ++i) {
                          const double* row = logits.data() + i * classes;
                          const double top = *std::max_element(row, row + classes);
                          double sum = 0;
                          for (int64_t c = 0; c < classes; ++c) sum += std::exp(row[c] - top);
                          std::vector<int64_t> order(static_cast<size_t>(classes));
                          std::iota(order.begin(), order.end(), 0);
                          // most probable first; ties to the lower class, as evaluation's top-1 counts them
                          std::partial_sort(order.begin(), order.begin() + k, order.end(),
                                            [&](int64_t a, int64_t c) { return row[a] > row[c] || (row[a] == row[c] && a < c); });
                          Prediction p;
                          p.path = paths[size_t(b.samples[size_t(i)])];
                          for (int64_t j = 0; j < k; ++j) {
                            p.classes.push_back(order[size_t(j)]);
                            p.probs.push_back(std::exp(row[order[size_t(j)]] - top) / sum);
                          }
                          out.predictions.push_back(std::move(p));
                        }
                      });
  out.skipped = counts.skipped_files;
  return out;
}

int run_predict_command(const std::vector<std::string>& args) {
  const std::string cmd = "frost predict";
  const Flags f(predict_spec(), args);
  if (f.positional().empty()) throw UsageError(cmd + ": name at least one image file or folder", usage_text(predict_spec()));
  const int64_t topk = f.get_int("topk");
  const std::vector<std::string> paths = image_paths(f.positional());
  if (paths.empty()) throw std::invalid_argument(cmd + ": no image files (.jpg .jpeg .png .bmp .ppm .pgm) in the folders named");
  InferenceModel m = load_for_inference(f);
  for (const std::string& note : m.notes) std::fprintf(stderr, "%s: %s\n", cmd.c_str(), note.c_str());
  if (f.has("classes")) m.class_names = read_class_names(f.get("classes"));
  const int64_t classes = m.model->num_classes;
  if (!m.class_names.empty() && int64_t(m.class_names.size()) != classes)
    throw std::invalid_argument((f.has("classes") ? f.get("classes") : std::string("the run's class names")) + ": " +
                                std::to_string(m.class_names.size()) + " class names for a model of " + std::to_string(classes) +
                                " classes");
  auto name = [&](int64_t c) { return m.class_names.empty() ? std::to_string(c) : m.class_names[size_t(c)]; };
  const PredictResult r = predict_images(m, paths, topk, f.get_int("batch-size"), int(f.get_int("workers", 0)));
  for (const std::string& s : r.skipped) std::fprintf(stderr, "%s: skipped %s\n", cmd.c_str(), s.c_str());
  std::string csv = "path,class,prob";
  for (int64_t j = 2; j <= std::min(topk, classes); ++j) csv += ",class_" + std::to_string(j) + ",prob_" + std::to_string(j);
  csv += "\n";
  for (const Prediction& p : r.predictions) {
    std::printf("%s", p.path.c_str());
    csv += csv_field(p.path);
    for (size_t j = 0; j < p.classes.size(); ++j) {
      std::printf("  %s  %.4f", name(p.classes[j]).c_str(), p.probs[j]);
      char prob[32];
      std::snprintf(prob, sizeof prob, "%.6f", p.probs[j]);
      csv += ',';
      csv += csv_field(name(p.classes[j]));
      csv += ',';
      csv += prob;
    }
    std::printf("\n");
    csv += "\n";
  }
  if (f.has("csv")) write_file_atomic(f.get("csv"), csv);
  if (!r.skipped.empty())
    std::fprintf(stderr, "%s: %zu of %zu images predicted, %zu unreadable skipped\n", cmd.c_str(), r.predictions.size(),
                 paths.size(), r.skipped.size());
  return 0;
}

}  // namespace frost::cli
