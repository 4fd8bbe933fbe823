// model.cpp: the hook plumbing of Block and the shared parts of Model.
#include "models/model.h"

#include "engine/layers.h"
#include "models/transformer.h"

#include <stdexcept>

namespace frost::models {

const char* branch_name(Branch branch) { return branch == Branch::attention ? "attention" : "mlp"; }

void Block::wrap_branch(Branch branch, const std::string& name, std::shared_ptr<BranchHook> hook) {
  if (!has_branch(branch)) throw std::invalid_argument(kind() + " blocks have no " + branch_name(branch) + " branch");
  register_module(name, hook);
  (branch == Branch::attention ? attention_hooks_ : mlp_hooks_).push_back(std::move(hook));
}

void Block::add_token_hook(const std::string& name, std::shared_ptr<TokenHook> hook) {
  register_module(name, hook);
  token_hooks_.push_back(std::move(hook));
}

Tensor Block::run_branch(Branch branch, const Tensor& x, const BranchFn& base) const {
  const auto& hooks = branch == Branch::attention ? attention_hooks_ : mlp_hooks_;
  if (hooks.empty()) return base(x);
  BranchFn f = base;
  for (const auto& hook : hooks) f = [hook, inner = std::move(f)](const Tensor& in) { return hook->forward(in, inner); };
  return f(x);
}

Tensor Block::apply_token_hooks(const Tensor& x) const {
  Tensor y = x;
  for (const auto& hook : token_hooks_) y = hook->forward(y);
  return y;
}

const Tensor& Block::run_taps(const Tensor& y) const {
  for (const BlockTap& tap : taps_) tap(y);
  return y;
}

Tensor Block::drop_path(const Tensor& branch_output) const {
  if (!is_training() || drop_path_rate <= 0.0) return branch_output;
  return frost::drop_path(branch_output, drop_path_rate, true, *rng);
}

void Model::check_input(const Tensor& images) const {
  const bool fixed = img_h > 0;
  const bool ok = images.dim() == 4 && images.size(1) == in_chans &&
                  (fixed ? images.size(2) == img_h && images.size(3) == img_w
                         : images.size(2) >= min_img_size && images.size(3) >= min_img_size);
  if (ok) return;
  const std::string c = std::to_string(in_chans);
  throw std::invalid_argument(architecture + ": input " + shape_str(images.shape()) + " does not match " +
                              (fixed ? "(B, " + c + ", " + std::to_string(img_h) + ", " + std::to_string(img_w) + ")"
                                     : "(B, " + c + ", H, W) with H, W >= " + std::to_string(min_img_size)));
}

Tensor Model::forward(const Tensor& images_in) const {
  check_input(images_in);
  // bf16: cast on entry; f32: the images' own dtype (f64 models run f64 images for gradient checks)
  const Tensor images = compute_dtype == DType::bf16 ? cast_to(images_in, compute_dtype) : images_in;
  if (forward_override_) return forward_override_->forward(*this, images);
  return forward_head(forward_features(images));
}

int64_t Model::set_precision(DType dtype) {
  if (dtype != DType::f32 && dtype != DType::bf16)
    throw std::invalid_argument(architecture + ": precision must be f32 or bf16, got " + dtype_name(dtype));
  if (dtype == DType::f32) {
    if (compute_dtype != DType::f32)
      throw std::invalid_argument(architecture + ": a model set to bf16 cannot go back to f32 (its frozen weights were rounded)");
    return 0;
  }
  compute_dtype = dtype;
  return convert_frozen_parameters(dtype);
}

void Model::set_forward_override(const std::string& name, std::shared_ptr<ForwardOverride> hook) {
  if (forward_override_) throw std::invalid_argument(architecture + ": a forward override is already set");
  register_module(name, hook);
  forward_override_ = std::move(hook);
}

std::vector<std::pair<std::string, std::shared_ptr<Block>>> Model::all_blocks() const {
  std::vector<std::pair<std::string, std::shared_ptr<Block>>> out;
  for (const auto& [path, module] : named_modules())
    if (auto block = std::dynamic_pointer_cast<Block>(module)) out.emplace_back(path, block);
  return out;
}

void Model::add_classifier(const std::string& path, uint64_t seed) {
  classifier = path;
  if (num_classes == 0) return;
  head = std::make_shared<Linear>(num_features, num_classes, true, seed);
  register_slot(path, head);
}

std::shared_ptr<Layer> Model::add_extra_classifier(const std::string& path, uint64_t seed) {
  extra_classifiers.push_back(path);
  if (num_classes == 0) return nullptr;
  auto layer = std::make_shared<Linear>(num_features, num_classes, true, seed);
  register_slot(path, layer);
  return layer;
}

std::vector<std::string> Model::classifier_paths() const {
  std::vector<std::string> out = {classifier};
  out.insert(out.end(), extra_classifiers.begin(), extra_classifiers.end());
  return out;
}

Tensor Model::classify(const Tensor& pooled) const {
  const Tensor x = is_training() && head_drop_rate > 0 ? dropout(pooled, head_drop_rate, true, *rng) : pooled;
  return head ? head->forward(x) : x;
}

void Model::finish_construction(Generator& gen, bool init_convs) {
  init_timm_weights(*this, 0.02, gen, init_convs);
  for (auto& [path, block] : all_blocks()) block->rng = rng;
}

std::vector<double> drop_path_schedule(double rate, int64_t blocks) {
  std::vector<double> out(size_t(blocks), 0.0);
  for (int64_t i = 0; i < blocks && blocks > 1; ++i) out[size_t(i)] = rate * double(i) / double(blocks - 1);
  return out;
}

}  // namespace frost::models
