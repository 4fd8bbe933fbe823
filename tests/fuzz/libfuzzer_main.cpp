// libfuzzer_main.cpp: the libFuzzer binary `frost_fuzz --target=NAME [libFuzzer flags] [CORPUS]`,
// one binary for every entry of kTargets (libFuzzer leaves flags that start with "--" to the
// target; `--list` prints the targets and their dictionaries). Built with -Dfuzz=true (clang);
// see tools/fuzz.sh.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/fuzz/targets.h"

namespace {
frost::fuzz::Target g_target = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  std::string names;
  for (int i = 1; i < *argc; ++i)
    if (std::strcmp((*argv)[i], "--list") == 0) {  // "<name> <dictionary>" per line, for tools/fuzz.sh
      for (const frost::fuzz::TargetInfo& t : frost::fuzz::kTargets) std::printf("%s %s\n", t.name, t.dict);
      std::exit(0);
    }
  for (int i = 1; i < *argc; ++i)
    if (std::strncmp((*argv)[i], "--target=", 9) == 0)
      for (const frost::fuzz::TargetInfo& t : frost::fuzz::kTargets)
        if (std::strcmp((*argv)[i] + 9, t.name) == 0) g_target = t.run;
  for (const frost::fuzz::TargetInfo& t : frost::fuzz::kTargets) names += std::string(names.empty() ? "" : ", ") + t.name;
  if (!g_target) {
    std::fprintf(stderr, "frost_fuzz: give --target=NAME, one of %s\n", names.c_str());
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return g_target(data, size); }
