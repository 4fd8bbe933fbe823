// beit.cpp: see beit.h. Initialisation follows timm's Beit.init_weights: Linear weights
// normal(0, .02) and zero biases, pos_embed and cls_token normal(.02), tables and q/v biases
// zero, LayerScale at init_values, each block's attn.proj and mlp.fc2 weights divided by
// sqrt(2 (layer + 1)), a new head scaled by head_init_scale.
#include "models/beit.h"

#include <cmath>
#include <stdexcept>

#include "engine/autograd.h"

namespace frost::models {

BeitConfig::BeitConfig() {
  vit.global_pool = "avg";
  vit.qkv_bias = true;
}

void BeitConfig::read(ArgReader& a) {
  a.get_image_size("img_size", vit.img_h, vit.img_w);
  vit.patch_size = a.get_int("patch_size", vit.patch_size);
  vit.in_chans = a.get_int("in_chans", vit.in_chans);
  vit.num_classes = a.get_int("num_classes", vit.num_classes, 0);
  vit.global_pool = a.get_string("global_pool", vit.global_pool, {"avg", "token"});
  vit.embed_dim = a.get_int("embed_dim", vit.embed_dim);
  vit.depth = a.get_int("depth", vit.depth);
  vit.num_heads = a.get_int("num_heads", vit.num_heads);
  vit.qkv_bias = a.get_bool("qkv_bias", vit.qkv_bias);
  vit.mlp_ratio = a.get_double("mlp_ratio", vit.mlp_ratio, 0.0, 64.0);
  vit.drop_rate = a.get_double("drop_rate", vit.drop_rate, 0.0, 1.0);
  vit.drop_path_rate = a.get_double("drop_path_rate", vit.drop_path_rate, 0.0, 1.0);
  if (a.has("init_values") && !a.is_null("init_values")) vit.init_values = a.get_double("init_values", 0.0);
  vit.abs_pos_embed = a.get_bool("use_abs_pos_emb", true);
  use_rel_pos_bias = a.get_bool("use_rel_pos_bias", use_rel_pos_bias);
  use_shared_rel_pos_bias = a.get_bool("use_shared_rel_pos_bias", use_shared_rel_pos_bias);
  head_init_scale = a.get_double("head_init_scale", head_init_scale, 0.0, 1e6);
  vit.fc_norm = vit.global_pool == "avg" ? 1 : 0;
}

RelativeBiasTable::RelativeBiasTable(int64_t gh, int64_t gw, int64_t h) : grid_h(gh), grid_w(gw), heads(h) {
  // Patch pairs: (dy + Gh - 1) (2 Gw - 1) + dx + Gw - 1; the class token's row, column and corner
  // use the last three rows of the table.
  const int64_t area = gh * gw, n = area + 1, r = rows();
  std::vector<int64_t> values(size_t(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t v;
      if (i == 0 && j == 0)
        v = r - 1;
      else if (i == 0)
        v = r - 3;
      else if (j == 0)
        v = r - 2;
      else {
        const int64_t dy = (i - 1) / gw - (j - 1) / gw, dx = (i - 1) % gw - (j - 1) % gw;
        v = (dy + gh - 1) * (2 * gw - 1) + dx + gw - 1;
      }
      values[size_t(i * n + j)] = v;
    }
  index = IndexTable(std::move(values), {n * n});
}

Tensor RelativeBiasTable::bias(const Tensor& table, int64_t tokens) const {
  const int64_t n = grid_h * grid_w + 1, extra = tokens - n;
  if (extra < 0)
    throw std::invalid_argument("BEiT relative position bias: " + std::to_string(tokens) + " tokens, fewer than the " +
                                std::to_string(n) + " of its " + std::to_string(grid_h) + "x" + std::to_string(grid_w) +
                                " grid and class token");
  Tensor b = index_select(table, 0, index).reshape({n, n, heads}).permute({2, 0, 1});  // (H, n, n)
  if (extra > 0) {  // zero rows and columns for the tokens after the class token
    const Tensor rows = Tensor::zeros({heads, extra, n}, b.dtype(), b.device());
    b = cat({b.narrow(1, 0, 1), rows, b.narrow(1, 1, n - 1)}, 1);  // (H, T, n)
    const Tensor cols = Tensor::zeros({heads, tokens, extra}, b.dtype(), b.device());
    b = cat({b.narrow(2, 0, 1), cols, b.narrow(2, 1, n - 1)}, 2);  // (H, T, T)
  }
  return b.unsqueeze(0);
}

SharedRelativeBias::SharedRelativeBias(int64_t gh, int64_t gw, int64_t h) : table(gh, gw, h) {
  relative_position_bias_table = register_parameter("relative_position_bias_table", Tensor::zeros({table.rows(), h}));
}

BeitAttention::BeitAttention(int64_t d, int64_t h, bool qkv_bias, int64_t gh, int64_t gw, bool rel_pos_bias, uint64_t seed)
    : Attention(d, h, false, seed), table(gh, gw, h) {
  if (qkv_bias) use_qv_bias();
  if (rel_pos_bias)
    relative_position_bias_table = register_parameter("relative_position_bias_table", Tensor::zeros({table.rows(), h}));
}

Tensor BeitAttention::relative_bias(int64_t tokens, const Tensor& shared) const {
  if (!relative_position_bias_table.defined()) return shared;
  const Tensor own = table.bias(relative_position_bias_table, tokens);
  return shared.defined() ? add(own, shared) : own;
}

BeitBlock::BeitBlock(const BeitConfig& c, double dpr, uint64_t seed, std::shared_ptr<const SharedRelativeBias> shared)
    : shared_(std::move(shared)) {
  drop_path_rate = dpr;
  const ViTConfig& v = c.vit;
  const int64_t C = width = v.embed_dim;
  norm1 = std::make_shared<LayerNorm>(C, v.eps);
  attn = std::make_shared<BeitAttention>(C, v.num_heads, v.qkv_bias, v.img_h / v.patch_size, v.img_w / v.patch_size,
                                         c.use_rel_pos_bias, seed + 10);
  norm2 = std::make_shared<LayerNorm>(C, v.eps);
  mlp = std::make_shared<Mlp>(C, int64_t(double(C) * v.mlp_ratio), seed + 20, v.act_layer);
  register_slot("norm1", norm1);
  register_slot("attn", attn);
  register_slot("norm2", norm2);
  register_slot("mlp", mlp);
  if (v.init_values != 0.0) {
    gamma_1 = register_parameter("gamma_1", Tensor::full({C}, v.init_values));
    gamma_2 = register_parameter("gamma_2", Tensor::full({C}, v.init_values));
  }
}

Tensor BeitBlock::forward(const Tensor& input) const {
  Tensor x = apply_token_hooks(input);
  const Tensor shared = shared_ ? shared_->bias(x.size(1)) : Tensor();
  const Tensor bias = attn->relative_bias(x.size(1), shared);
  x = add(x, run_branch(Branch::attention, x, [&](const Tensor& h) {
            Tensor y = attn->forward(norm1->forward(h), bias);
            return drop_path(gamma_1.defined() ? mul(y, gamma_1) : y);
          }));
  x = add(x, run_branch(Branch::mlp, x, [this](const Tensor& h) {
            Tensor y = mlp->forward(norm2->forward(h));
            return drop_path(gamma_2.defined() ? mul(y, gamma_2) : y);
          }));
  return run_taps(x);
}

namespace {

std::shared_ptr<SharedRelativeBias> shared_bias_for(const BeitConfig& c) {
  if (!c.use_shared_rel_pos_bias) return nullptr;
  c.vit.validate();  // the grid below needs a valid patch size
  return std::make_shared<SharedRelativeBias>(c.vit.img_h / c.vit.patch_size, c.vit.img_w / c.vit.patch_size, c.vit.num_heads);
}

}  // namespace

Beit::Beit(const std::string& name, const BeitConfig& c, uint64_t seed) : Beit(name, c, seed, shared_bias_for(c)) {}

Beit::Beit(const std::string& name, const BeitConfig& c, uint64_t seed, std::shared_ptr<SharedRelativeBias> shared)
    : VisionTransformer(name, c.vit, seed,
                        [c, shared](int64_t, double dpr, uint64_t block_seed) {
                          return std::make_shared<BeitBlock>(c, dpr, block_seed, shared);
                        }),
      beit(c),
      rel_pos_bias(std::move(shared)) {
  if (rel_pos_bias) register_module("rel_pos_bias", rel_pos_bias);
  NoGradGuard no_grad;
  Generator gen(seed + 3);
  init_normal_(cls_token, 0.02, gen);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto& block = static_cast<const BeitBlock&>(*blocks[i]);
    const double scale = std::sqrt(2.0 * double(i + 1));
    for (const std::shared_ptr<Layer>& layer : {block.attn->proj, std::static_pointer_cast<Mlp>(block.mlp)->fc2}) {
      Tensor& w = static_cast<Linear&>(*layer).weight;
      copy_into(w, mul(w, 1.0 / scale));
    }
  }
  if (head) {
    Tensor& w = static_cast<Linear&>(*head).weight;
    copy_into(w, mul(w, beit.head_init_scale));
  }
}

bool Beit::ignores_checkpoint_key(const std::string& key) const {
  const std::string suffix = "relative_position_index";  // a non-persistent buffer in current timm
  return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace frost::models
