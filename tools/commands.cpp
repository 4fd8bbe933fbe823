// commands.cpp: the table of `frost` commands main() dispatches by, the global usage made from
// it, the flags several commands share, and how help and usage errors reach the user.
#include <omp.h>

#include <cstdio>

#include "peft/method.h"
#include "tools/cli.h"

namespace frost::cli {

FlagSpec required(FlagSpec flag) {
  flag.required = true;
  return flag;
}

FlagSpec common_flag(const std::string& name) {
  static const std::vector<FlagSpec> shared = {
      {"model", "NAME|DIR", "",
       "a timm model name (see the README's registry) or a timm hub folder (config.json + model.safetensors)"},
      {"model-args", "JSON", "", "timm model_args over the name's or the folder's, e.g. '{\"img_size\": 32}'"},
      {"weights", "FILE|DIR", "", "timm weights (.safetensors) or a hub folder holding model.safetensors"},
      {"adapter", "DIR", "", "a PEFT adapter folder (frost's, or HF peft's adapter_config.json + adapter_model.safetensors)"},
      {"peft", "SPEC", "full", "NAME[:key=value,...][+NAME...]; `frost methods` lists every method and key"},
      {"device", "cpu|cuda[:N]", "cpu", "where the model runs"},
      {"precision", "f32|bf16", "f32", "bf16: bf16 activations and frozen weights, f32 master weights"},
      {"threads", "T", "", "OpenMP threads (default: OMP_NUM_THREADS, else every core)"},
      {"batch-size", "B", "64", "images per batch"},
      {"workers", "N", "2", "image-decoding threads beside the main one"},
      {"json", "", "", "print one JSON object instead of text"},
  };
  for (const FlagSpec& f : shared)
    if (f.name == name) return f;
  throw std::logic_error("common_flag: no shared flag --" + name);
}

std::vector<FlagSpec> preprocessing_flags() {
  return {
      {"img-size", "S", "0", "input size in pixels; 0: the model's (its img_size, else 224)"},
      {"mean", "R,G,B", "", "normalisation mean, one number or three (default: the model's pretrained config)"},
      {"std", "R,G,B", "", "normalisation std, one number or three (default: the model's pretrained config)"},
      {"crop-pct", "P", "0", "evaluation: resize to size / P, then center-crop; 0: the pretrained config's"},
      {"interpolation", "bicubic|bilinear", "", "resize filter (default: the pretrained config's)"},
      {"crop-mode", "center|squash", "",
       "evaluation crop: center keeps the aspect, squash resizes both sides (default: the config's)"},
      {"direct-resize", "", "", "resize straight to the input size (no crop)"},
      {"strict-data", "", "", "an unreadable image stops the run (default: skipped and reported)"},
      {"max-image-pixels", "N", "25000000", "decoded images larger than this are refused; 0: no limit"},
  };
}

void apply_threads_flag(const Flags& flags) {
  if (flags.has("threads")) omp_set_num_threads(int(flags.get_int("threads")));
}

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = {
      {"train", train_spec, run_train_command},
      {"eval", eval_spec, run_eval_command},
      {"predict", predict_spec, run_predict_command},
      {"pretrain", pretrain_spec, run_pretrain_command},
      {"demo", demo_spec, run_demo},
      {"plot", plot_spec, run_plot_command},
      {"forward", forward_spec, run_forward_command},
      {"params", params_spec, run_params_command},
      {"merge", merge_spec, run_merge_command},
      {"methods", methods_spec, run_methods_command},
      {"inspect", inspect_spec, run_inspect},
      {"bench step", bench_step_spec, bench_step},
      {"bench model", bench_model_spec, bench_model},
      {"bench gemm", bench_gemm_spec, run_bench_gemm},
      {"bench autograd", bench_autograd_spec, bench_autograd},
      {"bench kernels", bench_kernels_spec, bench_kernels},
  };
  return commands;
}

std::string global_usage() {
  std::string methods;
  for (const peft::MethodInfo& m : peft::all_methods()) methods += std::string(" ") + m.name;
  std::string out = "usage: frost <command> [flags]   (frost <command> --help: its flags, defaults and examples)\n\ncommands:\n";
  for (const Command& c : all_commands()) {
    const std::string words = c.words;
    out += "  " + words + std::string(words.size() < 16 ? 16 - words.size() : 1, ' ') + c.spec().summary + "\n";
  }
  out += "\n--peft SPEC: NAME[:key=value,...][+NAME...]; methods:" + methods + "\n";
  return out;
}

namespace {

// The command the leading words name, and how many words that took; nullptr when none does.
const Command* find_command(const std::vector<std::string>& args, size_t& words) {
  for (const Command& c : all_commands()) {
    const bool two = c.words.find(' ') != std::string::npos;
    if (!two && !args.empty() && args[0] == c.words) {
      words = 1;
      return &c;
    }
    if (two && args.size() >= 2 && args[0] + " " + args[1] == c.words) {
      words = 2;
      return &c;
    }
  }
  return nullptr;
}

// `frost bench` alone or with an unknown benchmark: the list of benchmarks.
std::string bench_usage() {
  std::string out = "usage: frost bench <benchmark> [flags]   (frost bench <benchmark> --help)\n";
  for (const Command& c : all_commands())
    if (c.words.rfind("bench ", 0) == 0) out += "  " + c.words + std::string(16 - c.words.size(), ' ') + c.spec().summary + "\n";
  return out;
}

}  // namespace

int run_command_line(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    if (args.size() >= 2 && args[0] == "help") return run_command_line({args[1], args.size() > 2 ? args[2] : "--help", "--help"});
    std::fputs(global_usage().c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  size_t words = 0;
  const Command* command = find_command(args, words);
  if (!command) {
    const bool bench = args[0] == "bench";
    const bool asked = bench && args.size() >= 2 && (args[1] == "--help" || args[1] == "-h");
    if (!asked) {
      if (bench && args.size() >= 2)
        std::fprintf(stderr, "frost bench: unknown benchmark '%s'\n", args[1].c_str());
      else if (!bench)
        std::fprintf(stderr, "frost: unknown command '%s'\n", args[0].c_str());
    }
    std::fputs((bench ? bench_usage() : global_usage()).c_str(), asked ? stdout : stderr);
    return asked ? 0 : 2;
  }
  try {
    return command->run({args.begin() + std::ptrdiff_t(words), args.end()});
  } catch (const HelpRequested& help) {
    std::fputs(help.text.c_str(), stdout);
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n%s(frost %s --help: every flag with its default)\n", e.what(), e.usage.c_str(),
                 command->words.c_str());
    return 2;
  }
}

}  // namespace frost::cli
