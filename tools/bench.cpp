// bench.cpp: `frost bench gemm` (and the dispatch to `bench model`, bench_model.cpp): validates the fast f32 GEMM against the
// reference loop on a slice of the problem, then times it (best of --repeat after one warm-up) and prints GFLOP/s.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "engine/ops.h"
#include "kernels/cpu/gemm.h"
#include "tools/cli.h"

namespace frost::cli {

namespace {

int bench_gemm(const std::vector<std::string>& args) {
  Flags flags("frost bench gemm", args, {"m", "n", "k", "threads", "repeat", "kernel", "trans-a", "trans-b"});
  const int64_t M = flags.get_int("m", 1024), N = flags.get_int("n", 1024), K = flags.get_int("k", 1024);
  const int64_t repeat = flags.get_int("repeat", 5);
  if (flags.has("threads")) omp_set_num_threads(int(flags.get_int("threads", 1)));
  const std::string kernel = flags.get("kernel", "");
  cpu::gemm_f32_force_kernel(kernel.c_str());
  const bool trans_a = flags.get("trans-a", "0") == "1";  // A stored (K, M): a weight gradient's g^T
  const bool trans_b = flags.get("trans-b", "0") == "1";  // B stored (N, K): a linear layer's W^T

  Generator gen(1);
  const Tensor a = rand(trans_a ? Shape{K, M} : Shape{M, K}, gen), b = rand(trans_b ? Shape{N, K} : Shape{K, N}, gen);
  Tensor c = Tensor::empty({M, N});
  const cpu::MatrixRef A = trans_a ? cpu::mat(a.raw_data(), M, true) : cpu::mat(a.raw_data(), K);
  const cpu::MatrixRef B = trans_b ? cpu::mat(b.raw_data(), K, true) : cpu::mat(b.raw_data(), N);
  float* pc = c.typed_data<float>();

  // Validate: up to 64 rows against the reference triple loop.
  cpu::gemm_f32(M, N, K, 1.0f, A, B, 0.0f, pc, N);
  const int64_t rows = std::min<int64_t>(M, 64);
  std::vector<float> ref(size_t(rows * N));
  cpu::gemm_reference<float>(rows, N, K, 1.0f, A, B, 0.0f, ref.data(), N);
  double err = 0, norm = 0;
  for (int64_t i = 0; i < rows * N; ++i) {
    err += (double(pc[i]) - ref[i]) * (double(pc[i]) - ref[i]);
    norm += double(ref[i]) * ref[i];
  }
  const double rel = std::sqrt(err / std::max(norm, 1e-30));
  if (!(rel < 1e-5)) {
    std::fprintf(stderr, "frost bench gemm: result differs from the reference (relative error %.3g)\n", rel);
    return 1;
  }
  double best = 1e30;
  for (int64_t r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    cpu::gemm_f32(M, N, K, 1.0f, A, B, 0.0f, pc, N);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double gflops = 2.0 * double(M) * double(N) * double(K) / best / 1e9;
  std::printf("gemm f32 M=%lld N=%lld K=%lld%s%s threads=%d kernel=%s: %.2f ms, %.1f GFLOP/s (validated, rel err %.1e)\n",
              (long long)M, (long long)N, (long long)K, trans_a ? " A^T" : "", trans_b ? " B^T" : "", omp_get_max_threads(),
              cpu::gemm_f32_kernel_name(), best * 1e3, gflops, rel);
  return 0;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "gemm") return bench_gemm({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "model") return bench_model({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "step") return bench_step({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "kernels") return bench_kernels({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "autograd") return bench_autograd({args.begin() + 1, args.end()});
  throw std::invalid_argument("frost bench: expected a benchmark name: gemm, model, step, autograd or kernels");
}

}  // namespace frost::cli
