// swin.cpp: see swin.h. Init as timm's: Linear weights normal(.02), zero biases, bias tables
// normal(.02); the patch-embedding conv keeps its default init.
#include "models/swin.h"

#include <regex>
#include <stdexcept>

#include "engine/autograd.h"

namespace frost::models {

void SwinConfig::read(ArgReader& a) {
  a.get_image_size("img_size", img_h, img_w);
  patch_size = a.get_int("patch_size", patch_size);
  in_chans = a.get_int("in_chans", in_chans);
  num_classes = a.get_int("num_classes", num_classes, 0);
  window_size = a.get_int("window_size", window_size);
  depths = a.get_int_list("depths", depths);
  num_heads = a.get_int_list("num_heads", num_heads);
  std::vector<int64_t> dims = a.get_int_list("embed_dim", {embed_dims[0]});
  if (dims.size() == 1)
    for (size_t i = 1; i < depths.size(); ++i) dims.push_back(dims[0] << i);
  embed_dims = dims;
  mlp_ratio = a.get_double("mlp_ratio", mlp_ratio, 0.0, 64.0);
  qkv_bias = a.get_bool("qkv_bias", qkv_bias);
  drop_rate = a.get_double("drop_rate", drop_rate, 0.0, 1.0);
  drop_path_rate = a.get_double("drop_path_rate", drop_path_rate, 0.0, 1.0);
  a.get_string("global_pool", "avg", {"avg"});  // the only pooling here (hub configs name it)
}

void SwinConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("Swin config: " + what); };
  if (img_h <= 0 || img_w <= 0 || patch_size <= 0 || window_size <= 0) fail("sizes must be positive");
  if (img_h % patch_size || img_w % patch_size)
    fail("img_size " + std::to_string(img_h) + " is not a multiple of patch_size " + std::to_string(patch_size));
  if (num_heads.size() != depths.size())
    fail("num_heads has " + std::to_string(num_heads.size()) + " entries for " + std::to_string(depths.size()) + " stages");
  if (embed_dims.size() != depths.size())
    fail("embed_dim has " + std::to_string(embed_dims.size()) + " entries for " + std::to_string(depths.size()) + " stages");
  for (size_t i = 0; i < depths.size(); ++i)
    if (embed_dims[i] % num_heads[i])
      fail("stage " + std::to_string(i) + ": dim " + std::to_string(embed_dims[i]) + " is not a multiple of " +
           std::to_string(num_heads[i]) + " heads");
  if (mlp_ratio <= 0) fail("mlp_ratio must be positive");
  for (double p : {drop_rate, drop_path_rate})
    if (p < 0 || p >= 1) fail("drop rates must be in [0, 1)");
}

WindowAttention::WindowAttention(int64_t dim, int64_t h, int64_t w, bool qkv_bias, uint64_t seed)
    : Attention(dim, h, qkv_bias, seed) {
  Generator gen(seed);
  relative_position_bias_table =
      register_parameter("relative_position_bias_table", Tensor::empty({(2 * w - 1) * (2 * w - 1), h}));
  init_normal_(relative_position_bias_table, 0.02, gen);
  // idx(i, j) = (hi - hj + w - 1) (2w - 1) + (wi - wj + w - 1) for tokens i, j of a window (row-major).
  std::vector<int64_t> index;
  for (int64_t i = 0; i < w * w; ++i)
    for (int64_t j = 0; j < w * w; ++j) index.push_back((i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1));
  relative_position_index = IndexTable(std::move(index), {w * w * w * w});
}

Tensor WindowAttention::relative_bias() const {
  const int64_t N = int64_t(std::llround(std::sqrt(double(relative_position_index.numel()))));
  return index_select(relative_position_bias_table, 0, relative_position_index)  // (N * N, H)
      .reshape({N, N, heads})
      .permute({2, 0, 1})
      .unsqueeze(0);  // (1, H, N, N)
}

namespace {

// (B, H, W, C) -> (B * nW, w * w, C): windows row-major, tokens row-major inside each window.
Tensor window_partition(const Tensor& x, int64_t w) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  return x.reshape({B, H / w, w, W / w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B * (H / w) * (W / w), w * w, C});
}

Tensor window_reverse(const Tensor& windows, int64_t w, int64_t B, int64_t H, int64_t W) {
  const int64_t C = windows.size(2);
  return windows.reshape({B, H / w, W / w, w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B, H, W, C});
}

// timm's get_attn_mask: label the padded image with 9 regions, mask pairs with different labels.
Tensor shift_mask(int64_t H, int64_t W, int64_t w, int64_t s) {
  auto region = [&](int64_t i, int64_t size) { return i < size - w ? 0 : (i < size - s ? 1 : 2); };
  std::vector<double> labels(size_t(H * W));
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) labels[size_t(y * W + x)] = double(region(y, H) * 3 + region(x, W));
  const Tensor windows = window_partition(Tensor::from_vector(labels, {1, H, W, 1}), w);  // (nW, N, 1)
  const int64_t nW = windows.size(0), N = w * w;
  const std::vector<double> lab = windows.to_doubles();
  std::vector<double> mask(size_t(nW * N * N));
  for (int64_t k = 0; k < nW; ++k)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j)
        mask[size_t((k * N + i) * N + j)] = lab[size_t(k * N + i)] == lab[size_t(k * N + j)] ? 0.0 : -100.0;
  return Tensor::from_vector(mask, {nW, 1, N, N});
}

}  // namespace

SwinBlock::SwinBlock(const SwinConfig& c, int64_t dim, int64_t heads, int64_t res_h, int64_t res_w, int64_t target_shift,
                     double dpr, uint64_t seed) {
  drop_path_rate = dpr;
  width = dim;
  // timm's _calc_window_shift: a stage that fits in one window uses its size and never shifts.
  const int64_t res = std::min(res_h, res_w);
  window = res <= c.window_size ? res : c.window_size;
  shift = res <= window ? 0 : target_shift;
  norm1 = std::make_shared<LayerNorm>(dim, c.eps);
  attn = std::make_shared<WindowAttention>(dim, heads, window, c.qkv_bias, seed + 10);
  norm2 = std::make_shared<LayerNorm>(dim, c.eps);
  mlp = std::make_shared<Mlp>(dim, int64_t(double(dim) * c.mlp_ratio), seed + 20);
  register_slot("norm1", norm1);
  register_slot("attn", attn);
  register_slot("norm2", norm2);
  register_slot("mlp", mlp);
  if (shift > 0)
    attn_mask = shift_mask((res_h + window - 1) / window * window, (res_w + window - 1) / window * window, window, shift);
}

Tensor SwinBlock::window_attention(const Tensor& input) const {
  const int64_t B = input.size(0), H = input.size(1), W = input.size(2);
  Tensor x = shift ? roll(input, {-shift, -shift}, {1, 2}) : input;
  const int64_t pad_h = (window - H % window) % window, pad_w = (window - W % window) % window;
  if (pad_h || pad_w) x = pad(x, {0, 0, 0, pad_w, 0, pad_h});
  const int64_t Hp = H + pad_h, Wp = W + pad_w, nW = (Hp / window) * (Wp / window), N = window * window;
  Tensor bias = attn->relative_bias();  // (1, heads, N, N)
  if (attn_mask.defined())              // (nW, heads, N, N), repeated for each image: window b * nW + k
    bias = add(bias, attn_mask).unsqueeze(0).expand({B, nW, attn->heads, N, N}).reshape({B * nW, attn->heads, N, N});
  x = window_reverse(attn->forward(window_partition(x, window), bias), window, B, Hp, Wp);
  if (pad_h || pad_w) x = x.narrow(1, 0, H).narrow(2, 0, W);
  return shift ? roll(x, {shift, shift}, {1, 2}) : x;
}

Tensor SwinBlock::forward(const Tensor& input) const {
  Tensor x = apply_token_hooks(input);
  x = add(x,
          run_branch(Branch::attention, x, [this](const Tensor& h) { return drop_path(window_attention(norm1->forward(h))); }));
  x = add(x, run_branch(Branch::mlp, x, [this](const Tensor& h) { return drop_path(mlp->forward(norm2->forward(h))); }));
  return run_taps(x);
}

PatchMerging::PatchMerging(int64_t dim, int64_t out_dim, double eps, uint64_t seed) {
  norm = std::make_shared<LayerNorm>(4 * dim, eps);
  reduction = std::make_shared<Linear>(4 * dim, out_dim, false, seed);
  register_slot("norm", norm);
  register_slot("reduction", reduction);
}

Tensor PatchMerging::forward(const Tensor& input) const {
  Tensor x = input;
  const int64_t B = x.size(0), C = x.size(3);
  if (x.size(1) % 2 || x.size(2) % 2) x = pad(x, {0, 0, 0, x.size(2) % 2, 0, x.size(1) % 2});
  const int64_t H = x.size(1), W = x.size(2);
  // (B, H/2, dh, W/2, dw, C) -> (B, H/2, W/2, dw, dh, C): offset (2 dw + dh) C in the 4C vector.
  x = x.reshape({B, H / 2, 2, W / 2, 2, C}).permute({0, 1, 3, 4, 2, 5}).reshape({B, H / 2, W / 2, 4 * C});
  return reduction->forward(norm->forward(x));
}

SwinTransformer::SwinTransformer(const std::string& name, const SwinConfig& c, uint64_t seed) : config(c) {
  config.validate();
  architecture = name;
  in_chans = config.in_chans;
  img_h = config.img_h;  // strict_img_size, as timm
  img_w = config.img_w;
  num_classes = config.num_classes;
  head_drop_rate = config.drop_rate;
  num_features = config.embed_dims.back();
  Generator gen(seed);
  const int64_t P = config.patch_size;
  patch_proj = std::make_shared<Conv2d>(config.in_chans, config.embed_dims[0], P, Conv2dOptions{P, P, 0, 0, 1}, true, seed + 1);
  patch_norm = std::make_shared<LayerNorm>(config.embed_dims[0], config.eps);
  register_slot("patch_embed.proj", patch_proj);
  register_slot("patch_embed.norm", patch_norm);
  int64_t res_h = config.img_h / P, res_w = config.img_w / P, total = 0, block_index = 0;
  for (int64_t d : config.depths) total += d;
  const std::vector<double> dpr = drop_path_schedule(config.drop_path_rate, total);
  downsamples.resize(config.depths.size());  // sized once: slots must not move
  for (size_t i = 0; i < config.depths.size(); ++i) {
    const std::string stage = "layers." + std::to_string(i);
    const int64_t dim = config.embed_dims[i];
    if (i > 0) {
      downsamples[i] = std::make_shared<PatchMerging>(config.embed_dims[i - 1], dim, config.eps, seed + 1000 * (i + 1));
      register_slot(stage + ".downsample", downsamples[i]);
      res_h = (res_h + 1) / 2;
      res_w = (res_w + 1) / 2;
    }
    stages.emplace_back();
    for (int64_t j = 0; j < config.depths[i]; ++j, ++block_index) {
      const int64_t shift = j % 2 ? config.window_size / 2 : 0;
      stages.back().push_back(
          register_module(stage + ".blocks." + std::to_string(j),
                          std::make_shared<SwinBlock>(config, dim, config.num_heads[i], res_h, res_w, shift,
                                                      dpr[size_t(block_index)], seed + 1000 * (i + 1) + 10 * (j + 1))));
    }
  }
  norm = std::make_shared<LayerNorm>(num_features, config.eps);
  register_slot("norm", norm);
  add_classifier("head.fc", seed + 7);
  finish_construction(gen, /*init_convs=*/false);
}

Tensor SwinTransformer::forward_features(const Tensor& images) const {
  Tensor x = patch_norm->forward(patch_proj->forward(images).permute({0, 2, 3, 1}));  // (B, H, W, C)
  for (size_t i = 0; i < stages.size(); ++i) {
    if (downsamples[i]) x = downsamples[i]->forward(x);
    for (const auto& block : stages[i]) x = block->forward(x);
  }
  return norm->forward(x);
}

Tensor SwinTransformer::forward_head(const Tensor& features) const {
  Tensor x = mean(features, {1, 2});  // (B, C)
  return classify(x);
}

int64_t SwinTransformer::remap_checkpoint_keys(std::vector<std::string>& keys) const {
  // timm < 0.9 and Microsoft's checkpoints: downsample at the end of stages 0..2, classifier `head`.
  bool old = false;  // only an old layout has layers.0.downsample or a bare head.weight
  for (const std::string& k : keys) old |= k.rfind("layers.0.downsample.", 0) == 0 || k == "head.weight";
  if (!old) return 0;
  int64_t renamed = 0;
  const std::regex downsample(R"(^layers\.(\d+)\.downsample\.)");
  for (std::string& k : keys) {
    std::smatch m;
    std::string renamed_key = k;
    if (std::regex_search(k, m, downsample))
      renamed_key = "layers." + std::to_string(std::stoi(m[1]) + 1) + ".downsample." + k.substr(size_t(m.length(0)));
    else if (k.rfind("head.", 0) == 0)
      renamed_key = "head.fc." + k.substr(5);
    if (renamed_key != k) {
      k = renamed_key;
      ++renamed;
    }
  }
  return renamed;
}

bool SwinTransformer::ignores_checkpoint_key(const std::string& key) const {
  auto ends = [&](const std::string& s) {
    return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0;
  };
  return ends("relative_position_index") || ends("attn_mask");
}

}  // namespace frost::models
