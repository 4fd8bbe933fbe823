// test_gpu.cpp: the gpu suite's op table. Every op runs on cuda:0 and on the CPU from the same
// fresh random inputs (a new seed per run, printed; FROST_GPU_SEED repeats one), with every
// device block poisoned (NaN bytes) before it is handed out, on odd sizes, strided and broadcast
// views and empty tensors; outputs and input gradients must agree within these bounds
// (1e-5 relative for elementwise, norm and softmax; 1e-4 for GEMM, conv and attention).
// Exits 77 (Meson's "skipped") when the build has no CUDA backend or no device is visible.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include "tests/tap_cases.h"

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/upload.h"
#include "kernels/caching_allocator.h"
#include "tests/helpers.h"
#include "tests/op_cases.h"
#ifdef FROST_HAVE_CUDA
#include "kernels/cuda/backend.h"
#endif

using namespace frost;

namespace {

const Device kGpu = Device::cuda(0);
uint64_t g_seed = 0;

void run_all(const std::vector<test::OpCase>& cases, uint64_t base, DType dtype) {
  for (size_t i = 0; i < cases.size(); ++i) {
    SECTION(cases[i].name) {
      INFO(cases[i].name << " in " << dtype_name(dtype) << " (FROST_GPU_SEED=" << g_seed << ")");
      test::check_case(cases[i], base + 1000 * i, {kGpu, dtype}, {Device::cpu(), dtype});
    }
  }
}

}  // namespace

TEST_CASE("cuda elementwise ops match the CPU", "[gpu]") {
  for (DType dtype : {DType::f32, DType::bf16, DType::f64}) run_all(test::elementwise_cases(), g_seed, dtype);
}
TEST_CASE("cuda reductions, shape ops and random masks match the CPU", "[gpu]") {
  for (DType dtype : {DType::f32, DType::bf16, DType::f64}) run_all(test::reduction_and_shape_cases(), g_seed + 1, dtype);
}
TEST_CASE("cuda norms, softmax and cross-entropy match the CPU", "[gpu]") {
  for (DType dtype : {DType::f32, DType::bf16, DType::f64}) run_all(test::norm_softmax_cases(), g_seed + 2, dtype);
}
TEST_CASE("cuda GEMM, convolution and attention match the CPU", "[gpu]") {
  for (DType dtype : {DType::f32, DType::bf16, DType::f64}) run_all(test::gemm_conv_attention_cases(), g_seed + 3, dtype);
}

// Past the launch caps: grid_for caps a grid at 65535 * 8 blocks of 256 threads (134 M elements),
// beyond which each thread takes several; past 2^31 elements every index must be 64-bit. bf16
// keeps the big case at 4 GiB a tensor; only the device computes, spot values are read back.
TEST_CASE("cuda elementwise and reductions past the grid cap and past 2^31 elements", "[gpu]") {
  for (const int64_t n : {int64_t(140) << 20, (int64_t(1) << 31) + 1000}) {
    INFO("elements " << n);
    const Tensor a = Tensor::full({n}, 1.5, DType::bf16, kGpu);
    const Tensor b = add(a, a);  // 3.0
    for (const int64_t at : {int64_t(0), n / 2, n - 1}) CHECK(b.narrow(0, at, 1).to(Device::cpu()).to_doubles()[0] == 3.0);
    const double total = sum(b.to(DType::f32)).to(Device::cpu()).to_doubles()[0];  // 3n, in f32 accumulation
    CHECK(std::abs(total - 3.0 * double(n)) <= 1e-3 * 3.0 * double(n));
  }
}

TEST_CASE("cuda allocator counts bytes and copies round-trip", "[gpu]") {
  Allocator& gpu = allocator_for(kGpu);
  const size_t base = gpu.live_bytes();
  const Tensor host = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  {
    const Tensor dev = host.to(kGpu);
    CHECK(dev.device() == kGpu);
    CHECK(gpu.live_bytes() - base == 24);
    CHECK(dev.to(Device::cpu()).to_doubles() == host.to_doubles());
    CHECK(host.transpose(0, 1).to(kGpu).to_doubles() == host.transpose(0, 1).contiguous().to_doubles());
  }
  CHECK(gpu.live_bytes() == base);
  CHECK_THROWS_WITH(allocator_for(Device::cuda(99)), Catch::Contains("no such device"));
  // Mixed devices are an error naming both tensors.
  CHECK_THROWS_WITH(add(host, host.to(kGpu)), Catch::Contains("different devices") && Catch::Contains("cuda:0"));
}

TEST_CASE("cuda allocator: steady state without cudaMalloc, out of memory named", "[gpu]") {
  auto& gpu = dynamic_cast<CachingAllocator&>(allocator_for(kGpu));
  for (int step = 0; step < 2; ++step) {
    const int64_t before = gpu.device_allocations();
    {
      const Tensor a = Tensor::empty({197, 768}, DType::f32, kGpu);
      const Tensor b = Tensor::empty({64, 3072}, DType::f32, kGpu);
    }
    if (step == 1) CHECK(gpu.device_allocations() == before);  // the second "step" reuses the first's blocks
  }
  CHECK_THROWS_WITH(Tensor::empty({int64_t(1) << 40}, DType::f32, kGpu),
                    Catch::Contains("cuda:0: out of memory allocating 4398046511104 bytes") && Catch::Contains("live"));
}

TEST_CASE("pinned host staging copies round-trip", "[gpu]") {
  Tensor staged = Tensor::empty_pinned({3, 1000});
  REQUIRE(pinned_host_allocator() != nullptr);
  const Tensor values = test::normal({3, 1000}, 5, DType::f32);
  copy_into(staged, values);
  CHECK(staged.to(kGpu).to(Device::cpu()).to_doubles() == values.to_doubles());
}

TEST_CASE("cuda clip_grad_norm and a constant index table match the CPU, with one host read", "[gpu]") {
  std::vector<NamedTensor> cpu_params, gpu_params;
  for (int64_t i = 0; i < 3; ++i) {
    const Tensor w = test::normal({1000 * i + 7, 33}, 40 + uint64_t(i), DType::f32).set_requires_grad(true);
    sum(mul(w, w)).backward();
    cpu_params.push_back({"w" + std::to_string(i), w});
    const Tensor wg = w.detach().to(kGpu).set_requires_grad(true);
    sum(mul(wg, wg)).backward();
    gpu_params.push_back({"w" + std::to_string(i), wg});
  }
  const double cpu_norm = clip_grad_norm(cpu_params, 1.0);
  const int64_t before = host_reads_total();
  const double gpu_norm = clip_grad_norm(gpu_params, 1.0);
  CHECK(host_reads_total() == before + 1);
  CHECK(gpu_norm == Approx(cpu_norm).epsilon(1e-12));
  for (size_t i = 0; i < cpu_params.size(); ++i)
    CHECK(test::rel_error(gpu_params[i].tensor.grad().to(Device::cpu()), cpu_params[i].tensor.grad()) < 1e-6);

  const IndexTable table({4, 0, 2, 2, 4}, {5});
  const Tensor x = test::normal({5, 3}, 9, DType::f32), xg = x.to(kGpu);
  (void)index_select(xg, 0, table);  // builds and uploads the tables
  const int64_t reads = host_reads_total();
  const Tensor y = index_select(xg, 0, table);
  CHECK(host_reads_total() == reads);
  CHECK(y.to(Device::cpu()).to_doubles() == index_select(x, 0, table).to_doubles());
}

TEST_CASE("uploads on the copy stream: after the work queued before them, before the work that takes them", "[gpu]") {
  Uploader uploader(kGpu, 2);
  // A block freed while a kernel still reads it goes to the next request at once: an upload into
  // it must wait for that kernel (a race would make b read 3s).
  const int64_t n = int64_t(1) << 26;
  Tensor a = Tensor::full({n}, 1.0, DType::f32, kGpu);
  const Tensor b = mul(exp(mul(a, 0.5)), 2.0);
  a = Tensor();
  const std::vector<float> threes(size_t(n), 3.0f);
  PendingUpload p = uploader.stage(threes.data(), {n}, DType::f32);
  const Tensor t = p.take();
  CHECK(max(b, 0).item() == Approx(2.0 * std::exp(0.5)));
  CHECK(max(neg(b), 0).item() == Approx(-2.0 * std::exp(0.5)));
  CHECK(sum(t).item() == Approx(3.0 * double(n)));
  CHECK_THROWS_WITH(p.take(), Catch::Contains("nothing staged, or already taken"));
  // More batches than staging buffers, each checked after the ones staged behind it.
  std::vector<std::vector<int64_t>> labels;
  std::vector<PendingUpload> pending;
  for (int64_t i = 0; i < 5; ++i) {
    labels.push_back({i, 2 * i, 3 * i});
    pending.push_back(uploader.stage(labels.back().data(), {3}, DType::i64));
  }
  for (int64_t i = 0; i < 5; ++i)
    CHECK(pending[size_t(i)].take().to_doubles() == std::vector<double>{double(i), double(2 * i), double(3 * i)});
}

int main(int argc, char** argv) {
#ifdef FROST_HAVE_CUDA
  if (cuda::device_count() == 0) {
    std::puts("no CUDA device visible: gpu suite skipped");
    return 77;
  }
  const char* fixed = std::getenv("FROST_GPU_SEED");
  g_seed = fixed ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
  std::printf("# gpu suite seed %llu (FROST_GPU_SEED=%llu repeats this run)\n", (unsigned long long)g_seed,
              (unsigned long long)g_seed);
  dynamic_cast<CachingAllocator&>(allocator_for(kGpu)).set_poison(true);
  return Catch::Session().run(argc, argv);
#else
  (void)argc;
  (void)argv;
  std::puts("built without CUDA: gpu suite skipped");
  return 77;
#endif
}
