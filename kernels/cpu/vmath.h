// vmath.h: f32 exp and erf written as straight-line arithmetic, so that loops calling them
// vectorise (libm's scalar calls do not). exp: Cephes-style range reduction + degree-6
// polynomial, ~1 ulp. erf: Numerical Recipes' erfc Chebyshev fit, relative error < 1.2e-7.
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

inline float erf_f32(float x) {
  float z = std::fabs(x);
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly =
      -z * z - 1.26551223f +
      t * (1.00002368f +
           t * (0.37409196f +
                t * (0.09678418f +
                     t * (-0.18628806f +
                          t * (0.27886807f +
                               t * (-1.13520398f +
                                    t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  float erfc = t * exp_f32(poly);
  float r = 1.0f - erfc;
  return x < 0 ? -r : r;
}

inline float exp_of(float x) { return exp_f32(x); }
inline double exp_of(double x) { return std::exp(x); }
inline float erf_of(float x) { return erf_f32(x); }
inline double erf_of(double x) { return std::erf(x); }

}  // namespace frost::cpu
