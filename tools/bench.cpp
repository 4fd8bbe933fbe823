// bench.cpp: `frost bench gemm`: validates the fast f32 GEMM against the
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

const CommandSpec& bench_gemm_spec() {
  static const CommandSpec spec = {
      "frost bench gemm",
      "f32 GEMM throughput in GFLOP/s, validated against the reference loop first",
      "",
      {{"m", "M", "1024", "rows of C"},
       {"n", "N", "1024", "columns of C"},
       {"k", "K", "1024", "the inner dimension"},
       {"repeat", "R", "5", "timed runs after one warm-up; the best is reported"},
       {"kernel", "avx512|avx2|portable", "", "force one kernel (default: the best this CPU runs)"},
       {"trans-a", "", "", "A stored (K, M), as a weight gradient's g^T"},
       {"trans-b", "", "", "B stored (N, K), as a linear layer's W^T"},
       common_flag("threads")},
      {"frost bench gemm --m 1024 --n 1024 --k 1024", "frost bench gemm --m 3136 --n 384 --k 96 --trans-b --threads 2"}};
  return spec;
}

int run_bench_gemm(const std::vector<std::string>& args) {
  const Flags flags(bench_gemm_spec(), args);
  const int64_t M = flags.get_int("m"), N = flags.get_int("n"), K = flags.get_int("k");
  const int64_t repeat = flags.get_int("repeat");
  apply_threads_flag(flags);
  const std::string kernel = flags.get("kernel");
  cpu::gemm_f32_force_kernel(kernel.c_str());
  const bool trans_a = flags.has("trans-a");  // A stored (K, M): a weight gradient's g^T
  const bool trans_b = flags.has("trans-b");  // B stored (N, K): a linear layer's W^T

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

}  // namespace frost::cli
