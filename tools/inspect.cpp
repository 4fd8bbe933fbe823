// inspect.cpp: `frost inspect FILE`: the tensors of a safetensors file with dtype and shape, after
// every check the reader makes; tensors that carry a checksum are verified.
#include <cstdio>
#include <stdexcept>

#include "engine/safetensors.h"
#include "tools/cli.h"

namespace frost::cli {

const CommandSpec& inspect_spec() {
  static const CommandSpec spec = {"frost inspect",
                                   "the tensors of a safetensors file (name, dtype, shape) and its metadata, every check made",
                                   "FILE",
                                   {},
                                   {"frost inspect runs/demo/upstream.safetensors", "frost inspect RUN/best.ckpt"}};
  return spec;
}

int run_inspect(const std::vector<std::string>& args) {
  const Flags flags(inspect_spec(), args);
  if (flags.positional().size() != 1)
    throw UsageError("frost inspect: expected one file, got " + std::to_string(flags.positional().size()),
                     usage_text(inspect_spec()));
  const SafetensorsFile file = SafetensorsFile::open(flags.positional()[0]);
  int64_t total = 0, verified = 0;
  for (const auto& e : file.entries()) {
    total += shape_numel(e.shape);
    file.verify(e);
    verified += file.has_checksum(e.name);
    std::printf("%-60s %-5s %s\n", e.name.c_str(), e.dtype_name.c_str(), shape_str(e.shape).c_str());
  }
  for (const auto& [key, value] : file.metadata())
    if (key != kChecksumKey) std::printf("metadata %s = %s\n", key.c_str(), value.c_str());
  std::printf("%zu tensors, %lld elements", file.entries().size(), (long long)total);
  if (verified > 0) std::printf(", %lld checksums verified", (long long)verified);
  std::printf("\n");
  return 0;
}

}  // namespace frost::cli
