// pretrain.cpp: `frost pretrain --method mae|supervised`: pre-training a backbone upstream with the
// trainer of `frost train` (its flags, schedule, checkpoints, exact --resume, progress line), then
// writing RUN/encoder.safetensors under timm's keys for `frost train --weights`.
//   mae         MAE (models/mae.h): no labels used, the decoder trains with the encoder and is
//               dropped from the file, as is the (absent) head. Defaults as the paper's recipe where
//               frost train's differ: --weight-decay 0.05, --scale 0.2,1.0, --lr 1.5e-4 * batch / 256.
//   supervised  classification on the dataset's labels (what frost demo does upstream); the file
//               is the whole model, head included (frost train re-initialises a head of other size).
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "tools/cli.h"
#include "tools/train.h"

namespace frost::cli {

namespace fs = std::filesystem;

std::vector<FlagSpec> train_flags();  // train_cli.cpp

const CommandSpec& pretrain_spec() {
  static const CommandSpec spec = {
      "frost pretrain",
      "pre-train a backbone upstream (MAE, or supervised); writes OUTPUT/encoder.safetensors under timm's keys",
      "",
      with_flags({{"method", "mae|supervised", "", "the objective", true},
                  {"mask-ratio", "R", "0.75", "mae: the fraction of patches masked"},
                  {"norm-pix-loss", "", "", "mae: targets are each patch's pixels normalised by their mean and std"},
                  {"decoder-dim", "C", "512", "mae: the decoder's width"},
                  {"decoder-depth", "L", "8", "mae: the decoder's blocks"},
                  {"decoder-heads", "H", "16", "mae: the decoder's attention heads"}},
                 train_flags()),
      {"frost pretrain --method mae --model vit_base_patch16_224 --dataset folder --data-dir DATA --epochs 400 --norm-pix-loss",
       "frost pretrain --method supervised --model vit_small_patch16_224 --dataset cifar100 --data-dir cifar-100-binary"},
      "mae defaults where the paper's recipe differs from frost train's: --weight-decay 0.05, --scale 0.2,1.0,\n"
      "--lr 1.5e-4 * batch / 256. The flags of frost train (frost train --help) apply to both methods."};
  return spec;
}

int run_pretrain_command(const std::vector<std::string>& args) {
  const std::string cmd = "frost pretrain";
  const Flags f(pretrain_spec(), args);
  TrainOptions o = parse_train_flags(f);
  const std::string method = f.require("method");
  const bool mae_flags =
      f.has("mask-ratio") || f.has("norm-pix-loss") || f.has("decoder-dim") || f.has("decoder-depth") || f.has("decoder-heads");
  if (method == "supervised") {
    if (mae_flags) throw std::invalid_argument(cmd + ": --mask-ratio and the --decoder-* flags are for --method mae");
  } else if (method == "mae") {
    models::MaeConfig c;
    c.mask_ratio = f.get_double("mask-ratio");
    c.norm_pix_loss = f.has("norm-pix-loss");
    c.decoder_dim = f.get_int("decoder-dim");
    c.decoder_depth = f.get_int("decoder-depth");
    c.decoder_heads = f.get_int("decoder-heads");
    if (!(c.mask_ratio > 0 && c.mask_ratio < 1)) throw std::invalid_argument(cmd + ": --mask-ratio must be in (0, 1)");
    o.mae = c;
    if (!f.has("weight-decay")) o.weight_decay = 0.05;
    if (!f.has("scale")) o.scale = {0.2, 1.0};
    if (!f.has("lr")) o.lr = 1.5e-4 * double(o.batch_size) / 256.0;
  } else {
    throw std::invalid_argument(cmd + ": --method must be mae or supervised, got '" + method + "'");
  }
  if (o.output.empty())
    o.output = (fs::path("output") / "pretrain" / (method + "-" + fs::path(o.model).filename().string())).string();
  o.weights_out = (fs::path(o.output) / "encoder.safetensors").string();
  const TrainResult r = run_train(o);
  if (o.stop_after_steps > 0 && r.steps >= o.stop_after_steps) {
    std::printf("%s: stopped after %lld steps (--stop-after-steps); --resume %s continues\n", cmd.c_str(), (long long)r.steps,
                r.output.c_str());
    return 0;
  }
  std::printf("%s: done, %lld epochs", cmd.c_str(), (long long)r.epochs_done);
  if (r.last_eval_loss >= 0) std::printf(", last eval loss %.4f", r.last_eval_loss);
  if (r.last_top1 >= 0) std::printf(", last top-1 %.3f", r.last_top1);
  std::printf("; encoder in %s (frost train --weights reads it)\n", o.weights_out.c_str());
  return 0;
}

}  // namespace frost::cli
