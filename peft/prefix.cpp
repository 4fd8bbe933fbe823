// prefix.cpp: prefix tuning (Li & Liang 2021) for vision transformers: every block's attention
// gets l learned key rows and l value rows prepended, K' = [P_k; K], V' = [P_v; V], with the
// queries unchanged (so no output for the prefix positions). Without Li & Liang's training-time
// MLP reparameterisation: 2 L D l parameters (l=10 on ViT-B: 184,320). Init N(0, 0.02).
// Swin: the rows join every window's keys and values (the shift mask does not apply to them).
// ConvNeXt has no attention: refused.
// Options: tokens (10, or a per-block list). Keys: "<block>.attn.prefix.{keys,values}" (l, D).
#include "engine/autograd.h"
#include "models/transformer.h"
#include "peft/method.h"

namespace frost::peft {

namespace {

class PrefixRows : public models::KVRows {
 public:
  PrefixRows(int64_t l, int64_t dim, int64_t heads, DType dtype, uint64_t seed) : heads_(heads) {
    Generator gen(seed);
    keys = register_parameter("keys", Tensor::empty({l, dim}, dtype));
    values = register_parameter("values", Tensor::empty({l, dim}, dtype));
    init_normal_(keys, 0.02, gen);
    init_normal_(values, 0.02, gen);
  }
  std::string kind() const override { return "Prefix"; }
  std::pair<Tensor, Tensor> rows() const override {  // (l, D) -> (H, l, D/H), head-major like qkv
    const int64_t l = keys.size(0), d = keys.size(1) / heads_;
    auto split = [&](const Tensor& t) { return t.reshape({l, heads_, d}).permute({1, 0, 2}); };
    return {split(keys), split(values)};
  }
  Tensor keys, values;

 private:
  int64_t heads_;
};

}  // namespace

void apply_prefix(MethodContext& ctx, Options& o) {
  const std::vector<int64_t> lengths = o.per_block("tokens", 10, 1, ctx.blocks.size());
  o.finish();
  if (ctx.backbone == Backbone::convnext) ctx.refuse("prefixes are extra keys and values for attention, and ConvNeXt has none");
  for (size_t i = 0; i < ctx.blocks.size(); ++i) {
    if (lengths[i] == 0) continue;
    auto attn = std::dynamic_pointer_cast<models::Attention>(ctx.blocks[i].second->find("attn"));
    const int64_t D = ctx.block_dim(i);
    attn->add_prefix("prefix", std::make_shared<PrefixRows>(lengths[i], D, attn->heads, DType::f32, ctx.next_seed()));
  }
}

}  // namespace frost::peft
