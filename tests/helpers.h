// helpers.h: shared test utilities: seeded tensors, relative error, and the finite-difference
// gradient check every differentiable op goes through.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "peft/method.h"
#include "tools/train.h"

namespace frost::test {

// Seeded normal values in f64 (or another dtype), shape `shape`.
Tensor normal(const Shape& shape, uint64_t seed, DType dtype = DType::f64, double scale = 1.0);
Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi, DType dtype = DType::f64);
// ||a - b|| / ||b|| over all elements (NaN anywhere gives +inf).
double rel_error(const Tensor& a, const Tensor& b);
double max_abs(const Tensor& a);

// Checks d(sum(f(inputs) * w))/d(input) for every input with requires_grad against central
// differences (step eps). Inputs must be f64 leaves (possibly strided views). Returns the
// worst relative error (|analytic - numeric| / max(1, |numeric|) per element).
double gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                 double eps = 1e-6);

// Runs fixtures/timm/<name> through run_forward (frost forward's code path) on `device` and checks
// logits and loss (relative error <= 1e-5) and every gradient timm wrote (<= 1e-4), and no other.
// In bf16 (mixed precision) logits and loss are held to 2e-2 of timm's f32 values, gradients to 4e-2.
void check_timm_fixture(const std::string& name, bool adapter, const std::string& device, const std::string& precision = "f32");

// Losses of `steps` AdamW steps (lr 3e-3, weight decay 0.05, smoothing 0.1) of the PEFT `spec` on
// the vit_tiny fixture's weights and batch, on `device`, in `precision` (Model::set_precision).
std::vector<double> lora_losses(Device device, const std::string& spec, int steps, DType precision = DType::f32);

// CIFAR-10 binary files of 32x32 images in 3 classes (60 training, 30 test images): the class is
// which colour channel is bright, plus noise. Written once per test process; returns the folder.
std::string make_color_dataset();
// A small ViT trained for 3 epochs of 7 steps on make_color_dataset(), augmentation and drop-path
// on, writing to `output`.
cli::TrainOptions tiny_train_options(const std::string& output);
// Every method's example specs for a backbone (peft/method_table.cpp), in table order: what a
// "for each method" test loops over.
std::vector<std::string> method_examples(peft::Backbone backbone);
// Every parity case in fixtures/timm (README there): its name, whether it carries an HF peft
// adapter, and whether it is a hub folder of a pre-trained family. The CPU, GPU and bf16 suites
// all run this list.
struct FixtureCase {
  std::string name;
  bool adapter, hub;
};
const std::vector<FixtureCase>& timm_fixture_cases();

// Directory of the parity fixtures: tests/fixtures (-Dfixtures at set-up, FROST_FIXTURES at run time override).
std::string fixtures_dir();
// A path in the temp directory, unique to this test process.
std::string temp_path(const std::string& name);

}  // namespace frost::test
