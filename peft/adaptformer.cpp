// adaptformer.cpp: AdaptFormer (Chen et al. 2022; ShoufaChen/AdaptFormer models/custom_modules.py)
// as the official code runs it: a bottleneck parallel to the MLP branch that reads the pre-LN
// residual stream (ffn_adapter_layernorm_option "none"),
//   x + drop_path(mlp(norm2(x))) + s * up(dropout(relu(down(x))))
// down kaiming-uniform (a=sqrt 5) with zero bias, up zero ("lora" init), so it starts as a no-op.
// On ConvNeXt it runs parallel to the block's one branch, over channels.
// Options: dim (64, or a per-block list), scale (0.1), dropout (0.1), act (relu).
// Keys: "<block>.adaptformer.{down,up}.{weight,bias}".
#include "peft/bottleneck.h"

namespace frost::peft {

void apply_adaptformer(MethodContext& ctx, Options& o) {
  const std::vector<int64_t> dims = o.per_block("dim", 64, 1, ctx.blocks.size());
  const double scale = o.number("scale", 0.1), drop = o.probability("dropout", 0.1);
  const Activation act = parse_activation(o, "relu");
  o.finish();
  for (size_t i = 0; i < ctx.blocks.size(); ++i) {
    if (dims[i] == 0) continue;
    Bottleneck b(ctx.block_dim(i), dims[i], act, drop, scale, "kaiming", ctx.model.rng, ctx.next_seed());
    ctx.blocks[i].second->wrap_branch(
        models::Branch::mlp, "adaptformer",
        std::make_shared<BottleneckHook>(std::move(b), ctx.backbone == Backbone::convnext, true, "AdaptFormer"));
  }
}

}  // namespace frost::peft
