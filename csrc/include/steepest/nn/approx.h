// exp, expm1, tanh and erf for the activation and loss kernels. Included only by kernel sources,
// inside namespace steepest::<target> (an anonymous namespace, as kernel_math.h, after it).
//
// float: our own branch-free approximations, so that a loop calling them vectorizes (checked in
// the disassembly: benchmarks/vectorized.py). Error against the exact value (tests/nn/
// test_approx.py measures it over a dense sweep, both tails included):
//   exp   ≤ 2 ulp   (0 below -103.97, where e^x rounds to 0; +inf above 88.72)
//   tanh  ≤ 3 ulp   erf ≤ 3 ulp   (expm1 is tested through tanh)
// double: libm (accurate to about an ulp; the float64 kernels serve the gradient checks, where
// correctness matters, not speed).
#pragma once

#include <cstdint>

namespace {

// 2^n for n in [-126, 127]. Unsigned, so that the garbage n of a NaN input (below) is no
// undefined behaviour: the result is then garbage too, multiplied by NaN.
inline float pow2(int32_t n) {
  const uint32_t bits = (uint32_t(n) + 127u) << 23;
  float f;
  __builtin_memcpy(&f, &bits, sizeof f);
  return f;
}

// x = n·ln2 + r with |r| <= ln2/2 (Cody–Waite: n·ln2_hi is exact for |n| < 2^15); returns
// p = e^r - 1 (Taylor to r^7: the remainder is below 2^-27 relative) and n. A NaN x gives p NaN
// and n garbage.
inline float exp_reduced(float x, int32_t& n) {
  const float magic = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  const float shifted = x * 1.44269504f + magic;
  const float nf = shifted - magic;
  // n = nf, read from the low mantissa bits of `shifted` (an ulp of 1 in [2^23, 2^24)) rather
  // than converted: converting a NaN to an integer is undefined. Wraps for NaN bits.
  uint32_t bits, magic_bits;
  __builtin_memcpy(&bits, &shifted, sizeof bits);
  __builtin_memcpy(&magic_bits, &magic, sizeof magic_bits);
  n = int32_t(bits - magic_bits);
  float r = fmadd(-nf, 0.693359375f, x);
  r = fmadd(-nf, -2.12194440e-4f, r);
  float q = 1.0f / 5040;
  q = fmadd(q, r, 1.0f / 720);
  q = fmadd(q, r, 1.0f / 120);
  q = fmadd(q, r, 1.0f / 24);
  q = fmadd(q, r, 1.0f / 6);
  q = fmadd(q, r, 0.5f);
  return fmadd(q, r * r, r);
}

inline float exp_approx(float x) {
  const float lo = -103.972084f, hi = 88.7228394f;
  int32_t n;
  const float p = exp_reduced(x < lo ? lo : (x > hi ? hi : x), n);
  // 2^n as two factors, so that n in [-150, 128] (a subnormal or the largest results) works.
  const int32_t half = n >> 1;
  const float s2 = pow2(n - half);
  const float e = pow2(half) * fmadd(s2, p, s2);
  return x < lo ? 0.0f : (x > hi ? __builtin_inff() : e);
}

// For x in [-87, 0] (callers clamp): 2^n is one normal factor.
inline float expm1_approx(float x) {
  int32_t n;
  const float p = exp_reduced(x, n);
  const float s = pow2(n);
  return fmadd(s, p, s - 1.0f);
}

// tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|)); tanh rounds to 1 beyond |x| = 9.01.
inline float tanh_approx(float x) {
  float a = absolute(x);
  a = a > 10.0f ? 10.0f : a;
  const float em = expm1_approx(-2.0f * a);
  return __builtin_copysignf(-em / (2.0f + em), x);
}

inline float sigmoid_approx(float x) {
  const float e = exp_approx(-absolute(x));
  const float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

// erf: x·P(x²) below |x| = 1, 1 - Q(|x| - 2.46) on [1, 3.92] (Q fits erfc), 1 beyond (where
// erf rounds to 1). Least-squares fits on Chebyshev nodes (weighted to relative error for P).
inline float erf_approx(float x) {
  const float a = absolute(x);
  const float t = a * a;
  float p = 7.847262168e-05f;
  p = fmadd(p, t, -8.008193108e-04f);
  p = fmadd(p, t, 5.188099574e-03f);
  p = fmadd(p, t, -2.685369179e-02f);
  p = fmadd(p, t, 1.128358245e-01f);
  p = fmadd(p, t, -3.761262596e-01f);
  p = fmadd(p, t, 1.128379107e+00f);
  const float u = (a < 3.92f ? a : 3.92f) - 2.46f;
  float q = 9.166632481e-06f;
  q = fmadd(q, u, -2.536311877e-05f);
  q = fmadd(q, u, -5.189470903e-05f);
  q = fmadd(q, u, 3.013668465e-04f);
  q = fmadd(q, u, -3.906824277e-04f);
  q = fmadd(q, u, -4.615694634e-04f);
  q = fmadd(q, u, 2.963123610e-03f);
  q = fmadd(q, u, -6.798154209e-03f);
  q = fmadd(q, u, 9.904963896e-03f);
  q = fmadd(q, u, -9.832827374e-03f);
  q = fmadd(q, u, 6.535748951e-03f);
  q = fmadd(q, u, -2.656208817e-03f);
  q = fmadd(q, u, 5.033268826e-04f);
  // A NaN x takes a·p: NaN.
  const float r = a >= 3.92f ? 1.0f : (a >= 1.0f ? 1.0f - q : a * p);
  return __builtin_copysignf(r, x);
}

inline double exp_approx(double x) { return __builtin_exp(x); }
inline double tanh_approx(double x) { return __builtin_tanh(x); }
inline double erf_approx(double x) { return __builtin_erf(x); }
inline double sigmoid_approx(double x) {
  const double e = __builtin_exp(-absolute(x));
  const double s = 1.0 / (1.0 + e);
  return x >= 0.0 ? s : e * s;
}

}  // namespace
