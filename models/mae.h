// mae.h: masked-autoencoder pre-training of a VisionTransformer (He et al. 2022), as the paper's
// official code defines it (facebookresearch/mae, models_mae.py):
//   - per sample, the patches are shuffled by argsort of uniform noise; the first
//     round(L (1 - mask_ratio)) are kept (int(), as the code), the rest masked;
//   - the encoder (the ViT itself, timm's keys) sees the visible patches only: patch embedding +
//     its position embedding, the gathered visible tokens, the class token (+ its position) in
//     front, the blocks, the final norm;
//   - a light decoder: decoder_embed (C -> Dd), mask tokens for the masked positions, unshuffled
//     to the image order, its own position embedding, decoder blocks (ViT blocks of width Dd),
//     decoder_norm, decoder_pred (Dd -> p * p * channels);
//   - the loss is the mean squared error per patch, averaged over the masked patches only, against
//     the image's patches (patchify: (p, q, channel) order), optionally per-patch normalised
//     (norm_pix_loss: (x - mean) / sqrt(var + 1e-6), var unbiased).
// Both position embeddings are the fixed 2-D sin-cos table of the code (class token: zeros) and do
// not train; Linear and patch-embedding weights start xavier-uniform, class and mask tokens
// normal(.02). The decoder is a child of the model ("mae_decoder"), so it trains, checkpoints and
// resumes with it; encoder_state_dict() is what `frost train --weights` reads afterwards.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/vit.h"

namespace frost::models {

struct MaeConfig {
  double mask_ratio = 0.75;
  bool norm_pix_loss = false;
  int64_t decoder_dim = 512, decoder_depth = 8, decoder_heads = 16;
  std::string describe() const;  // "mae:mask_ratio=0.75,norm_pix_loss=0,decoder=512x8x16"
};

// MAE's 2-D sin-cos position embedding, (1 + gh * gw, dim) with a zero row for the class token.
Tensor sincos_pos_embed_2d(int64_t dim, int64_t grid_h, int64_t grid_w);

// (N, C, H, W) -> (N, L, p * p * C), MAE's patchify.
Tensor patchify(const Tensor& images, int64_t patch);

class MaeDecoder : public Module {
 public:
  MaeDecoder(const VisionTransformer& encoder, const MaeConfig& config, uint64_t seed);
  std::string kind() const override { return "MaeDecoder"; }
  // latent (N, 1 + keep, C), restore (N * L: for each image position the row of the shuffled
  // sequence) -> predictions (N, L, p * p * channels).
  Tensor forward(const Tensor& latent, const IndexTable& restore, int64_t batch) const;

  MaeConfig config;
  int64_t patches;
  std::shared_ptr<Layer> decoder_embed, decoder_norm, decoder_pred;
  Tensor mask_token, decoder_pos_embed;  // (1, 1, Dd), (1, 1 + L, Dd) fixed
  std::vector<std::shared_ptr<Block>> decoder_blocks;
};

struct MaeOutput {
  Tensor loss;  // 0-d
  Tensor pred;  // (N, L, p * p * channels)
  Tensor mask;  // (N, L): 1 masked, 0 kept (host, f32)
};

// Prepares `encoder` for MAE pre-training (fixed sin-cos pos_embed, MAE's init) and adds the
// decoder as its child "mae_decoder". Throws naming what an encoder lacks (a class token, an
// absolute position embedding, ...).
std::shared_ptr<MaeDecoder> attach_mae(VisionTransformer& encoder, const MaeConfig& config, uint64_t seed);
// MAE's init of a fresh encoder (xavier-uniform Linear and patch-embedding weights, zero biases,
// class token normal(.02)); not for one that loaded weights.
void init_mae_encoder(VisionTransformer& encoder, uint64_t seed);
// One MAE forward: masking drawn from `gen` (the model's stream, so a resumed run draws alike).
MaeOutput mae_forward(const VisionTransformer& encoder, const MaeDecoder& decoder, const Tensor& images, Generator& gen);
// With the noise given (N * L values, row-major): what the paper's torch.rand would have drawn.
MaeOutput mae_forward(const VisionTransformer& encoder, const MaeDecoder& decoder, const Tensor& images,
                      const std::vector<double>& noise);
// The encoder's tensors under timm's keys: the decoder and the classifier left out.
std::vector<NamedTensor> encoder_state_dict(const Model& model);

}  // namespace frost::models
