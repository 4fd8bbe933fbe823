// adapter.cpp: the sequential bottleneck adapter (Houlsby et al. 2019; Pfeiffer et al.
// 2020) as VPT's Pfeiffer_Block places it: on a branch's output before the residual add,
//   y = branch(x);  y + s * up(dropout(act(down(y))))
// pfeiffer: after the MLP branch of every block; houlsby: after the attention branch too.
// Init (a pitfall of public implementations): down xavier-uniform, up zero -- never both zero,
// or the down projection never gets a gradient. A ConvNeXt block has one branch (pfeiffer only).
// Options: mode (pfeiffer), dim (8, or a per-block list with 0 = none), scale (1),
// dropout (0.1, NOAH), act (gelu | quick_gelu | relu; gelu as VPT).
// Keys: "<block>.adapter_mlp.{down,up}.{weight,bias}" (and adapter_attn).
#include "peft/bottleneck.h"

namespace frost::peft {

void apply_adapter(MethodContext& ctx, Options& o) {
  const std::string mode = o.choice("mode", "pfeiffer", {"pfeiffer", "houlsby"});
  const std::vector<int64_t> dims = o.per_block("dim", 8, 1, ctx.blocks.size());
  const double scale = o.number("scale", 1.0), drop = o.probability("dropout", 0.1);
  const Activation act = parse_activation(o, "gelu");
  o.finish();
  if (mode == "houlsby" && ctx.backbone == Backbone::convnext)
    ctx.refuse("mode=houlsby needs an attention branch; a ConvNeXt block has one branch (use mode=pfeiffer)");
  const bool cf = ctx.backbone == Backbone::convnext;
  for (size_t i = 0; i < ctx.blocks.size(); ++i) {
    if (dims[i] == 0) continue;
    const int64_t C = ctx.block_dim(i);
    std::vector<std::pair<models::Branch, std::string>> places = {{models::Branch::mlp, "adapter_mlp"}};
    if (mode == "houlsby") places.insert(places.begin(), {models::Branch::attention, "adapter_attn"});
    for (const auto& [branch, name] : places) {
      Bottleneck b(C, dims[i], act, drop, scale, "xavier", ctx.model.rng, ctx.next_seed());
      ctx.blocks[i].second->wrap_branch(branch, name, std::make_shared<BottleneckHook>(std::move(b), cf, false, "Adapter"));
    }
  }
}

}  // namespace frost::peft
