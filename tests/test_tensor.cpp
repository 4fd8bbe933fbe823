// test_tensor.cpp: dtypes, devices, views, joins, allocator counters and error messages.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/optim.h"
#include "engine/upload.h"
#include "kernels/caching_allocator.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;

TEST_CASE("bf16 and f16 conversions round to nearest even and keep specials", "[cpu][tensor]") {
  CHECK(bf16_to_f32(f32_to_bf16(1.0f)) == 1.0f);
  CHECK(bf16_to_f32(f32_to_bf16(1.00390625f)) == 1.0f);       // exactly halfway: to even
  CHECK(bf16_to_f32(f32_to_bf16(1.01171875f)) == 1.015625f);  // halfway, odd below: up
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  CHECK(std::isinf(bf16_to_f32(f32_to_bf16(INFINITY))));
  CHECK(f16_to_f32(f32_to_f16(1.0f)) == 1.0f);
  CHECK(f16_to_f32(f32_to_f16(65504.0f)) == 65504.0f);
  CHECK(std::isinf(f16_to_f32(f32_to_f16(70000.0f))));
  CHECK(f16_to_f32(f32_to_f16(5.9604645e-8f)) == 5.9604645e-8f);  // smallest subnormal
  CHECK(f16_to_f32(f32_to_f16(1.0009765625f)) == 1.0009765625f);  // 1 + 2^-10
  CHECK(f16_to_f32(f32_to_f16(1.00048828125f)) == 1.0f);          // halfway: to even
  CHECK(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  // every f16 bit pattern survives f16 -> f32 -> f16
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) continue;
    REQUIRE(f32_to_f16(f) == h);
  }
}

TEST_CASE("tensor dtype conversion through every dtype", "[cpu][tensor]") {
  const Tensor x = Tensor::from_vector({0.0, 1.0, -2.5, 3.0, 255.0}, {5}, DType::f64);
  for (DType t : {DType::f32, DType::bf16, DType::f16}) CHECK(x.to(t).to(DType::f64).to_doubles() == x.to_doubles());
  CHECK(x.to(DType::i64).to_doubles() == std::vector<double>{0, 1, -2, 3, 255});
  CHECK(x.to(DType::boolean).to_doubles() == std::vector<double>{0, 1, 1, 1, 1});
  CHECK(x.to(DType::u8).to_doubles()[4] == 255.0);
  CHECK(dtype_from_name("bf16") == DType::bf16);
  CHECK_THROWS_WITH(dtype_from_name("f8"), Catch::Contains("unknown dtype 'f8'"));
}

TEST_CASE("devices parse and a build without CUDA says so", "[cpu][tensor]") {
  CHECK(Device::parse("cpu").is_cpu());
  CHECK(Device::parse("cuda:1").index == 1);
  CHECK(Device::parse("cuda").is_cuda());
  CHECK_THROWS_WITH(Device::parse("cuda:x"), Catch::Contains("unknown device 'cuda:x'"));
  CHECK_THROWS_WITH(Device::parse("gpu"), Catch::Contains("unknown device 'gpu'"));
  CHECK(Device::cuda(2).str() == "cuda:2");
}

TEST_CASE("views share storage and follow strides", "[cpu][tensor]") {
  const Tensor x = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  const Tensor t = x.transpose(0, 1);
  CHECK(t.shape() == Shape{4, 3});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.storage() == x.storage());
  CHECK(t.at({1, 2}) == 9.0);
  CHECK(t.contiguous().to_doubles() == std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  const Tensor n = x.narrow(1, 1, 2);
  CHECK(n.to_doubles() == std::vector<double>{1, 2, 5, 6, 9, 10});
  CHECK(n.storage() == x.storage());
  const Tensor e = x.narrow(0, 1, 1).expand({2, 4});
  CHECK(e.strides()[0] == 0);
  CHECK(e.to_doubles() == std::vector<double>{4, 5, 6, 7, 4, 5, 6, 7});
  CHECK(x.view({2, -1}).shape() == Shape{2, 6});
  CHECK(x.view({2, 6}).storage() == x.storage());
  CHECK(t.reshape({12}).storage() != x.storage());  // a transposed tensor cannot be flattened in place
  CHECK_THROWS_WITH(t.view({12}), Catch::Contains("cannot be viewed"));
  CHECK(x.unsqueeze(0).shape() == Shape{1, 3, 4});
  CHECK(x.unsqueeze(0).squeeze(0).shape() == Shape{3, 4});
  CHECK(x.view({3, 2, 2}).flatten(1).shape() == Shape{3, 4});
  CHECK_THROWS_WITH(x.narrow(1, 3, 2), Catch::Contains("outside dim 1"));
  CHECK_THROWS_WITH(x.expand({3, 5}), Catch::Contains("cannot expand"));
  CHECK_THROWS_WITH(x.permute({0, 0}), Catch::Contains("repeated"));
}

TEST_CASE("cat, split, stack, roll, pad and indexing", "[cpu][tensor]") {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  const Tensor b = Tensor::from_vector({5, 6}, {1, 2});
  CHECK(cat({a, b}, 0).to_doubles() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(cat({a, a}, 1).to_doubles() == std::vector<double>{1, 2, 1, 2, 3, 4, 3, 4});
  CHECK(stack({a, a}, 0).shape() == Shape{2, 2, 2});
  const auto parts = split(Tensor::arange(5, DType::f32), 2, 0);
  REQUIRE(parts.size() == 3);
  CHECK(parts[2].to_doubles() == std::vector<double>{4});
  CHECK(roll(Tensor::arange(5, DType::f32), {2}, {0}).to_doubles() == std::vector<double>{3, 4, 0, 1, 2});
  CHECK(roll(Tensor::arange(5, DType::f32), {-1}, {0}).to_doubles() == std::vector<double>{1, 2, 3, 4, 0});
  CHECK(pad(a, {1, 0}, -1).to_doubles() == std::vector<double>{-1, 1, 2, -1, 3, 4});
  const Tensor idx = Tensor::from_vector({1, 1, 0}, {3}, DType::i64);
  CHECK(index_select(a, 0, idx).to_doubles() == std::vector<double>{3, 4, 3, 4, 1, 2});
  CHECK(gather(a, 1, Tensor::from_vector({1, 0}, {2, 1}, DType::i64)).to_doubles() == std::vector<double>{2, 3});
  CHECK_THROWS_WITH(index_select(a, 0, Tensor::from_vector({2}, {1}, DType::i64)), Catch::Contains("index 2 is out of range"));
  CHECK_THROWS_WITH(cat({a, Tensor::zeros({2, 3})}, 0), Catch::Contains("outside dim 0"));
  CHECK_THROWS_WITH(add(a, Tensor::zeros({3})), Catch::Contains("do not broadcast"));
  CHECK_THROWS_WITH(matmul(a, Tensor::zeros({3, 2})), Catch::Contains("inner sizes differ"));
  CHECK_THROWS_WITH(linear(a, Tensor::zeros({2, 3})), Catch::Contains("does not match weight"));
  CHECK_THROWS_WITH(add(a, a.to(DType::f64)), Catch::Contains("mixed dtypes"));
  CHECK_THROWS_WITH(gelu(a.to(DType::f16)), Catch::Contains("f16 is not supported by the op kernels"));
  CHECK_THROWS_WITH(add(a.to(DType::bf16), a.to(DType::f64)), Catch::Contains("mixed dtypes"));
  CHECK_THROWS_WITH(conv2d(Tensor::zeros({1, 3, 4, 4}), Tensor::zeros({2, 3, 5, 5}), Tensor()),
                    Catch::Contains("larger than padded input"));
}

TEST_CASE("allocator counts live and peak bytes", "[cpu][tensor]") {
  Allocator& cpu = allocator_for(Device::cpu());
  const size_t base = cpu.live_bytes();
  cpu.reset_peak();
  {
    Tensor a = Tensor::empty({256}, DType::f32);
    Tensor b = Tensor::empty({128}, DType::f64);
    CHECK(cpu.live_bytes() - base == 1024 + 1024);
    Tensor view = a.narrow(0, 0, 10);  // views allocate nothing
    CHECK(cpu.live_bytes() - base == 2048);
  }
  CHECK(cpu.live_bytes() == base);
  CHECK(cpu.peak_bytes() - base == 2048);
  cpu.reset_peak();
  CHECK(cpu.peak_bytes() == base);
}

#ifndef FROST_HAVE_CUDA
TEST_CASE("cuda tensors fail clearly in a CPU-only build", "[cpu][tensor]") {
  CHECK_THROWS_WITH(Tensor::empty({2}, DType::f32, Device::cuda(0)), Catch::Contains("no CUDA backend"));
}
#else
TEST_CASE("a cuda tensor is created, or the error says that no GPU is visible", "[cpu][tensor]") {
  try {
    const Tensor t = Tensor::empty({2}, DType::f32, Device::cuda(0));
    CHECK(t.device() == Device::cuda(0));
  } catch (const std::exception& e) {
    CHECK_THAT(e.what(), Catch::Contains("cuda:0: no CUDA device is visible"));
  }
}
#endif

namespace {
// A device with a fixed capacity whose every call is counted (the CUDA allocator's base, tested
// without a GPU).
class FakeDevice final : public CachingAllocator {
 public:
  explicit FakeDevice(size_t capacity) : capacity_(capacity) {}
  size_t in_use = 0;
  int64_t releases = 0;

 protected:
  void* device_allocate(size_t bytes) override {
    if (in_use + bytes > capacity_) return nullptr;
    in_use += bytes;
    return std::malloc(bytes);
  }
  void device_release(void* p, size_t bytes) override {
    in_use -= bytes;
    ++releases;
    std::free(p);
  }
  std::string device_name() const override { return "fake:0"; }
  void device_fill(void* p, size_t bytes, uint8_t value) override { std::memset(p, value, bytes); }

 private:
  size_t capacity_;
};
}  // namespace

TEST_CASE("the caching allocator reuses blocks by size class and reports out of memory", "[cpu][tensor]") {
  CHECK(CachingAllocator::size_class(1) == 512);
  CHECK(CachingAllocator::size_class(513) == 1024);
  CHECK(CachingAllocator::size_class(size_t(1) << 20) == size_t(1) << 20);
  CHECK(CachingAllocator::size_class((size_t(1) << 20) + 1) == size_t(2) << 20);
  CHECK(CachingAllocator::size_class(size_t(5) << 20) == size_t(6) << 20);
  FakeDevice dev(size_t(16) << 20);
  // A "training step" allocating and freeing the same sizes: device calls only in the first.
  for (int step = 0; step < 5; ++step) {
    std::vector<std::pair<void*, size_t>> blocks;
    for (size_t bytes : {size_t(100), size_t(3000), size_t(3 << 20), size_t(700), size_t(100)})
      blocks.push_back({dev.allocate(bytes), bytes});
    CHECK(dev.live_bytes() == 100 + 3000 + (3 << 20) + 700 + 100);
    for (auto [p, bytes] : blocks) dev.release(p, bytes);
    CHECK(dev.live_bytes() == 0);
  }
  CHECK(dev.device_allocations() == 5);
  CHECK(dev.peak_bytes() == 100 + 3000 + (3 << 20) + 700 + 100);
  CHECK(dev.cached_bytes() == 512 + 3072 + (4 << 20) + 1024 + 512);
  // Out of memory: the cache is given back and the request retried; then a clear error.
  void* big = dev.allocate(size_t(14) << 20);  // needs the cached 4 MiB back
  CHECK(dev.cached_bytes() == 0);
  CHECK(dev.releases == 5);
  CHECK_THROWS_WITH(dev.allocate(size_t(4) << 20), Catch::Contains("fake:0: out of memory allocating 4194304 bytes") &&
                                                       Catch::Contains("live 14") && Catch::Contains("peak 14"));
  CHECK(dev.live_bytes() == size_t(14) << 20);  // the failed request counted nothing
  dev.release(big, size_t(14) << 20);
  // Poisoning (the gpu suite's unwritten-output check): a reused block comes back as NaN bytes.
  dev.set_poison(true);
  float* f = static_cast<float*>(dev.allocate(64));
  f[0] = 1.0f;
  dev.release(f, 64);
  f = static_cast<float*>(dev.allocate(64));
  CHECK(std::isnan(f[0]));
  CHECK(std::isnan(f[15]));
  dev.release(f, 64);
  dev.set_poison(false);
  dev.empty_cache();
  CHECK(dev.in_use == 0);
}

TEST_CASE("host reads are counted (item, to_doubles, copies to the CPU); a cross-entropy step makes none", "[cpu]") {
  const Tensor x = normal({4, 5}, 3, DType::f32).set_requires_grad(true);
  const Tensor labels = Tensor::from_vector({0, 4, 2, 1}, {4}, DType::i64);
  const int64_t before = host_reads_total();
  Tensor loss = cross_entropy(mul(x, 2.0), labels, 0.1);
  loss.backward();
  CHECK(host_reads_total() == before);  // labels checked in place, the backward's scale stays a tensor
  CHECK(x.grad().defined());
  (void)loss.item();
  CHECK(host_reads_total() == before + 1);
  (void)x.to(Device::cpu());
  (void)x.to_doubles();
  CHECK(host_reads_total() == before + 3);
}

TEST_CASE("a constant index table: checked without the values, its tables built once per geometry", "[cpu]") {
  const Tensor x = normal({6, 4}, 11, DType::f32).set_requires_grad(true);
  const IndexTable table({5, 0, 3, 3}, {4});
  const int64_t before = host_reads_total();
  const Tensor a = index_select(x, 0, table), b = index_select(x, 0, table);
  CHECK(host_reads_total() == before);  // a Tensor index is read to the host; a table is not
  CHECK(a.to_doubles() == index_select(x, 0, Tensor::from_vector({5, 0, 3, 3}, {4}, DType::i64)).to_doubles());
  CHECK(a.to_doubles() == b.to_doubles());
  sum(mul(a, 3.0)).backward();
  const std::vector<double> g = x.grad().to_doubles();
  CHECK(g[0] == 3.0);   // row 0 read once
  CHECK(g[12] == 6.0);  // row 3 read twice
  CHECK(g[4] == 0.0);   // row 1 never
  CHECK(g[20] == 3.0);  // row 5 once
  CHECK_THROWS_WITH(index_select(normal({5, 4}, 1, DType::f32), 0, table),
                    Catch::Contains("index_select: index 5 is out of range [0, 5)"));
  CHECK_THROWS_WITH(gather(x, 0, table), Catch::Contains("must have the rank of"));
  CHECK_THROWS_WITH(IndexTable({1, 2}, {3}), Catch::Contains("2 values for shape [3]"));
  CHECK_THROWS_WITH(index_select(x, 0, IndexTable()), Catch::Contains("index_select: the index is undefined"));
}

TEST_CASE("clip_grad_norm: the global norm from one sum of squares and one host read", "[cpu]") {
  const Tensor a = Tensor::from_vector({3, 0}, {2}).set_requires_grad(true);
  const Tensor b = Tensor::from_vector({0, 0, 4}, {3}).set_requires_grad(true);
  const Tensor frozen = Tensor::from_vector({1}, {1});
  sum(mul(a, a)).backward();  // grads 2a, 2b: (6, 0) and (0, 0, 8), norm 10
  sum(mul(b, b)).backward();
  const std::vector<NamedTensor> params{{"a", a}, {"frozen", frozen}, {"b", b}};
  const int64_t before = host_reads_total();
  CHECK(clip_grad_norm(params, 100.0) == Approx(10.0));
  CHECK(host_reads_total() == before + 1);
  CHECK(a.grad().to_doubles() == std::vector<double>{6, 0});  // under max_norm: unchanged
  CHECK(clip_grad_norm(params, 5.0) == Approx(10.0));
  CHECK(a.grad().to_doubles()[0] == Approx(3.0).epsilon(1e-6));
  CHECK(b.grad().to_doubles()[2] == Approx(4.0).epsilon(1e-6));
  CHECK(clip_grad_norm({{"frozen", frozen}}, 1.0) == 0.0);
  // a long gradient: the fixed slices give the exact sum of squares of small integers
  const Tensor c = Tensor::ones({300001}).set_requires_grad(true);
  sum(mul(c, 0.5)).backward();
  CHECK(clip_grad_norm({{"c", c}}, 1e9) == Approx(std::sqrt(300001 * 0.25)).epsilon(1e-12));
}

TEST_CASE("an Uploader on the CPU copies at stage and hands the copy over once", "[cpu]") {
  Uploader uploader(Device::cpu());
  std::vector<float> values{1, 2, 3, 4, 5, 6};
  PendingUpload p = uploader.stage(values.data(), {2, 3}, DType::f32);
  values[0] = 100;  // staged: later changes to the source do not travel
  const Tensor t = p.take();
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.to_doubles() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK_THROWS_WITH(p.take(), Catch::Contains("nothing staged, or already taken"));
  const std::vector<int64_t> none;
  CHECK(uploader.stage(none.data(), {0}, DType::i64).take().numel() == 0);
}
