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
// Sums in kernels (norms) are accumulated in double into kLanes partial lanes: element i of a
// range goes to lane i % kLanes (counted from the range's first element), written as an inner
// loop over the lanes of a block, which the compiler vectorizes without reordering any addition
// (each lane is its own chain). lanes_total adds the lanes in a fixed tree. So a range's sum
// depends only on its elements and where it begins, never on the target's vector width or on
// threads; with -ffp-contract=off no addition is fused unless written as fmadd().
constexpr int kLanes = kSumLanes;  // optim/reduce.h
inline double lanes_total(const double* lane) {
  double a[8], b[4];
  for (int j = 0; j < 8; ++j) a[j] = lane[j] + lane[j + 8];
  for (int j = 0; j < 4; ++j) b[j] = a[j] + a[j + 4];
  return (b[0] + b[2]) + (b[1] + b[3]);
}
// Calls f(j, lane) for j in [0, n), lane = j % kLanes, in that order: whole blocks of kLanes
// (the inner loop over a block's lanes is the one that vectorizes), then the tail.
template <class F>
inline void for_lanes(int64_t n, F f) {
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) f(j + l, l);
  for (int l = 0; j + l < n; ++l) f(j + l, l);
}
// max(a, b) that propagates a NaN in either argument, like torch.maximum.
template <class T>
inline T larger(T a, T b) { return (a < b || b != b) ? b : a; }

}  // namespace
