// Scalar building blocks for kernels compiled per SIMD target. Included only by kernel sources,
// inside namespace steepest::<target>; the anonymous namespace gives each target its own copy, so
// no inline function compiled for AVX-512 can be picked by the linker for the baseline path.
//
// Kernels are built with -ffp-contract=off: the compiler never fuses a*b+c on its own, so the
// vector body and the scalar tail of a loop round identically and a result does not depend on
// where a thread's range begins. Fused multiply-adds are written out as fmadd() where the target
// has them.
#pragma once

namespace {

inline float fmadd(float a, float b, float c) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}
inline double fmadd(double a, double b, double c) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  return __builtin_fma(a, b, c);
#else
  return a * b + c;
#endif
}
inline float root(float x) { return __builtin_sqrtf(x); }
inline double root(double x) { return __builtin_sqrt(x); }
inline float absolute(float x) { return __builtin_fabsf(x); }
inline double absolute(double x) { return __builtin_fabs(x); }
// -1, 0 or +1 (0 for a zero of either sign, and for NaN).
template <class T>
inline T signum(T x) { return T(x > T(0)) - T(x < T(0)); }
// min(max(x, lo), hi), like torch.clamp for numbers (a NaN x stays NaN).
template <class T>
inline T clamp(T x, T lo, T hi) { return x < lo ? lo : (x > hi ? hi : x); }
// max(a, b) that propagates a NaN in either argument, like torch.maximum.
template <class T>
inline T larger(T a, T b) { return (a < b || b != b) ? b : a; }

}  // namespace
