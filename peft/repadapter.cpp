// repadapter.cpp: RepAdapter (Luo et al. 2023; luogen1996/RepAdapter repadapter.py): a linear
// adapter in front of attention and of the MLP, after the LayerNorm:
//   RA(z) = z + s * B(dropout(A z)),  A: Linear D -> d (xavier, bias 0), B: d -> D in 2 groups
//   (each half of the output reads one half of A's output; zero weight and bias).
// It sits on the layer that reads the norm's output: attn.qkv and mlp.fc1 (ConvNeXt: mlp.fc1
// only; REP's second adapter before the depthwise conv cannot fold into it). With B = 0 it starts
// as the identity. RA is affine, RA(z) = M z + c, so the merge reads M^T = RA(I) - c and c = RA(0)
// and folds them into the layer: W' = W M, b' = W c + b. On a layer without bias the adapter has
// none either (c = 0). Keys: "<layer>.repadapter_A.{weight,bias}", "<layer>.repadapter_B.{weight,bias}";
// B's weight is (D, d/2) (REP's Conv1d (D, d/2, 1)). Options: dim (8, or a per-block list),
// scale (1), dropout (0.1).
#include <cmath>

#include "engine/autograd.h"
#include "peft/method.h"
#include "peft/wrapper.h"

namespace frost::peft {

namespace {

class RepAdapterLayer : public Wrapper {
 public:
  RepAdapterLayer(std::shared_ptr<Layer> inner, int64_t d, double s, double p, std::shared_ptr<Generator> g, uint64_t seed)
      : scale(s), drop(p), rng(std::move(g)) {
    adopt(std::move(inner));
    const Tensor w = weight_of(*innermost(base));
    const int64_t D = w.size(1);
    const bool with_bias = bias_of(*innermost(base)).defined();
    Generator gen(seed);
    a_w = register_parameter("repadapter_A.weight", Tensor::empty({d, D}, w.dtype()));
    init_uniform_(a_w, std::sqrt(6.0 / double(d + D)), gen);
    b_w = register_parameter("repadapter_B.weight", Tensor::zeros({D, d / 2}, w.dtype()));
    if (with_bias) {
      a_b = register_parameter("repadapter_A.bias", Tensor::zeros({d}, w.dtype()));
      b_b = register_parameter("repadapter_B.bias", Tensor::zeros({D}, w.dtype()));
    }
  }
  std::string kind() const override { return "RepAdapter"; }
  Tensor adapt(const Tensor& z) const {
    Tensor h = linear(z, a_w, a_b);  // (..., d)
    if (is_training() && drop > 0) h = dropout(h, drop, true, *rng);
    const int64_t d = a_w.size(0), D = b_w.size(0);
    const Shape outer(z.shape().begin(), z.shape().end() - 1);
    const int64_t m = shape_numel(outer);
    // Two groups: (m, 2, d/2) -> (2, m, d/2) x (2, d/2, D/2) -> (2, m, D/2) -> (m, D)
    const Tensor hg = h.reshape({m, 2, d / 2}).permute({1, 0, 2});
    const Tensor bg = b_w.reshape({2, D / 2, d / 2}).transpose(1, 2);
    Tensor y = matmul(hg, bg).permute({1, 0, 2}).reshape({m, D});
    if (b_b.defined()) y = add(y, b_b);
    Shape out = outer;
    out.push_back(D);
    return add(z, mul(y.reshape(out), scale));
  }
  Tensor forward(const Tensor& x) const override { return base->forward(adapt(x)); }
  void fold(Layer& plain) const override {
    const Tensor w = weight_of(plain), b = bias_of(plain);
    const int64_t D = w.size(1);
    const Tensor c = adapt(Tensor::zeros({1, D}, w.dtype()));  // (1, D)
    const Tensor mt = sub(adapt(eye(D, w.dtype())), c);        // M^T (D, D)
    if (b.defined()) assign_(b, add(b, linear(c, w).reshape({w.size(0)})));
    assign_(w, matmul(w, mt.transpose(0, 1)));
  }
  Tensor a_w, a_b, b_w, b_b;
  double scale, drop;
  std::shared_ptr<Generator> rng;
};

}  // namespace

void apply_repadapter(MethodContext& ctx, Options& o) {
  const std::vector<int64_t> dims = o.per_block("dim", 8, 2, ctx.blocks.size());
  const double scale = o.number("scale", 1.0), drop = o.probability("dropout", 0.1);
  o.finish();
  for (size_t i = 0; i < ctx.blocks.size(); ++i) {
    if (dims[i] == 0) continue;
    if (dims[i] % 2) throw std::invalid_argument(o.where() + "dim must be even (B has 2 groups), got " + std::to_string(dims[i]));
    std::vector<std::string> places = {"mlp.fc1"};
    if (ctx.backbone != Backbone::convnext) places.insert(places.begin(), "attn.qkv");
    for (const std::string& place : places)
      wrap_layer(ctx.model, ctx.blocks[i].first + "." + place, [&](std::shared_ptr<Layer> l) {
        return std::make_shared<RepAdapterLayer>(l, dims[i], scale, drop, ctx.model.rng, ctx.next_seed());
      });
  }
}

}  // namespace frost::peft
