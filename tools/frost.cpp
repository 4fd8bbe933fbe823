// frost.cpp: the `frost` binary: subcommand dispatch and error reporting. User errors (flags,
// files, shapes) print one line naming what was wrong and exit with status 2.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace {

void usage() {
  std::puts(
      "usage: frost <command> [flags]\n"
      "  demo     [--batch B] [--image S] [--dim C] [--depth L] [--heads H] [--threads T]\n"
      "           forward and backward of a built-in ViT, fully trainable and frozen\n"
      "  bench gemm --m M --n N --k K [--threads T] [--repeat R] [--kernel avx512|avx2|portable]\n"
      "           f32 GEMM throughput in GFLOP/s (validated against the reference first)\n"
      "  inspect  FILE.safetensors   list the tensors of a checkpoint");
}

}  // namespace

int main(int argc, char** argv) {
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
    std::fprintf(stderr, "frost: unknown command '%s'\n", command.c_str());
    usage();
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frost: %s\n", e.what());
    return 2;
  }
}
