// op_cases.h: the op table both suites run: every op family on odd, strided, broadcast and empty
// inputs, with its tolerance in f32. check_case runs one case twice from the same seeded inputs,
// as a subject (device, dtype) and a reference, and compares outputs and input gradients: the CPU
// suite checks bf16 against f32 on the CPU, the gpu suite checks CUDA against the CPU in f32 and
// in bf16. Under bf16 the inputs listed in `params` stay f32 (master weights, as under mixed
// precision) and the others are bf16 activations; all inputs hold bf16-representable values, so
// only the computation differs.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace frost::test {

struct OpCase {
  std::string name;
  double tol;                 // f32 relative error bound for the output and every input gradient
  std::vector<Shape> inputs;  // leaf shapes, normal values
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  std::vector<size_t> params = {};  // inputs that are parameters (f32 under mixed precision)
  double bf16_tol = 1e-2;           // the bound when either side computes in bf16
};

struct Variant {
  Device device;
  DType dtype;  // f32 or bf16 (the activations' dtype)
};

// The relative error bound two variants are held to: a case's own bound in f32, its bf16 bound
// (1e-2, about three significant digits, unless the case says otherwise) when either side
// computes in bf16.
double tolerance(const OpCase& c, const Variant& subject, const Variant& reference);
void check_case(const OpCase& c, uint64_t seed, const Variant& subject, const Variant& reference);

std::vector<OpCase> elementwise_cases();
std::vector<OpCase> reduction_and_shape_cases();
std::vector<OpCase> norm_softmax_cases();
std::vector<OpCase> gemm_conv_attention_cases();

}  // namespace frost::test
