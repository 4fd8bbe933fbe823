// bench_kernels.cpp: `frost bench kernels [--family NAME] [--batch B] [--runs N] [--json]`: the CUDA
// kernel families at the shapes of ViT-B/16 training (batch 64: 197 tokens, 768 channels, 12 heads
// of 64, MLP 3072) and of Swin-T / ConvNeXt-T stages. Each kernel is first checked against its CPU
// twin at batch 2 (one launch function serves both: FROST_KERNEL picks the backend by the tensors'
// device), then timed with CUDA events: 3 warm-up launches, the median of --runs (>= 20), inputs
// rotated over copies that together exceed the L2 cache. One table: kernel, shape, ms, achieved
// GB/s or TFLOP/s, and the fraction of the ceiling: the device copy bandwidth measured here, or
// cuBLASLt's rate at the kernel's equivalent GEMM.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "tools/cli.h"
#ifdef FROST_HAVE_CUDA
#include "kernels/cuda/backend.h"
#endif

namespace frost::cli {

#ifdef FROST_HAVE_CUDA
namespace {

using Tensors = std::vector<Tensor>;
float* F(const Tensor& t) { return static_cast<float*>(t.raw_data()); }
bf16* H16(const Tensor& t) { return static_cast<bf16*>(t.raw_data()); }
constexpr DType kB = DType::bf16;

struct Spec {
  Shape shape;
  DType dtype = DType::f32;
  int64_t classes = 0;  // i64 inputs: labels in [0, classes)
};

struct KernelBench {
  std::string family, name, shape;
  std::function<std::vector<Spec>(int64_t batch)> inputs, outputs;
  std::function<void(const Tensors& in, const Tensors& out)> launch;
  std::function<double(int64_t batch)> bytes, flops;  // per launch; one of them is 0
  double tol = 1e-5;
  std::array<int64_t, 3> gemm{0, 0, 0};  // a GEMM of the same work (FLOP-bound kernels' ceiling)
  DType gemm_dtype = DType::f32;         // ... in this dtype
};

Tensors make(const std::vector<Spec>& specs, Device device, uint64_t seed) {
  Tensors out;
  Generator gen(seed);
  for (const Spec& s : specs) {
    if (s.classes > 0) {
      std::vector<double> v(size_t(shape_numel(s.shape)));
      for (size_t i = 0; i < v.size(); ++i) v[i] = double((i * 7919) % size_t(s.classes));
      out.push_back(Tensor::from_vector(v, s.shape, DType::i64).to(device));
    } else {
      out.push_back(randn(s.shape, gen, s.dtype).to(device));
    }
  }
  return out;
}

Tensors empty_like(const std::vector<Spec>& specs, Device device) {
  Tensors out;
  for (const Spec& s : specs) out.push_back(Tensor::zeros(s.shape, s.dtype, device));
  return out;
}

template <typename Fn>
double median_ms(int runs, int copies, Fn&& launch_copy) {
  cuda::EventTimer timer;
  for (int w = 0; w < 3; ++w) launch_copy(w % copies);
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    timer.start();
    launch_copy(r % copies);
    ms.push_back(timer.stop_ms());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

// A row-major GEMM C (M x N) = A (M x K) B^T (B stored N x K), as the linear layers run it; f32 or
// bf16 (f32 accumulation) after c's dtype.
void gemm_abt(const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t M = a.size(0), K = a.size(1), N = b.size(0);
  const cpu::MatrixRef A{a.raw_data(), K, 1}, B{b.raw_data(), 1, K};
  dispatch_float(c.dtype(), "gemm", [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(c, gemm<T>)(M, N, K, acc_t<T>(1), A, B, acc_t<T>(0), static_cast<T*>(c.raw_data()), N, {}, nullptr);
  });
}

// ViT-B/16 at 224 px: tokens, width, heads, head dim, MLP hidden width.
constexpr int64_t T = 197, C = 768, H = 12, D = 64, Hid = 3072;

// elementwise: unary ops on the MLP activations, broadcast add, dropout.
void add_elementwise_benches(std::vector<KernelBench>& b) {
  using cpu::UnaryOp;
  auto elementwise = [&](const std::string& name, UnaryOp op, bool backward) {
    b.push_back({"elementwise", name, "B*197x3072",
                 [=](int64_t n) {
                   return backward ? std::vector<Spec>{{{n * T * Hid}}, {{n * T * Hid}}} : std::vector<Spec>{{{n * T * Hid}}};
                 },
                 [=](int64_t n) { return std::vector<Spec>{{{n * T * Hid}}}; },
                 [=](const Tensors& i, const Tensors& o) {
                   if (backward)
                     FROST_KERNEL(o[0], unary_backward<float>)(op, F(i[0]), nullptr, F(i[1]), F(o[0]), o[0].numel());
                   else
                     FROST_KERNEL(o[0], unary_forward<float>)(op, F(i[0]), F(o[0]), o[0].numel());
                 },
                 [=](int64_t n) { return double(n * T * Hid) * 4 * (backward ? 3 : 2); }, [](int64_t) { return 0.0; }});
  };
  elementwise("gelu forward", UnaryOp::gelu_erf, false);
  elementwise("gelu backward", UnaryOp::gelu_erf, true);
  // Mixed precision: the same traffic in bf16 (half the bytes), computed in f32.
  b.push_back({"elementwise", "gelu forward bf16", "B*197x3072",
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T * Hid}, kB}};
               },
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T * Hid}, kB}};
               },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], unary_forward<bf16>)(UnaryOp::gelu_erf, H16(i[0]), H16(o[0]), o[0].numel());
               },
               [=](int64_t n) { return double(n * T * Hid) * 2 * 2; }, [](int64_t) { return 0.0; }, 1e-2});
  b.push_back({"elementwise", "add bias (broadcast)", "B*197x3072 + 3072",
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, Hid}}, {{Hid}}};
               },
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, Hid}}};
               },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], binary_forward<float>)
                 (cpu::BinaryOp::add, o[0].shape(), F(i[0]), i[0].strides(), F(i[1]), {0, 1}, F(o[0]));
               },
               [=](int64_t n) { return double(n * T * Hid) * 8; }, [](int64_t) { return 0.0; }});
  b.push_back({"elementwise", "dropout p=0.1", "B*197x768", [=](int64_t n) { return std::vector<Spec>{{{n * T * C}}}; },
               [=](int64_t n) { return std::vector<Spec>{{{n * T * C}}}; },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], dropout_apply<float>)(F(i[0]), F(o[0]), o[0].numel(), 0.1, 7, 3);
               },
               [=](int64_t n) { return double(n * T * C) * 8; }, [](int64_t) { return 0.0; }});
}

// norm: layer norm forward and backward on the token rows.
void add_norm_benches(std::vector<KernelBench>& b) {
  b.push_back({"norm", "layer_norm forward bf16", "B*197x768",
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, C}, kB}, {{C}, kB}, {{C}, kB}};
               },
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, C}, kB}, {{n * T}}, {{n * T}}};
               },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], layer_norm_forward<bf16>)
                 (H16(i[0]), H16(i[1]), H16(i[2]), i[0].size(0), i[0].size(1), 1e-6, H16(o[0]), F(o[1]), F(o[2]));
               },
               [=](int64_t n) { return double(n * T * C) * 4; }, [](int64_t) { return 0.0; }, 1e-2});
  b.push_back({"norm", "layer_norm forward", "B*197x768",
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, C}}, {{C}}, {{C}}};
               },
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, C}}, {{n * T}}, {{n * T}}};
               },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], layer_norm_forward<float>)
                 (F(i[0]), F(i[1]), F(i[2]), i[0].size(0), i[0].size(1), 1e-6, F(o[0]), F(o[1]), F(o[2]));
               },
               [=](int64_t n) { return double(n * T * C) * 8; }, [](int64_t) { return 0.0; }});
  b.push_back({"norm", "layer_norm backward", "B*197x768",
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, C}}, {{n * T, C}}, {{n * T}}, {{n * T}}, {{C}}};
               },
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, C}}, {{C}}, {{C}}};
               },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], layer_norm_backward<float>)
                 (F(i[0]), F(i[1]), F(i[2]), F(i[3]), F(i[4]), i[0].size(0), i[0].size(1), F(o[0]), F(o[1]), F(o[2]));
               },
               [=](int64_t n) { return double(n * T * C) * 12; }, [](int64_t) { return 0.0; }});
}

// reduce: row sums (a bias gradient).
void add_reduce_benches(std::vector<KernelBench>& b) {
  b.push_back({"reduce", "sum rows (bias gradient)", "B*197x768 -> 768",
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * T, C}}};
               },
               [=](int64_t) { return std::vector<Spec>{{{C}}}; },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], sum_middle<float>)(F(i[0]), 1, i[0].size(0), i[0].size(1), F(o[0]));
               },
               [=](int64_t n) { return double(n * T * C) * 4; }, [](int64_t) { return 0.0; }});
}

// softmax: attention-row softmax and the loss.
void add_softmax_benches(std::vector<KernelBench>& b) {
  b.push_back({"softmax", "softmax (attention rows)", "B*12*197x197",
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * H * T, T}}};
               },
               [=](int64_t n) {
                 return std::vector<Spec>{{{n * H * T, T}}};
               },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], softmax_forward<float>)(F(i[0]), i[0].size(0), i[0].size(1), F(o[0]));
               },
               [=](int64_t n) { return double(n * H * T * T) * 8; }, [](int64_t) { return 0.0; }});
  b.push_back({"softmax", "cross_entropy forward", "Bx1000",
               [](int64_t n) {
                 return std::vector<Spec>{{{n, 1000}}, {{n}, DType::i64, 1000}};
               },
               [](int64_t n) {
                 return std::vector<Spec>{{{n}}, {{n}, DType::f64}};
               },
               [](const Tensors& i, const Tensors& o) {
                 FROST_KERNEL(o[0], cross_entropy_forward<float>)
                 (F(i[0]), i[1].typed_data<int64_t>(), nullptr, 0.1, i[0].size(0), i[0].size(1), F(o[0]),
                  o[1].typed_data<double>());
               },
               [](int64_t n) { return double(n * 1000) * 4; }, [](int64_t) { return 0.0; }});
}

// gemm: the linear layers of a ViT-B block, f32 and bf16.
void add_gemm_benches(std::vector<KernelBench>& b) {
  auto linear = [&](const std::string& name, int64_t out, int64_t in, DType dt) {
    b.push_back({"gemm",
                 name,
                 "B*197x" + std::to_string(in) + " -> " + std::to_string(out),
                 [=](int64_t n) {
                   return std::vector<Spec>{{{n * T, in}, dt}, {{out, in}, dt}};
                 },
                 [=](int64_t n) {
                   return std::vector<Spec>{{{n * T, out}, dt}};
                 },
                 [](const Tensors& i, const Tensors& o) { gemm_abt(i[0], i[1], o[0]); },
                 [](int64_t) { return 0.0; },
                 [=](int64_t n) { return 2.0 * double(n * T) * double(out) * double(in); },
                 dt == kB ? 1e-2 : 1e-4,
                 {64 * T, out, in},
                 dt});
  };
  linear("linear qkv", 3 * C, C, DType::f32);
  linear("linear fc1", Hid, C, DType::f32);
  linear("linear fc2", C, Hid, DType::f32);
  linear("linear qkv bf16 (tensor cores)", 3 * C, C, kB);
  linear("linear fc1 bf16 (tensor cores)", Hid, C, kB);
  linear("linear fc2 bf16 (tensor cores)", C, Hid, kB);
}

// attention: ViT-B attention and Swin-T window attention.
void add_attention_benches(std::vector<KernelBench>& b) {
  auto attention = [&](const std::string& name, const std::string& shape, int64_t bh_per_image, int64_t heads, int64_t N,
                       int64_t Dh, bool bias, bool backward) {
    b.push_back(
        {"attention",
         name,
         shape,
         [=](int64_t n) {
           const Shape q{n * bh_per_image / heads, heads, N, Dh};
           std::vector<Spec> s{{q}, {q}, {q}};
           if (backward) {  // probs and dO
             s.push_back({{n * bh_per_image / heads, heads, N, N}});
             s.push_back({q});
           } else if (bias) {
             s.push_back({{1, heads, N, N}});
           }
           return s;
         },
         [=](int64_t n) {
           const Shape q{n * bh_per_image / heads, heads, N, Dh};
           return backward ? std::vector<Spec>{{q}, {q}, {q}} : std::vector<Spec>{{q}, {{n * bh_per_image / heads, heads, N, N}}};
         },
         [=](const Tensors& i, const Tensors& o) {
           cpu::AttentionGeometry g{i[0].size(0), heads, N, N, Dh, Dh, 1.0 / std::sqrt(double(Dh))};
           if (bias && !backward) {
             g.bias = i[3].raw_data();
             g.bias_strides[1] = N * N, g.bias_strides[2] = N, g.bias_strides[3] = 1;
           }
           if (backward) FROST_KERNEL(o[0], attention_backward<float>)
           (g, F(i[4]), F(i[0]), F(i[1]), F(i[2]), F(i[3]), F(o[0]), F(o[1]), F(o[2]), nullptr);
           else FROST_KERNEL(o[0], attention_forward<float>)(g, F(i[0]), F(i[1]), F(i[2]), F(o[0]), F(o[1]));
         },
         [](int64_t) { return 0.0; },
         [=](int64_t n) { return (backward ? 8.0 : 4.0) * double(n * bh_per_image) * double(N) * double(N) * double(Dh); },
         1e-4,
         {N, N, Dh}});
  };
  attention("attention forward (ViT-B)", "B*12 heads, 197x64", H, H, T, D, false, false);
  attention("attention backward (ViT-B)", "B*12 heads, 197x64", H, H, T, D, false, true);
  attention("window attention + bias (Swin-T stage 1)", "B*64 windows*3 heads, 49x32", 64 * 3, 3, 49, 32, true, false);
}

// conv: the patch embedding and ConvNeXt-T depthwise convolutions.
void add_conv_benches(std::vector<KernelBench>& b) {
  auto conv = [&](const std::string& name, const std::string& shape, int64_t cin, int64_t hw, int64_t cout, int64_t k,
                  int64_t stride, int64_t pad, int64_t groups, int part) {  // part 0 forward, 1 dx, 2 dW
    auto geometry = [=](int64_t n) { return cpu::Conv2dGeometry{n, cin, hw, hw, cout, k, k, stride, stride, pad, pad, groups}; };
    b.push_back({"conv",
                 name,
                 shape,
                 [=](int64_t n) {
                   const cpu::Conv2dGeometry g = geometry(n);
                   const Shape x{n, cin, hw, hw}, w{cout, cin / groups, k, k}, y{n, cout, g.out_height(), g.out_width()};
                   return part == 0   ? std::vector<Spec>{{x}, {w}, {{cout}}}
                          : part == 1 ? std::vector<Spec>{{y}, {w}}
                                      : std::vector<Spec>{{y}, {x}};
                 },
                 [=](int64_t n) {
                   const cpu::Conv2dGeometry g = geometry(n);
                   return part == 0   ? std::vector<Spec>{{{n, cout, g.out_height(), g.out_width()}}}
                          : part == 1 ? std::vector<Spec>{{{n, cin, hw, hw}}}
                                      : std::vector<Spec>{{{cout, cin / groups, k, k}}, {{cout}}};
                 },
                 [=](const Tensors& i, const Tensors& o) {
                   const cpu::Conv2dGeometry g = geometry(i[0].size(0));
                   if (part == 0)
                     FROST_KERNEL(o[0], conv2d_forward<float>)(g, F(i[0]), F(i[1]), F(i[2]), F(o[0]));
                   else if (part == 1)
                     FROST_KERNEL(o[0], conv2d_backward_input<float>)(g, F(i[0]), F(i[1]), F(o[0]));
                   else
                     FROST_KERNEL(o[0], conv2d_backward_weight<float>)(g, F(i[0]), F(i[1]), F(o[0]), F(o[1]));
                 },
                 [](int64_t) { return 0.0; },
                 [=](int64_t n) {
                   const cpu::Conv2dGeometry g = geometry(n);
                   return 2.0 * double(n * cout * g.out_height() * g.out_width()) * double(cin / groups * k * k);
                 },
                 1e-4,
                 {cout, 64 * (hw / stride) * (hw / stride), cin / groups * k * k}});
  };
  conv("patch embedding forward (ViT-B)", "Bx3x224x224, 16x16/16 -> 768", 3, 224, C, 16, 16, 0, 1, 0);
  conv("patch embedding dW (ViT-B)", "Bx3x224x224, 16x16/16 -> 768", 3, 224, C, 16, 16, 0, 1, 2);
  conv("depthwise 7x7 forward (ConvNeXt-T stage 1)", "Bx96x56x56", 96, 56, 96, 7, 1, 3, 96, 0);
  conv("depthwise 7x7 dx (ConvNeXt-T stage 1)", "Bx96x56x56", 96, 56, 96, 7, 1, 3, 96, 1);
  conv("depthwise 7x7 dW (ConvNeXt-T stage 1)", "Bx96x56x56", 96, 56, 96, 7, 1, 3, 96, 2);
}

// optim: one AdamW step over all of ViT-B.
void add_optim_benches(std::vector<KernelBench>& b) {
  const int64_t vit_b_params = 86'567'656;
  b.push_back({"optim", "AdamW step (ViT-B, all parameters)", "86.6M",
               [=](int64_t n) {
                 const Shape p{vit_b_params * n / 64};
                 return std::vector<Spec>{{p}, {p}, {p}, {p}};
               },
               [](int64_t) { return std::vector<Spec>{}; },
               [](const Tensors& i, const Tensors&) {
                 const cpu::AdamWUpdate u{1e-4, 0.9, 0.999, 1e-8, 0.05, 0.1, 0.001};
                 FROST_KERNEL(i[0], adamw_update<float>)(u, F(i[0]), F(i[1]), nullptr, F(i[2]), F(i[3]), i[0].numel());
               },
               [=](int64_t n) { return double(vit_b_params * n / 64) * 4 * 7; }, [](int64_t) { return 0.0; }});
}

// Every family, in the order the table prints them.
std::vector<KernelBench> benches() {
  std::vector<KernelBench> b;
  for (auto add : {&add_elementwise_benches, &add_norm_benches, &add_reduce_benches, &add_softmax_benches, &add_gemm_benches,
                   &add_attention_benches, &add_conv_benches, &add_optim_benches})
    add(b);
  return b;
}

}  // namespace
#endif

const CommandSpec& bench_kernels_spec() {
  static const CommandSpec spec = {
      "frost bench kernels",
      "each CUDA kernel checked against the CPU, then timed at ViT-B, Swin-T and ConvNeXt-T shapes (needs a GPU)",
      "",
      {{"family", "NAME", "", "one family: elementwise, reduce, norm, softmax, gemm, attention, conv or optim (default: all)"},
       {"batch", "B", "64", "the batch the shapes are taken at (>= 2)"},
       {"runs", "N", "20", "timed runs per kernel (>= 20); the median is reported"},
       common_flag("json")},
      {"frost bench kernels", "frost bench kernels --family attention --batch 32 --json"}};
  return spec;
}

int bench_kernels(const std::vector<std::string>& args) {
  const std::string cmd = "frost bench kernels";
  const Flags f(bench_kernels_spec(), args);
#ifndef FROST_HAVE_CUDA
  throw std::invalid_argument(cmd + ": this build of frost has no CUDA backend (rebuild with -Dcuda=enabled)");
#else
  const Device gpu = parse_device_flag("cuda");
  const std::string family = f.get("family");
  const int64_t batch = f.get_int("batch", 2);
  const int runs = int(f.get_int("runs", 20));
  std::vector<KernelBench> all = benches();
  std::set<std::string> families;
  for (const KernelBench& k : all) families.insert(k.family);
  if (!family.empty() && !families.count(family)) {
    std::string known;
    for (const std::string& name : families) known += (known.empty() ? "" : ", ") + name;
    throw std::invalid_argument(cmd + ": --family " + family + ": no such family (known: " + known + ")");
  }
  NoGradGuard no_grad;
  // Ceilings: device copy bandwidth (read + write) and cuBLASLt at each equivalent GEMM shape.
  const size_t copy_bytes_n = size_t(1) << 30;
  const Tensor src = Tensor::empty({int64_t(copy_bytes_n / 4)}, DType::f32, gpu),
               dst = Tensor::empty({int64_t(copy_bytes_n / 4)}, DType::f32, gpu);
  const double copy_ms = median_ms(runs, 1, [&](int) { copy_bytes(dst.raw_data(), gpu, src.raw_data(), gpu, copy_bytes_n); });
  const double copy_gbs = 2.0 * double(copy_bytes_n) / (copy_ms * 1e6);
  auto gemm_tflops = [&](const std::array<int64_t, 3>& mnk, DType dt) {
    const Tensor a = Tensor::zeros({mnk[0], mnk[2]}, dt, gpu), w = Tensor::zeros({mnk[1], mnk[2]}, dt, gpu);
    const Tensor c = Tensor::empty({mnk[0], mnk[1]}, dt, gpu);
    const double ms = median_ms(runs, 1, [&](int) { gemm_abt(a, w, c); });
    return 2.0 * double(mnk[0]) * double(mnk[1]) * double(mnk[2]) / (ms * 1e9);
  };
  nlohmann::json rows = nlohmann::json::array();
  if (!f.has("json"))
    std::printf("%s, batch %lld, median of %d runs (CUDA events); copy bandwidth %.0f GB/s\n%-46s %-34s %9s %12s %8s %s\n",
                cuda::device_name(gpu.index).c_str(), (long long)batch, runs, copy_gbs, "kernel", "shape", "ms", "rate",
                "of ceil", "check");
  for (const KernelBench& k : all) {
    if (!family.empty() && k.family != family) continue;
    // Check at batch 2 against the CPU twin.
    const Tensors ci = make(k.inputs(2), Device::cpu(), 1), co = empty_like(k.outputs(2), Device::cpu());
    Tensors gi;
    for (const Tensor& t : ci) gi.push_back(t.to(gpu));
    const Tensors go = empty_like(k.outputs(2), gpu);
    k.launch(ci, co);
    k.launch(gi, go);
    double err = 0;
    for (size_t j = 0; j < co.size(); ++j) err = std::max(err, relative_error(go[j], co[j]));
    if (k.outputs(2).empty()) err = relative_error(gi[0], ci[0]);  // in-place kernels: the updated input
    if (!(err <= k.tol))
      throw std::runtime_error(cmd + ": " + k.name + " differs from the CPU reference (relative error " + std::to_string(err) +
                               ")");
    // Time at the full batch, rotating input copies past the L2 cache.
    const std::vector<Spec> in_specs = k.inputs(batch);
    double in_bytes = 0;
    for (const Spec& s : in_specs) in_bytes += double(shape_numel(s.shape) * int64_t(dtype_size(s.dtype)));
    const int copies = int(std::clamp(std::ceil(256e6 / std::max(in_bytes, 1.0)), 1.0, 8.0));
    std::vector<Tensors> inputs;
    for (int c = 0; c < copies; ++c) inputs.push_back(make(in_specs, gpu, 10 + c));
    const Tensors outputs = empty_like(k.outputs(batch), gpu);
    const double ms = median_ms(runs, copies, [&](int c) { k.launch(inputs[size_t(c)], outputs); });
    const double flops = k.flops(batch), bytes = k.bytes(batch);
    const double rate = flops > 0 ? flops / (ms * 1e9) : bytes / (ms * 1e6);  // TFLOP/s or GB/s
    const double ceiling = flops > 0 ? gemm_tflops(k.gemm, k.gemm_dtype) : copy_gbs;
    const std::string unit = flops > 0 ? "TFLOP/s" : "GB/s";
    rows.push_back({{"family", k.family},
                    {"kernel", k.name},
                    {"shape", k.shape},
                    {"ms", ms},
                    {"rate", rate},
                    {"unit", unit},
                    {"fraction_of_ceiling", rate / ceiling},
                    {"ceiling", ceiling},
                    {"check_rel_error", err}});
    if (!f.has("json"))
      std::printf("%-46s %-34s %9.4f %7.1f %-7s %5.0f%%  %.1e\n", k.name.c_str(), k.shape.c_str(), ms, rate, unit.c_str(),
                  100.0 * rate / ceiling, err);
  }
  if (f.has("json"))
    std::printf(
        "%s\n",
        nlohmann::json{
            {"device", cuda::device_name(gpu.index)}, {"batch", batch}, {"runs", runs}, {"copy_gbs", copy_gbs}, {"kernels", rows}}
            .dump()
            .c_str());
  return 0;
#endif
}

}  // namespace frost::cli
