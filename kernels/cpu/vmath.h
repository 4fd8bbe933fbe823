// vmath.h: f32 exp and the normal distribution's Phi and phi written as straight-line arithmetic,
// so that loops calling them vectorise (libm's scalar calls do not). exp: Cephes-style range
// reduction + degree-6 polynomial, ~1 ulp. Phi: through erfc (see normal_cdf_f32), one exp.
// f64 paths use <cmath> directly: they serve gradient checks, where exactness matters.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

// Hot row loops are compiled three times (x86-64-v4: AVX-512; x86-64-v3: AVX2 with FMA; the
// baseline) and picked at load time; the baseline x86-64 target lacks SSE4.1's round
// instruction, which exp_f32 needs to vectorise. Plain "avx2" would leave out FMA: the
// polynomials of exp and erf would then take a multiply and an add per term.
// clang (the fuzzing build) cannot clone function templates yet: there, one baseline version.
#if defined(__x86_64__) && !defined(__clang__)
#define FROST_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FROST_CLONES
#endif

namespace frost::cpu {

inline float exp_f32(float x) {
  const float in = x;
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  float n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;  // ln2 split into hi/lo parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  const float result = p * scale;
  // Outside the clamp: underflow to 0 (subnormal results are flushed), overflow to +inf.
  return in < -87.3f ? 0.0f : (in > 88.7f ? HUGE_VALF : result);
}

// Phi(x) of the standard normal, and phi(x) through pdf when it is not null, from one exp:
// Phi(x) = 1 - erfc(|x| / sqrt2) / 2 for x >= 0 (erfc / 2 for x < 0, without cancellation), with
// erfc(z) = t (a1 + t (a2 + ... + t a5)) exp(-z^2), t = 1 / (1 + p z) (Abramowitz & Stegun
// 7.1.26: |error| of erf < 1.5e-7; the form PyTorch's vectorised erf uses), and
// phi(x) = exp(-z^2) / sqrt(2 pi).
inline float normal_cdf_f32(float x, float* pdf) {
  const float z = std::fabs(x) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float e = exp_f32(-z * z);
  if (pdf) *pdf = 0.39894228040143268f * e;
  const float half_erfc = 0.5f * poly * e;
  return x < 0 ? half_erfc : 1.0f - half_erfc;
}

inline float exp_of(float x) { return exp_f32(x); }
inline double exp_of(double x) { return std::exp(x); }
inline float normal_cdf_of(float x, float* pdf) { return normal_cdf_f32(x, pdf); }
inline double normal_cdf_of(double x, double* pdf) {
  if (pdf) *pdf = 0.39894228040143267794 * std::exp(-0.5 * x * x);
  return 0.5 * std::erfc(-x * 0.70710678118654752440);
}

}  // namespace frost::cpu
