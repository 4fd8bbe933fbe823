// convnext.cpp: see convnext.h. Init as timm's _init_weights: conv and Linear weights
// normal(.02), zero biases, gamma = ls_init_value.
#include "models/convnext.h"

#include <regex>
#include <stdexcept>

namespace frost::models {

void ConvNeXtConfig::read(ArgReader& a) {
  in_chans = a.get_int("in_chans", in_chans);
  num_classes = a.get_int("num_classes", num_classes, 0);
  depths = a.get_int_list("depths", depths);
  dims = a.get_int_list("dims", dims);
  if (a.has("ls_init_value")) ls_init_value = a.is_null("ls_init_value") ? 0.0 : a.get_double("ls_init_value", 0.0);
  drop_rate = a.get_double("drop_rate", drop_rate, 0.0, 1.0);
  drop_path_rate = a.get_double("drop_path_rate", drop_path_rate, 0.0, 1.0);
  a.get_string("global_pool", "avg", {"avg"});  // the only pooling here (hub configs name it)
}

void ConvNeXtConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("ConvNeXt config: " + what); };
  if (depths.size() != dims.size())
    fail("depths has " + std::to_string(depths.size()) + " stages but dims has " + std::to_string(dims.size()));
  for (double p : {drop_rate, drop_path_rate})
    if (p < 0 || p >= 1) fail("drop rates must be in [0, 1)");
}

ConvNeXtBlock::ConvNeXtBlock(const ConvNeXtConfig& c, int64_t dim, double dpr, uint64_t seed) {
  drop_path_rate = dpr;
  width = dim;
  if (c.ls_init_value != 0.0) gamma = register_parameter("gamma", Tensor::full({dim}, c.ls_init_value));
  conv_dw = std::make_shared<Conv2d>(dim, dim, 7, Conv2dOptions{1, 1, 3, 3, dim}, true, seed + 1);
  norm = std::make_shared<LayerNorm>(dim, c.eps);
  mlp = std::make_shared<Mlp>(dim, 4 * dim, seed + 2);
  register_slot("conv_dw", conv_dw);
  register_slot("norm", norm);
  register_slot("mlp", mlp);
}

Tensor ConvNeXtBlock::forward(const Tensor& input) const {
  Tensor x = apply_token_hooks(input);
  x = add(x, run_branch(Branch::mlp, x, [this](const Tensor& h) {
            Tensor y = mlp->forward(norm->forward(conv_dw->forward(h).permute({0, 2, 3, 1})));  // (B, H, W, C)
            if (gamma.defined()) y = mul(y, gamma);
            return drop_path(y.permute({0, 3, 1, 2}));
          }));
  return run_taps(x);
}

ConvNeXt::ConvNeXt(const std::string& name, const ConvNeXtConfig& c, uint64_t seed) : config(c) {
  config.validate();
  architecture = name;
  in_chans = config.in_chans;
  min_img_size = int64_t(4) << (config.depths.size() - 1);  // at least 1x1 after the last downsample
  num_classes = config.num_classes;
  head_drop_rate = config.drop_rate;
  num_features = config.dims.back();
  Generator gen(seed);
  stem_conv = std::make_shared<Conv2d>(config.in_chans, config.dims[0], 4, Conv2dOptions{4, 4, 0, 0, 1}, true, seed + 1);
  stem_norm = std::make_shared<LayerNorm>(config.dims[0], config.eps, /*channels_first=*/true);
  register_slot("stem.0", stem_conv);
  register_slot("stem.1", stem_norm);
  int64_t total = 0, block_index = 0;
  for (int64_t d : config.depths) total += d;
  const std::vector<double> dpr = drop_path_schedule(config.drop_path_rate, total);
  down_norms.resize(config.depths.size());  // sized once: slots must not move
  down_convs.resize(config.depths.size());
  for (size_t i = 0; i < config.depths.size(); ++i) {
    const std::string stage = "stages." + std::to_string(i);
    if (i > 0) {
      down_norms[i] = std::make_shared<LayerNorm>(config.dims[i - 1], config.eps, true);
      down_convs[i] = std::make_shared<Conv2d>(config.dims[i - 1], config.dims[i], 2, Conv2dOptions{2, 2, 0, 0, 1}, true,
                                               seed + 1000 * (i + 1));
      register_slot(stage + ".downsample.0", down_norms[i]);
      register_slot(stage + ".downsample.1", down_convs[i]);
    }
    stages.emplace_back();
    for (int64_t j = 0; j < config.depths[i]; ++j, ++block_index)
      stages.back().push_back(register_module(stage + ".blocks." + std::to_string(j),
                                              std::make_shared<ConvNeXtBlock>(config, config.dims[i], dpr[size_t(block_index)],
                                                                              seed + 1000 * (i + 1) + 10 * (j + 1))));
  }
  head_norm = std::make_shared<LayerNorm>(num_features, config.eps);
  register_slot("head.norm", head_norm);
  add_classifier("head.fc", seed + 7);
  finish_construction(gen, /*init_convs=*/true);
}

Tensor ConvNeXt::forward_features(const Tensor& images) const {
  Tensor x = stem_norm->forward(stem_conv->forward(images));  // (B, C, H/4, W/4)
  for (size_t i = 0; i < stages.size(); ++i) {
    if (down_convs[i]) x = down_convs[i]->forward(down_norms[i]->forward(x));
    for (const auto& block : stages[i]) x = block->forward(x);
  }
  return x;
}

Tensor ConvNeXt::forward_head(const Tensor& features) const {
  Tensor x = head_norm->forward(mean(features, {2, 3}));  // avg pool, then LayerNorm over C
  return classify(x);
}

int64_t ConvNeXt::remap_checkpoint_keys(std::vector<std::string>& keys) const {
  // Facebook's original ConvNeXt names (timm's checkpoint_filter_fn); a timm checkpoint has head.norm.
  for (const std::string& k : keys)
    if (k.rfind("head.norm.", 0) == 0 || k.rfind("norm_pre.", 0) == 0) return 0;
  int64_t renamed = 0;
  const std::regex block(R"(^stages\.(\d+)\.(\d+)\.)"), down(R"(^downsample_layers\.(\d+)\.(\d+)\.)");
  auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
    return s;
  };
  for (std::string& k : keys) {
    std::string n = k;
    if (n.rfind("downsample_layers.0.", 0) == 0) n = "stem." + n.substr(20);
    n = std::regex_replace(n, block, "stages.$1.blocks.$2.");
    n = std::regex_replace(n, down, "stages.$1.downsample.$2.");
    n = replace_all(n, "dwconv", "conv_dw");
    n = replace_all(n, "pwconv", "mlp.fc");
    if (n.rfind("head.", 0) == 0) n = "head.fc." + n.substr(5);
    if (n.rfind("norm.", 0) == 0) n = "head." + n;
    if (n != k) {
      k = n;
      ++renamed;
    }
  }
  return renamed;
}

}  // namespace frost::models
