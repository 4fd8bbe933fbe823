// frost.cpp: the `frost` binary: the command table's dispatch (commands.cpp) and error reporting. User errors (flags,
// files, shapes) print one line naming what was wrong and exit with status 2.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace {

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
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return frost::cli::run_command_line(args);
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
