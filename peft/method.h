// method.h: what a PEFT method is to frost. Each method lives in its own file as one function
// `apply_<name>(MethodContext&, Options&)` that reads its options, builds its small modules on the
// backbone's hook points (models/model.h) and registers them; new parameters are trainable, the
// backbone was frozen before, and the engine's autograd does all gradient work. The table in
// methods.cpp names every method with its family, whether it merges into the base weights (and
// why not), and the order in which a combination applies them (layer wrappers first).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "peft/options.h"

namespace frost::peft {

enum class Backbone { vit, swin, convnext };
Backbone backbone_of(const models::Model& model);
const char* backbone_name(Backbone b);

// What a method keeps of its application for its hooks (LoRA: its config and factors; sparse:
// k and the calibration batches). A method without hooks keeps nothing.
struct MethodState {
  virtual ~MethodState() = default;
};

// A method's own adapter folder layout (LoRA and DoRA: HF peft's), written when a spec is that
// method alone and read wherever its marker file is; every other spec uses frost's (spec.h).
struct FolderLayout {
  const char* name;    // for messages: "HF peft"
  const char* marker;  // the file that identifies the layout, e.g. "adapter_config.json"
  void (*save)(const std::string& dir, const MethodState& state);
  // Applies the folder's config to the model and fills its tensors (checked before any is
  // written); returns the spec it amounts to and the method's state.
  std::pair<MethodSpec, std::shared_ptr<MethodState>> (*load)(models::Model& model, const std::string& dir);
  // The name a trainable model tensor has in the folder.
  std::string (*key)(const MethodState& state, const std::string& model_key);
};

// Before training, a method may look at data (sparse: GPS's gradient-picked masks):
// accumulate(b) runs one forward and backward of batch b.
using Accumulate = std::function<void(int64_t batch)>;
using Calibrate = void (*)(Module& model, const MethodState& state, const Accumulate& accumulate);

struct MethodContext {
  models::Model& model;
  Backbone backbone;
  uint64_t seed;
  std::string method;
  std::vector<std::pair<std::string, std::shared_ptr<models::Block>>> blocks;  // forward order
  std::shared_ptr<MethodState> state;                                          // what the method's hooks will need, if it has any

  MethodContext(models::Model& m, const std::string& name, uint64_t s);
  uint64_t next_seed() { return seed += 7919; }
  // Throws "--peft NAME: not available on ARCH: why".
  [[noreturn]] void refuse(const std::string& why) const;
  int64_t block_dim(size_t block) const;  // the block's channel width
  // The block index a module path lies in, or -1.
  int64_t block_of(const std::string& path) const;
};

// Where a method (or one of its examples) applies: a set of backbones.
enum BackboneSet : unsigned { kViT = 1, kSwin = 2, kConvNeXt = 4, kAllBackbones = 7 };
bool on(unsigned set, Backbone b);

// A spec at small sizes that the generic tests run on each backbone of `on` (tiny models).
struct MethodExample {
  const char* spec;
  unsigned on;
  bool identity;  // the published init leaves the model's output unchanged
};
// A spec at published sizes and its closed-form PEFT-only parameter count on
// vit_base_patch16_224 (1000 classes): `frost params`, the README's counts, bench/peft_memory.sh.
struct SizedSpec {
  const char* spec;
  int64_t vit_base_params;
};

// One row of the method table (method_table.cpp): what the spec parser, `frost methods`, the
// README's tables and every "for each method" test know of a method.
struct MethodInfo {
  const char* name;
  const char* family;  // specification | reparameter | addition
  void (*apply)(MethodContext&, Options&);
  int order;                 // combinations apply in ascending order (layer wrappers first)
  const char* keys;          // its option keys with their defaults (Markdown)
  const char* where;         // what it trains or adds, where (Markdown)
  unsigned on;               // the backbones it applies to; elsewhere it refuses
  const char* why_not = "";  // why it cannot be merged into the base weights ("": it can)
  const char* alone = "";    // why it cannot be combined with other methods ("": it can)
  // The tensors (a name substring) whose gradient is the true one when the method detaches part
  // of its graph by design (DoRA's weight norm); "": every trainable tensor's.
  const char* exact_grad_only = "";
  std::vector<MethodExample> examples;  // at least one for each backbone in `on`
  std::vector<SizedSpec> sized;         // at least one
  // Optional hooks: a folder layout of its own, a look at data before training.
  const FolderLayout* layout = nullptr;
  Calibrate calibrate = nullptr;
  bool mergeable() const { return *why_not == 0; }
  bool combines() const { return *alone == 0; }
};

// The plain Linear layers (Conv2d too when `convs`) a `targets=` option names, by HF peft's
// rules; the head and the insides of earlier wrappers are never targets. Throws when none match.
std::vector<std::string> find_targets(MethodContext& ctx, const Options& o, const std::string& targets, bool convs);

// Every method frost has, in the order of the survey.
const std::vector<MethodInfo>& all_methods();
// The table as Markdown (`frost methods`, the README): method, family, keys, where, merges.
std::string methods_markdown();
const MethodInfo& find_method(const std::string& name);  // throws listing the names

// ---- one per method file ----
void apply_full(MethodContext&, Options&);
void apply_linear(MethodContext&, Options&);
void apply_partial(MethodContext&, Options&);
void apply_bitfit(MethodContext&, Options&);
void apply_ln(MethodContext&, Options&);
void apply_sparse(MethodContext&, Options&);
void apply_lora(MethodContext&, Options&);
void apply_dora(MethodContext&, Options&);
void apply_ssf(MethodContext&, Options&);
void apply_fact(MethodContext&, Options&);
void apply_krona(MethodContext&, Options&);
void apply_glora(MethodContext&, Options&);
void apply_repadapter(MethodContext&, Options&);
void apply_adapter(MethodContext&, Options&);
void apply_adaptformer(MethodContext&, Options&);
void apply_convpass(MethodContext&, Options&);
void apply_vpt(MethodContext&, Options&);
void apply_prefix(MethodContext&, Options&);
void apply_lst(MethodContext&, Options&);

}  // namespace frost::peft
