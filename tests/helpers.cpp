// helpers.cpp: see helpers.h.
#include "tests/helpers.h"

#include <unistd.h>

#include <filesystem>

#include <cmath>
#include <cstdlib>

#include "engine/dispatch.h"

namespace frost::test {

Tensor normal(const Shape& shape, uint64_t seed, DType dtype, double scale) {
  Generator gen(seed);
  NoGradGuard no_grad;
  return mul(randn(shape, gen, DType::f64), scale).to(dtype);
}

Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi, DType dtype) {
  Generator gen(seed);
  NoGradGuard no_grad;
  return add(mul(rand(shape, gen, DType::f64), hi - lo), lo).to(dtype);
}

double rel_error(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  if (x.size() != y.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) return INFINITY;
    num += (x[i] - y[i]) * (x[i] - y[i]);
    den += y[i] * y[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

double max_abs(const Tensor& a) {
  double m = 0;
  for (double v : a.to_doubles()) m = std::max(m, std::fabs(v));
  return m;
}

namespace {

// Address of logical element `flat` (row-major over the shape) of a strided tensor.
double* element(const Tensor& t, int64_t flat) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (flat % t.size(d)) * t.strides()[d];
    flat /= t.size(d);
  }
  return static_cast<double*>(t.raw_data()) + off;
}

double weighted_sum(const Tensor& out, const std::vector<double>& w) {
  const std::vector<double> v = out.to_doubles();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}

}  // namespace

double gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                 const std::vector<Tensor>& inputs, double eps) {
  for (Tensor x : inputs) x.zero_grad();
  Tensor out = f(inputs);
  // Fixed non-uniform weights so that every output element matters differently.
  const Tensor w = uniform(out.shape(), 999, 0.5, 1.5);
  const std::vector<double> wv = w.to_doubles();
  Tensor loss = sum(mul(out, w));
  loss.backward();
  double worst = 0;
  for (const Tensor& x : inputs) {
    if (!x.requires_grad()) continue;
    if (x.dtype() != DType::f64) throw std::invalid_argument("gradcheck needs f64 inputs");
    const Tensor g = x.grad();
    if (!g.defined()) return INFINITY;
    const std::vector<double> analytic = g.to_doubles();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double* p = element(x, i);
      const double saved = *p;
      NoGradGuard no_grad;
      *p = saved + eps;
      const double up = weighted_sum(f(inputs), wv);
      *p = saved - eps;
      const double down = weighted_sum(f(inputs), wv);
      *p = saved;
      const double numeric = (up - down) / (2 * eps);
      const double err = std::fabs(analytic[i] - numeric) / std::max(1.0, std::fabs(numeric));
      if (std::isnan(err)) return INFINITY;
      worst = std::max(worst, err);
    }
  }
  return worst;
}

std::string fixtures_dir() {
  if (const char* env = std::getenv("FROST_FIXTURES")) return env;
  return FROST_DEFAULT_FIXTURES;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("frost_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace frost::test
