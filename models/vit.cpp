// vit.cpp: see vit.h. Initialisation follows timm's init_weights_vit_timm in spirit (normal
// std 0.02 for weights and embeddings, zero biases, unit norms); loading a checkpoint replaces it.
#include "models/vit.h"

#include <stdexcept>
#include <string>

#include "engine/autograd.h"

namespace frost::models {

namespace {

Tensor init_normal(const Shape& shape, double std, Generator& gen) {
  NoGradGuard no_grad;
  return mul(randn(shape, gen), std);
}

}  // namespace

void ViTConfig::validate() const {
  auto positive = [](int64_t v, const char* name) {
    if (v <= 0) throw std::invalid_argument(std::string("ViT config: ") + name + " must be positive, got " + std::to_string(v));
  };
  positive(img_size, "img_size");
  positive(patch_size, "patch_size");
  positive(in_chans, "in_chans");
  positive(num_classes, "num_classes");
  positive(embed_dim, "embed_dim");
  positive(depth, "depth");
  positive(num_heads, "num_heads");
  if (img_size % patch_size)
    throw std::invalid_argument("ViT config: img_size " + std::to_string(img_size) + " is not a multiple of patch_size " +
                                std::to_string(patch_size));
  if (embed_dim % num_heads)
    throw std::invalid_argument("ViT config: embed_dim " + std::to_string(embed_dim) + " is not a multiple of num_heads " +
                                std::to_string(num_heads));
}

ViTBlock::ViTBlock(int64_t dim, int64_t h, int64_t hidden, double e, uint64_t seed) : heads(h), eps(e) {
  norm1_weight = register_parameter("norm1.weight", Tensor::ones({dim}));
  norm1_bias = register_parameter("norm1.bias", Tensor::zeros({dim}));
  qkv = register_module("attn.qkv", std::make_shared<Linear>(dim, 3 * dim, true, seed + 1));
  proj = register_module("attn.proj", std::make_shared<Linear>(dim, dim, true, seed + 2));
  norm2_weight = register_parameter("norm2.weight", Tensor::ones({dim}));
  norm2_bias = register_parameter("norm2.bias", Tensor::zeros({dim}));
  fc1 = register_module("mlp.fc1", std::make_shared<Linear>(dim, hidden, true, seed + 3));
  fc2 = register_module("mlp.fc2", std::make_shared<Linear>(hidden, dim, true, seed + 4));
}

Tensor ViTBlock::attention(const Tensor& x) const {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2), D = C / heads;
  const Tensor qkv_heads = qkv->forward(x).reshape({B, N, 3, heads, D}).permute({2, 0, 3, 1, 4});  // (3, B, H, N, D)
  const Tensor out = scaled_dot_product_attention(qkv_heads.narrow(0, 0, 1).squeeze(0), qkv_heads.narrow(0, 1, 1).squeeze(0),
                                                  qkv_heads.narrow(0, 2, 1).squeeze(0));  // (B, H, N, D)
  return proj->forward(out.transpose(1, 2).reshape({B, N, C}));
}

Tensor ViTBlock::mlp(const Tensor& x) const { return fc2->forward(gelu(fc1->forward(x))); }

Tensor ViTBlock::forward(const Tensor& x) const {
  const Tensor y = add(x, attention(layer_norm(x, norm1_weight, norm1_bias, eps)));
  return add(y, mlp(layer_norm(y, norm2_weight, norm2_bias, eps)));
}

VisionTransformer::VisionTransformer(const ViTConfig& c, uint64_t seed) : config(c) {
  config.validate();
  Generator gen(seed);
  const int64_t C = config.embed_dim, P = config.patch_size, grid = config.img_size / P;
  patch_weight = register_parameter("patch_embed.proj.weight", init_normal({C, config.in_chans, P, P}, 0.02, gen));
  patch_bias = register_parameter("patch_embed.proj.bias", Tensor::zeros({C}));
  cls_token = register_parameter("cls_token", init_normal({1, 1, C}, 1e-6, gen));
  pos_embed = register_parameter("pos_embed", init_normal({1, grid * grid + 1, C}, 0.02, gen));
  const int64_t hidden = int64_t(double(C) * config.mlp_ratio);
  for (int64_t i = 0; i < config.depth; ++i)
    blocks.push_back(register_module("blocks." + std::to_string(i),
                                     std::make_shared<ViTBlock>(C, config.num_heads, hidden, config.eps, seed + 100 * (i + 1))));
  norm_weight = register_parameter("norm.weight", Tensor::ones({C}));
  norm_bias = register_parameter("norm.bias", Tensor::zeros({C}));
  head = register_module("head", std::make_shared<Linear>(C, config.num_classes, true, seed + 7));
}

Tensor VisionTransformer::forward_features(const Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != config.in_chans || images.size(2) != config.img_size ||
      images.size(3) != config.img_size)
    throw std::invalid_argument("ViT: input " + images.describe() + " does not match (B, " + std::to_string(config.in_chans) +
                                ", " + std::to_string(config.img_size) + ", " + std::to_string(config.img_size) + ")");
  const int64_t P = config.patch_size;
  Tensor x = conv2d(images, patch_weight, patch_bias, {P, P, 0, 0, 1});  // (B, C, h, w)
  x = x.flatten(2).transpose(1, 2);                                      // (B, N, C), row-major grid order
  x = cat({cls_token.expand({x.size(0), 1, x.size(2)}), x}, 1);          // class token first
  x = add(x, pos_embed);
  for (const auto& block : blocks) x = block->forward(x);
  return layer_norm(x, norm_weight, norm_bias, config.eps);
}

Tensor VisionTransformer::forward(const Tensor& images) const {
  const Tensor x = forward_features(images);
  return head->forward(x.narrow(1, 0, 1).squeeze(1));  // class-token pooling
}

}  // namespace frost::models
