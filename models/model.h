// model.h: what every backbone (ViT, Swin, ConvNeXt) offers the rest of frost, and the hook
// points PEFT methods attach to.
//
// A Model is a Module tree whose parameter names are timm's state_dict keys. Its blocks derive
// from Block, which gives every method the same four places to work without the model knowing:
//   - branches: a block is x + attention_branch(x) + mlp_branch(x) (ConvNeXt: one branch,
//     dwconv -> norm -> mlp, called `mlp`). A BranchHook wraps a branch: it receives the branch
//     input (the block's residual stream) and the branch itself, and returns what is added back;
//     so it can add a path parallel to the branch or transform its output.
//   - tokens: TokenHooks edit the tensor entering the block (ViT (B, N, C), Swin (B, H, W, C),
//     ConvNeXt (B, C, H, W)), e.g. to insert or replace prompt tokens.
//   - taps: read-only callbacks that see each block's output (side networks).
//   - inside attention (models/transformer.h): extra key/value rows (prefixes), and every Linear,
//     Conv2d and LayerNorm is a slot that Module::replace swaps by its timm name.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/module.h"
#include "engine/ops.h"

namespace frost::models {

using BranchFn = std::function<Tensor(const Tensor&)>;

class BranchHook : public Module {
 public:
  // x: the branch input; base: the branch (possibly already wrapped by earlier hooks).
  virtual Tensor forward(const Tensor& x, const BranchFn& base) const = 0;
};

class TokenHook : public Module {
 public:
  virtual Tensor forward(const Tensor& tokens) const = 0;  // may change the token count (ViT)
};

using BlockTap = std::function<void(const Tensor& block_output)>;

class Model;
// Takes over Model::forward (after the input check): side networks run the backbone their own way.
class ForwardOverride : public Module {
 public:
  virtual Tensor forward(const Model& model, const Tensor& images) const = 0;
};

enum class Branch { attention, mlp };
const char* branch_name(Branch branch);

class Block : public Module {
 public:
  virtual Tensor forward(const Tensor& x) const = 0;
  virtual bool has_branch(Branch) const { return true; }
  // Registers `hook` as the child `name` (its parameters appear as <block>.<name>.*) and makes it
  // wrap `branch`; hooks apply in the order added, each wrapping the previous.
  void wrap_branch(Branch branch, const std::string& name, std::shared_ptr<BranchHook> hook);
  void add_token_hook(const std::string& name, std::shared_ptr<TokenHook> hook);
  void add_tap(BlockTap tap) { taps_.push_back(std::move(tap)); }

 protected:
  Tensor run_branch(Branch branch, const Tensor& x, const BranchFn& base) const;
  // A block's forward starts with apply_token_hooks(input) and ends with run_taps(output).
  Tensor apply_token_hooks(const Tensor& x) const;
  const Tensor& run_taps(const Tensor& y) const;
  // Stochastic depth for this block's branches (active only in training mode).
  Tensor drop_path(const Tensor& branch_output) const;

 public:
  int64_t width = 0;  // C, the channels of the block's residual stream (what its hooks see)
  double drop_path_rate = 0.0;
  std::shared_ptr<Generator> rng;  // shared with the model

 private:
  std::vector<std::shared_ptr<BranchHook>> attention_hooks_, mlp_hooks_;
  std::vector<std::shared_ptr<TokenHook>> token_hooks_;
  std::vector<BlockTap> taps_;
};

class Model : public Module {
 public:
  std::string architecture;  // timm's name, e.g. "vit_base_patch16_224"
  int64_t in_chans = 3, num_classes = 0, num_features = 0;
  int64_t img_h = 0, img_w = 0;  // the input size the model requires; 0: any size >= min_img_size
  int64_t min_img_size = 1;
  std::string classifier;                      // the head module's path ("head", "head.fc"), also when num_classes == 0 (no head)
  std::shared_ptr<Layer> head;                 // Linear(num_features, num_classes); null when num_classes == 0
  std::vector<std::string> extra_classifiers;  // further heads trained and re-initialised with it (DeiT's head_dist)
  double head_drop_rate = 0.0;                 // timm's drop_rate: dropout before the head
  std::shared_ptr<Generator> rng = std::make_shared<Generator>(0);  // dropout and drop-path stream
  // The dtype forward() runs in: f32, or bf16 under mixed precision (set_precision).
  DType compute_dtype = DType::f32;

  // Throws naming the expected and the given shape when `images` does not fit the model.
  void check_input(const Tensor& images) const;
  virtual Tensor forward_features(const Tensor& images) const = 0;  // before pooling
  virtual Tensor forward_head(const Tensor& features) const = 0;    // pooling, norm, head
  Tensor forward(const Tensor& images) const;                       // (B, C, H, W) -> (B, K)
  // Every classifier path: `classifier` first, then extra_classifiers.
  std::vector<std::string> classifier_paths() const;
  // Mixed precision. bf16: frozen parameters are stored in bf16 (Module::convert_frozen_parameters),
  // images are cast to bf16 on entry, activations stay bf16 and logits come out in bf16; trainable
  // parameters stay f32. Call after the PEFT methods have decided what trains. f32: nothing to do
  // (a model cannot go back from bf16). Returns the parameter bytes freed.
  int64_t set_precision(DType dtype);

  // Registers `hook` as the child `name`; from then on forward() calls hook->forward(*this, images).
  void set_forward_override(const std::string& name, std::shared_ptr<ForwardOverride> hook);
  // Every Block in forward order with its path ("blocks.3", "layers.1.blocks.0", ...).
  std::vector<std::pair<std::string, std::shared_ptr<Block>>> all_blocks() const;
  // Renames the keys of an older layout of this architecture to the current one, as timm's
  // checkpoint_filter_fn does (Swin: downsample at the end of stages, `head.`; ConvNeXt: Facebook's
  // original names). `keys` are all the checkpoint's keys; returns how many were renamed.
  virtual int64_t remap_checkpoint_keys(std::vector<std::string>& keys) const {
    (void)keys;
    return 0;
  }
  // Keys a checkpoint may carry that this model deliberately ignores (non-persistent buffers).
  virtual bool ignores_checkpoint_key(const std::string&) const { return false; }
  // Fits a checkpoint tensor to this model when timm would (ViT pos_embed resampling); returns
  // it unchanged otherwise.
  virtual Tensor adapt_checkpoint_tensor(const std::string&, const Tensor& value) const { return value; }

 protected:
  // Registers the classifier at `path`: Linear(num_features, num_classes), none for 0 classes.
  void add_classifier(const std::string& path, uint64_t seed);
  // A further head beside the classifier (same shape), registered at `path`; null for 0 classes.
  std::shared_ptr<Layer> add_extra_classifier(const std::string& path, uint64_t seed);
  // Dropout (training only) and the head on pooled features (B, num_features).
  Tensor classify(const Tensor& pooled) const;
  // `extra` (an extra classifier, or nothing for 0 classes: the features) without dropout.
  static Tensor classify(const Tensor& pooled, const std::shared_ptr<Layer>& extra) {
    return extra ? extra->forward(pooled) : pooled;
  }
  // The end of every constructor: timm's weight init (models/transformer.h) and the blocks' rng.
  void finish_construction(Generator& gen, bool init_convs);

 private:
  std::shared_ptr<ForwardOverride> forward_override_;
};

// timm's linear drop-path schedule: rate * i / (n - 1) for block i of n.
std::vector<double> drop_path_schedule(double rate, int64_t blocks);

}  // namespace frost::models
