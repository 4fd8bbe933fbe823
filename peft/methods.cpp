// methods.cpp: the context a PEFT method applies in, the target matcher they share, and the
// lookup of the method table (method_table.cpp).
#include <stdexcept>

#include "engine/safetensors.h"
#include "models/convnext.h"
#include "models/swin.h"
#include "models/vit.h"
#include "peft/method.h"
#include "peft/targets.h"
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
    case Backbone::vit:
      return "ViT";
    case Backbone::swin:
      return "Swin";
    default:
      return "ConvNeXt";
  }
}

MethodContext::MethodContext(models::Model& m, const std::string& name, uint64_t s)
    : model(m), backbone(backbone_of(m)), seed(s), method(name), blocks(m.all_blocks()) {}

void MethodContext::refuse(const std::string& why) const {
  throw std::invalid_argument("--peft " + method + ": not available on " + model.architecture + " (" + backbone_name(backbone) +
                              "): " + why);
}

int64_t MethodContext::block_dim(size_t block) const { return blocks.at(block).second->width; }

int64_t MethodContext::block_of(const std::string& path) const {
  for (size_t i = 0; i < blocks.size(); ++i)
    if (path.rfind(blocks[i].first + ".", 0) == 0) return int64_t(i);
  return -1;
}

std::vector<std::string> find_targets(MethodContext& ctx, const Options& o, const std::string& text, bool convs) {
  TargetQuery q;
  q.include = TargetSpec::from_option(text, o.where() + "targets");
  q.convs = convs;
  q.field = o.where() + "targets";
  q.method = ctx.method;
  std::vector<std::string> out;
  for (const auto& [path, module] : find_targets(ctx.model, q)) out.push_back(path);
  return out;
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
