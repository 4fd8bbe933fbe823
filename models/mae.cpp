// mae.cpp: see mae.h.
#include "models/mae.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "engine/autograd.h"

namespace frost::models {

namespace {

// xavier_uniform on a (out, in...) weight: bound sqrt(6 / (fan_in + fan_out)).
void init_xavier_(Tensor& weight, Generator& gen) {
  const int64_t out = weight.size(0), in = weight.numel() / out;
  init_uniform_(weight, std::sqrt(6.0 / double(in + out)), gen);
}

void init_linears_xavier(Module& root, Generator& gen) {
  NoGradGuard no_grad;
  for (auto& [path, module] : root.named_modules())
    if (auto* l = dynamic_cast<Linear*>(module.get())) {
      init_xavier_(l->weight, gen);
      if (l->bias.defined()) copy_into(l->bias, Tensor::zeros(l->bias.shape(), l->bias.dtype()));
    }
}

int64_t kept_patches(int64_t patches, double mask_ratio) { return int64_t(double(patches) * (1.0 - mask_ratio)); }

}  // namespace

std::string MaeConfig::describe() const {
  char buf[128];
  std::snprintf(buf, sizeof buf, "mae:mask_ratio=%g,norm_pix_loss=%d,decoder=%lldx%lldx%lld", mask_ratio, int(norm_pix_loss),
                (long long)decoder_dim, (long long)decoder_depth, (long long)decoder_heads);
  return buf;
}

Tensor sincos_pos_embed_2d(int64_t dim, int64_t grid_h, int64_t grid_w) {
  if (dim % 4)
    throw std::invalid_argument("MAE sin-cos position embedding: width " + std::to_string(dim) + " is not a multiple of 4");
  // Token (i, j): the first half encodes the column j, the second the row i (the code's meshgrid
  // puts w first); each half is [sin(pos w_k), cos(pos w_k)], w_k = 10000^(-k / (dim / 4)).
  const int64_t quarter = dim / 4;
  std::vector<double> v(size_t((1 + grid_h * grid_w) * dim), 0.0);
  for (int64_t i = 0; i < grid_h; ++i)
    for (int64_t j = 0; j < grid_w; ++j) {
      double* row = v.data() + (1 + i * grid_w + j) * dim;
      for (int64_t half = 0; half < 2; ++half) {
        const double pos = half == 0 ? double(j) : double(i);
        for (int64_t k = 0; k < quarter; ++k) {
          const double omega = 1.0 / std::pow(10000.0, double(k) / double(quarter));
          row[half * 2 * quarter + k] = std::sin(pos * omega);
          row[half * 2 * quarter + quarter + k] = std::cos(pos * omega);
        }
      }
    }
  return Tensor::from_vector(v, {1, 1 + grid_h * grid_w, dim});
}

Tensor patchify(const Tensor& images, int64_t p) {
  const int64_t N = images.size(0), C = images.size(1), h = images.size(2) / p, w = images.size(3) / p;
  return images.reshape({N, C, h, p, w, p}).permute({0, 2, 4, 3, 5, 1}).reshape({N, h * w, p * p * C});
}

MaeDecoder::MaeDecoder(const VisionTransformer& encoder, const MaeConfig& c, uint64_t seed) : config(c) {
  const ViTConfig& e = encoder.config;
  patches = encoder.grid_h() * encoder.grid_w();
  ViTConfig d;
  d.embed_dim = c.decoder_dim;
  d.num_heads = c.decoder_heads;
  d.mlp_ratio = e.mlp_ratio;
  d.eps = 1e-6;
  d.validate();
  Generator gen(seed);
  decoder_embed = std::make_shared<Linear>(e.embed_dim, c.decoder_dim, true, seed + 1);
  register_slot("decoder_embed", decoder_embed);
  mask_token = register_parameter("mask_token", Tensor::empty({1, 1, c.decoder_dim}));
  init_normal_(mask_token, 0.02, gen);
  decoder_pos_embed =
      register_buffer("decoder_pos_embed", sincos_pos_embed_2d(c.decoder_dim, encoder.grid_h(), encoder.grid_w()));
  for (int64_t i = 0; i < c.decoder_depth; ++i) {
    auto block = std::make_shared<ViTBlock>(d, 0.0, seed + 100 * uint64_t(i + 1));
    block->rng = encoder.rng;
    decoder_blocks.push_back(register_module("decoder_blocks." + std::to_string(i), std::shared_ptr<Block>(block)));
  }
  decoder_norm = std::make_shared<LayerNorm>(c.decoder_dim, 1e-6);
  register_slot("decoder_norm", decoder_norm);
  decoder_pred = std::make_shared<Linear>(c.decoder_dim, e.patch_size * e.patch_size * e.in_chans, true, seed + 2);
  register_slot("decoder_pred", decoder_pred);
  init_linears_xavier(*this, gen);
}

Tensor MaeDecoder::forward(const Tensor& latent, const IndexTable& restore, int64_t N) const {
  const int64_t L = patches, Dd = config.decoder_dim, keep = latent.size(1) - 1;
  const Tensor x = decoder_embed->forward(latent);                                                     // (N, 1 + keep, Dd)
  Tensor shuffled = cat({x.narrow(1, 1, keep), mask_token.expand({N, L - keep, Dd})}, 1);              // (N, L, Dd)
  const Tensor ordered = index_select(shuffled.reshape({N * L, Dd}), 0, restore).reshape({N, L, Dd});  // image order
  Tensor y = add(cat({x.narrow(1, 0, 1), ordered}, 1), decoder_pos_embed);
  for (const auto& block : decoder_blocks) y = block->forward(y);
  return decoder_pred->forward(decoder_norm->forward(y)).narrow(1, 1, L);
}

std::shared_ptr<MaeDecoder> attach_mae(VisionTransformer& enc, const MaeConfig& c, uint64_t seed) {
  const ViTConfig& e = enc.config;
  auto refuse = [&](const std::string& why) {
    throw std::invalid_argument("MAE pre-training of " + enc.architecture + ": " + why);
  };
  if (!e.class_token || e.reg_tokens > 0 || e.distilled)
    refuse("needs a plain ViT with one class token (no register or distillation tokens)");
  if (!enc.pos_embed.defined() || e.no_embed_class) refuse("needs an absolute position embedding that covers the class token");
  if (!enc.norm) refuse("needs the encoder's final norm (global_pool 'token', not 'avg' with fc_norm)");
  if (enc.kind() != "VisionTransformer") refuse("is for timm's VisionTransformer, not " + enc.kind());
  if (!(c.mask_ratio > 0 && c.mask_ratio < 1) || kept_patches(enc.grid_h() * enc.grid_w(), c.mask_ratio) < 1)
    refuse("--mask-ratio must leave at least one visible patch, got " + std::to_string(c.mask_ratio));
  {
    NoGradGuard no_grad;
    copy_into(enc.pos_embed, sincos_pos_embed_2d(e.embed_dim, enc.grid_h(), enc.grid_w()));
  }
  enc.pos_embed.set_requires_grad(false);  // fixed, as the paper's
  auto decoder = std::make_shared<MaeDecoder>(enc, c, seed);
  enc.register_module("mae_decoder", decoder);
  return decoder;
}

void init_mae_encoder(VisionTransformer& enc, uint64_t seed) {
  Generator gen(seed);
  NoGradGuard no_grad;
  init_linears_xavier(enc, gen);
  init_xavier_(static_cast<Conv2d&>(*enc.patch_embed).weight, gen);
  init_normal_(enc.cls_token, 0.02, gen);
}

MaeOutput mae_forward(const VisionTransformer& enc, const MaeDecoder& decoder, const Tensor& images, Generator& gen) {
  return mae_forward(enc, decoder, images, rand({images.size(0), decoder.patches}, gen).to_doubles());
}

MaeOutput mae_forward(const VisionTransformer& enc, const MaeDecoder& decoder, const Tensor& images,
                      const std::vector<double>& noise) {
  enc.check_input(images);
  const int64_t N = images.size(0), C = enc.config.embed_dim, L = decoder.patches;
  const int64_t keep = kept_patches(L, decoder.config.mask_ratio);
  if (int64_t(noise.size()) != N * L)
    throw std::invalid_argument("MAE masking: " + std::to_string(noise.size()) + " noise values for " + std::to_string(N) +
                                " images of " + std::to_string(L) + " patches");
  // Per-sample shuffles: argsort of the noise (small kept); restore[l] = rank of patch l.
  std::vector<int64_t> keep_rows, restore_rows;
  std::vector<double> mask(size_t(N * L));
  std::vector<int64_t> order(static_cast<size_t>(L)), rank(static_cast<size_t>(L));
  for (int64_t n = 0; n < N; ++n) {
    std::iota(order.begin(), order.end(), 0);
    const double* r = noise.data() + n * L;
    std::stable_sort(order.begin(), order.end(), [r](int64_t a, int64_t b) { return r[a] < r[b]; });
    for (int64_t k = 0; k < L; ++k) rank[size_t(order[size_t(k)])] = k;
    for (int64_t k = 0; k < keep; ++k) keep_rows.push_back(n * L + order[size_t(k)]);
    for (int64_t l = 0; l < L; ++l) {
      restore_rows.push_back(n * L + rank[size_t(l)]);
      mask[size_t(n * L + l)] = rank[size_t(l)] >= keep ? 1.0 : 0.0;
    }
  }
  Tensor x = enc.patch_embed->forward(images).flatten(2).transpose(1, 2);  // (N, L, C)
  x = add(x, enc.pos_embed.narrow(1, 1, L));
  x = index_select(x.reshape({N * L, C}), 0, IndexTable(std::move(keep_rows), {N * keep})).reshape({N, keep, C});
  const Tensor cls = add(enc.cls_token, enc.pos_embed.narrow(1, 0, 1)).expand({N, 1, C});
  x = cat({cls, x}, 1);
  if (enc.norm_pre) x = enc.norm_pre->forward(x);
  for (const auto& block : enc.blocks) x = block->forward(x);
  x = enc.norm->forward(x);

  MaeOutput out;
  out.pred = decoder.forward(x, IndexTable(std::move(restore_rows), {N * L}), N);
  out.mask = Tensor::from_vector(mask, {N, L});
  Tensor target;
  {
    NoGradGuard no_grad;
    target = patchify(images.to(out.pred.dtype()), enc.config.patch_size);
    if (decoder.config.norm_pix_loss) {
      const double P = double(target.size(2));
      const Tensor mu = mean(target, {2}, true), centred = sub(target, mu);
      const Tensor var = mul(sum(mul(centred, centred), {2}, true), 1.0 / (P - 1.0));  // unbiased, as torch.var
      target = div(centred, sqrt(add(var, 1e-6)));
    }
  }
  const Tensor diff = sub(out.pred, target);
  const Tensor per_patch = mean(mul(diff, diff), {2});  // (N, L)
  const Tensor m = out.mask.to(per_patch.device()).to(per_patch.dtype());
  out.loss = div(sum(mul(per_patch, m)), sum(m));
  return out;
}

std::vector<NamedTensor> encoder_state_dict(const Model& model) {
  std::vector<NamedTensor> out;
  std::vector<std::string> skip = model.classifier_paths();
  skip.push_back("mae_decoder");
  for (const NamedTensor& t : model.state_dict()) {
    bool drop = false;
    for (const std::string& prefix : skip) drop |= t.name.rfind(prefix + ".", 0) == 0;
    if (!drop) out.push_back(t);
  }
  return out;
}

}  // namespace frost::models
