// methods.cpp: the table of PEFT methods and the context each one applies in.
#include <stdexcept>

#include "engine/safetensors.h"
#include "models/convnext.h"
#include "models/swin.h"
#include "models/vit.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

Backbone backbone_of(const models::Model& model) {
  if (dynamic_cast<const models::VisionTransformer*>(&model)) return Backbone::vit;
  if (dynamic_cast<const models::SwinTransformer*>(&model)) return Backbone::swin;
  if (dynamic_cast<const models::ConvNeXt*>(&model)) return Backbone::convnext;
  throw std::invalid_argument("--peft: " + model.architecture + " is not a ViT, Swin or ConvNeXt");
}

const char* backbone_name(Backbone b) {
  switch (b) {
    case Backbone::vit: return "ViT";
    case Backbone::swin: return "Swin";
    default: return "ConvNeXt";
  }
}

MethodContext::MethodContext(models::Model& m, const std::string& name, uint64_t s)
    : model(m), backbone(backbone_of(m)), seed(s), method(name), blocks(m.all_blocks()) {}

void MethodContext::refuse(const std::string& why) const {
  throw std::invalid_argument("--peft " + method + ": not available on " + model.architecture + " (" +
                              backbone_name(backbone) + "): " + why);
}

int64_t MethodContext::block_dim(size_t block) const {
  const auto& b = blocks.at(block).second;
  auto norm = std::dynamic_pointer_cast<Layer>(b->find(backbone == Backbone::convnext ? "norm" : "norm1"));
  return weight_of(*innermost(norm)).size(0);
}

int64_t MethodContext::block_of(const std::string& path) const {
  for (size_t i = 0; i < blocks.size(); ++i)
    if (path.rfind(blocks[i].first + ".", 0) == 0) return int64_t(i);
  return -1;
}

std::vector<std::string> find_targets(MethodContext& ctx, const Options& o, const std::string& text, bool convs) {
  const TargetSpec spec = TargetSpec::from_option(text, o.where() + "targets");
  std::vector<std::string> out, wrapped, examples;
  for (const auto& [path, module] : outer_modules(ctx.model)) {
    if (path == ctx.model.classifier) continue;
    const bool linear = bool(std::dynamic_pointer_cast<Linear>(module)), conv = convs && std::dynamic_pointer_cast<Conv2d>(module);
    if ((linear || conv) && examples.size() < 6) examples.push_back(path);
    if (!spec.matches(path)) continue;
    if (linear || conv) out.push_back(path);
    else if (spec.kind != TargetSpec::Kind::all_linear && std::dynamic_pointer_cast<Wrapper>(module)) wrapped.push_back(path + " (" + module->kind() + ")");
  }
  if (!wrapped.empty())
    throw std::invalid_argument(o.where() + "targets " + spec.describe() + " are already wrapped by another method: " + list_names(wrapped));
  if (out.empty())
    throw std::invalid_argument(o.where() + "targets " + spec.describe() + " match no " + (convs ? "Linear or Conv2d" : "Linear") +
                                " layer of " + ctx.model.architecture + " (its layers are named like " + list_names(examples) + ")");
  return out;
}

const std::vector<MethodInfo>& all_methods() {
  static const std::vector<MethodInfo> table = {
      // specification tuning: the tensors trained are the model's own, so a merge is a save
      {"full", "specification", apply_full, true, "", 0},
      {"linear", "specification", apply_linear, true, "", 0},
      {"partial", "specification", apply_partial, true, "", 0},
      {"bitfit", "specification", apply_bitfit, true, "", 0},
      {"ln", "specification", apply_ln, true, "", 0},
      {"sparse", "specification", apply_sparse, true, "", 0},
      // reparameter tuning: layer wrappers that fold into the weights; plain-layer wrappers first
      {"lora", "reparameter", apply_lora_method, true, "", 1},
      {"dora", "reparameter", apply_dora, true, "", 1},
      {"krona", "reparameter", apply_krona, true, "", 1},
      {"glora", "reparameter", apply_glora, true, "", 1},
      {"fact", "reparameter", apply_fact, true, "", 2},
      {"repadapter", "reparameter", apply_repadapter, true, "", 3},
      {"ssf", "reparameter", apply_ssf, true, "", 4},
      // addition: new modules on the branches, tokens and attention
      {"adapter", "addition", apply_adapter, false, "a bottleneck adapter has a nonlinearity between its projections", 5},
      {"adaptformer", "addition", apply_adaptformer, false, "AdaptFormer's parallel branch has a ReLU between its projections", 5},
      {"convpass", "addition", apply_convpass, false, "Convpass's bypass has a 3x3 convolution between nonlinearities", 5},
      {"vpt", "addition", apply_vpt, false, "visual prompts are extra inputs, not weights", 6},
      {"prefix", "addition", apply_prefix, false, "prefixes are extra keys and values, not weights", 6},
      {"lst", "addition", apply_lst, false, "the ladder side network is a second network beside the backbone", 7},
  };
  return table;
}

const MethodInfo& find_method(const std::string& name) {
  std::string list;
  for (const MethodInfo& m : all_methods()) {
    if (name == m.name) return m;
    list += (list.empty() ? "" : ", ") + std::string(m.name);
  }
  throw std::invalid_argument("--peft: unknown method '" + name + "' (available: " + list + ")");
}

}  // namespace frost::peft
