// replay.cpp: runs every file of tests/fuzz/corpus/<target>/ through its target (targets.h), so
// each input that ever crashed, hung or blew up memory stays fixed in the normal build, and
// under ASan + UBSan in `tools/test.sh --sanitize`. A crash or sanitizer report fails the test;
// a target that takes over two seconds on one input is reported as a hang, and a process that
// grows past 1 GiB resident as a memory bomb (libFuzzer's -malloc_limit_mb also catches blocks
// that are allocated and never touched).
#include <sys/resource.h>
#include <algorithm>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/targets.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_replay CORPUS_DIR\n");
    return 2;
  }
  const fs::path root = argv[1];
  int failures = 0;
  size_t total = 0;
  bool bombed = false;  // the peak only grows: report the first input that raised it too far
  for (const frost::fuzz::TargetInfo& t : frost::fuzz::kTargets) {
    const fs::path dir = root / t.name;
    if (!fs::is_directory(dir)) {
      std::fprintf(stderr, "fuzz_replay: %s: no corpus folder for target '%s'\n", dir.c_str(), t.name);
      ++failures;
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    double slowest = 0;
    for (const fs::path& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
      const auto t0 = std::chrono::steady_clock::now();
      t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      slowest = std::max(slowest, s);
      if (s > 2.0) {
        std::fprintf(stderr, "fuzz_replay: %s: %.2f s on one input (a hang)\n", f.c_str(), s);
        ++failures;
      }
      rusage usage{};
      getrusage(RUSAGE_SELF, &usage);
      if (usage.ru_maxrss > (1L << 20) && !bombed) {  // kilobytes
        std::fprintf(stderr, "fuzz_replay: %s: the process reached %ld MB resident (a memory bomb)\n", f.c_str(),
                     usage.ru_maxrss >> 10);
        bombed = true;
        ++failures;
      }
    }
    total += files.size();
    std::printf("%-12s %4zu inputs, slowest %.3f s  (%s)\n", t.name, files.size(), slowest, t.what);
  }
  std::printf("fuzz_replay: %zu inputs, %d failures\n", total, failures);
  return failures == 0 ? 0 : 1;
}
