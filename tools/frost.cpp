// frost.cpp: the `frost` binary: subcommand dispatch and error reporting. User errors (flags,
// files, shapes) print one line naming what was wrong and exit with status 2.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "peft/method.h"
#include "tools/cli.h"

namespace {

void usage() {
  std::string methods;
  for (const frost::peft::MethodInfo& m : frost::peft::all_methods()) methods += std::string(" ") + m.name;
  std::printf(
      "usage: frost <command> [flags]\n"
      "  demo     [--output DIR] [--data-dir DIR] [--methods full,linear,lora,...] [--epochs N] [--upstream-epochs N]\n"
      "           [--upstream supervised|mae|both]\n"
      "           the transfer benchmark: a small ViT pretrained on Fashion-MNIST classes 0-4, transferred to\n"
      "           classes 5-9 (1,000 images) with full, linear and PEFT; writes DIR/transfer.csv\n"
      "  bench autograd [--batch B] [--image S] [--dim C] [--depth L] [--heads H] [--threads T]\n"
      "           forward and backward of a small ViT, fully trainable and frozen\n"
      "  bench gemm --m M --n N --k K [--threads T] [--repeat R] [--kernel avx512|avx2|portable] [--trans-a 1] [--trans-b 1]\n"
      "           f32 GEMM throughput in GFLOP/s (validated against the reference first)\n"
      "  inspect  FILE.safetensors   list the tensors of a checkpoint\n"
      "  --model NAME|DIR: a timm name or a timm hub folder (config.json + model.safetensors, its own weights)\n"
      "  forward  --model NAME [--model-args JSON] --weights FILE [--adapter DIR] --input FILE --out FILE\n"
      "           [--grads] [--non-strict] [--device cpu|cuda] [--precision f32|bf16]\n"
      "           logits, loss and gradients of a timm model (optionally with an HF peft LoRA adapter)\n"
      "  train    --model NAME --dataset folder|vtab|fgvc|cifar10|cifar100|mnist|fmnist --data-dir DIR [--peft SPEC]\n"
      "           [--weights FILE] [--epochs N] [--batch-size B] [--opt adamw|sgd] [--lr LR] [--output DIR] [--resume DIR]\n"
      "           [--device cpu|cuda[:N]] [--precision f32|bf16] ...\n"
      "           fine-tune; writes summary.csv, last/best.ckpt and adapter/ into --output\n"
      "  pretrain --method mae|supervised --model NAME --dataset KIND [train flags] [--mask-ratio 0.75] [--norm-pix-loss]\n"
      "           [--decoder-dim 512] [--decoder-depth 8] [--decoder-heads 16]\n"
      "           pre-train upstream; writes OUTPUT/encoder.safetensors (timm keys) for train --weights\n"
      "  eval     --checkpoint RUN/best.ckpt [--weights BASE] | --model NAME --weights FILE [--adapter DIR]\n"
      "           --dataset KIND --data-dir DIR [--split test]   top-1, top-5, per-class accuracy\n"
      "  bench model --model NAME [--model-args JSON] [--batch B] [--img-size S] [--repeat R] [--threads T]\n"
      "           forward and forward+backward milliseconds per image\n"
      "  bench step --model NAME [--model-args JSON] --peft SPEC [--batch N] [--img-size S] [--steps K] [--warmup W] [--json]\n"
      "           [--device cpu|cuda] [--precision f32|bf16] [--threads T] [--profile | --profile-shapes]\n"
      "           ms per training step, images/s, peak allocator bytes; --profile: where the time goes, per op\n"
      "  bench kernels [--family elementwise|reduce|norm|softmax|gemm|attention|conv|optim] [--batch B] [--runs N]\n"
      "           [--json]   each CUDA kernel checked against the CPU, then timed at ViT-B/Swin-T/ConvNeXt-T shapes\n"
      "  methods  [--specs | --counts]   the PEFT methods with their keys, defaults and placement (Markdown)\n"
      "  params   --model NAME [--model-args JSON] [--peft SPEC] [--json]   total, trainable and PEFT-only counts\n"
      "  merge    --model NAME [--model-args JSON] --weights BASE --adapter DIR --out FILE\n"
      "           fold a mergeable adapter into the weights: a plain timm checkpoint\n"
      "  --peft SPEC: NAME[:key=value,...][+NAME...]; methods:%s\n"
      "           (frost methods, README)\n",
      methods.c_str());
}

// libgomp lets idle worker threads spin for 300k iterations before sleeping. On virtual machines
// that spinning is paid for by the thread doing the work (pause-loop exits, shared cores): a
// measured 4x slower backward pass on the 2-vCPU reference VM, against no loss in GEMM throughput
// with a short spin. libgomp reads its settings before main() runs, so when the user has chosen
// neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT, frost sets a short spin and re-executes itself once.
void shorten_openmp_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("GOMP_SPINCOUNT", "10000", 0);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

}  // namespace

int main(int argc, char** argv) {
  shorten_openmp_spin(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    usage();
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (command == "demo") return frost::cli::run_demo(rest);
    if (command == "bench") return frost::cli::run_bench(rest);
    if (command == "inspect") return frost::cli::run_inspect(rest);
    if (command == "forward") return frost::cli::run_forward_command(rest);
    if (command == "train") return frost::cli::run_train_command(rest);
    if (command == "pretrain") return frost::cli::run_pretrain_command(rest);
    if (command == "eval") return frost::cli::run_eval_command(rest);
    if (command == "methods") return frost::cli::run_methods_command(rest);
    if (command == "params") return frost::cli::run_params_command(rest);
    if (command == "merge") return frost::cli::run_merge_command(rest);
    std::fprintf(stderr, "frost: unknown command '%s'\n", command.c_str());
    usage();
    return 2;
  } catch (const std::bad_alloc&) {
    // Sizes from files and flags are bounded before allocation; what is left is a real shortage.
    std::fprintf(stderr, "frost %s: out of memory (the model, batch or image sizes asked for do not fit this machine)\n",
                 argc > 1 ? argv[1] : "");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frost: %s\n", e.what());
    return 2;
  }
}
