// inference.h: a trained model made ready to run on images, shared by `frost eval` and `frost
// predict`: from a training checkpoint (RUN/best.ckpt, with the run's args.json beside it for the
// base weights, the eval preprocessing and the class names), or from a timm name or hub folder with
// weights and an optional adapter (a merged checkpoint is plain weights). Then moved to --device
// and cast to --precision, in eval mode.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/transforms.h"
#include "models/model.h"
#include "tools/cli.h"

namespace frost::cli {

// --checkpoint, --model, --model-args, --weights, --adapter, --device, --precision, --batch-size,
// --workers and the preprocessing flags.
std::vector<FlagSpec> inference_flags();

struct InferenceModel {
  std::shared_ptr<models::Model> model;
  std::string architecture;
  data::TransformOptions transform;      // the eval pipeline: the run's, flags over it
  std::vector<std::string> class_names;  // the run's (args.json), a hub folder's label_names, or empty
  std::vector<std::string> notes;        // what was taken from where, for stderr
};
InferenceModel load_for_inference(const Flags& flags);

}  // namespace frost::cli

namespace frost::cli {

// The image files that `inputs` name: files as given, folders searched recursively for
// .jpg/.jpeg/.png/.bmp/.ppm/.pgm (sorted); a path that does not exist throws naming it.
std::vector<std::string> image_paths(const std::vector<std::string>& inputs);

struct Prediction {
  std::string path;
  std::vector<int64_t> classes;  // the top-k classes, most probable first
  std::vector<double> probs;     // their softmax probabilities
};
struct PredictResult {
  std::vector<Prediction> predictions;  // in the order of the paths, unreadable ones left out
  std::vector<std::string> skipped;     // "<file>: <why>"
};
// The model's top-k classes of each image, decoded and preprocessed by `m.transform`; throws
// when no image could be read.
PredictResult predict_images(const InferenceModel& m, const std::vector<std::string>& paths, int64_t topk, int64_t batch_size,
                             int workers);

}  // namespace frost::cli
