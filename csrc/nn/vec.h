// Vectors of the SIMD target a kernel source is compiled for, as GCC vector extensions: one
// register of kVecBytes (the width of the target), the loads, stores, broadcasts and fused
// multiply-adds the register-blocked kernels use (gemm_tile.h, attention.cc). Included inside
// namespace steepest::<target> after <immintrin.h> (see kernel_math.h for why the anonymous
// namespace).
#pragma once

namespace {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;
#endif
// (GCC ignores vector_size on a dependent type: one typedef per element type.)
template <class T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(kVecBytes)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(kVecBytes)));
};
template <class T>
using Vec = typename VecOf<T>::type;
template <class T>
constexpr int kVecLanes = kVecBytes / int(sizeof(T));

template <class T>
inline Vec<T> load(const T* p) {
  Vec<T> v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
inline void store(T* p, Vec<T> v) { __builtin_memcpy(p, &v, sizeof v); }
// (A lane-by-lane build compiles to a chain of inserts, not to one vbroadcastss.)
inline Vec<float> broadcast(const float* p) {
#if defined(__AVX512F__)
  return _mm512_set1_ps(*p);
#elif defined(__AVX__)
  return _mm256_broadcast_ss(p);
#elif defined(__SSE2__)
  return _mm_set1_ps(*p);
#else
  return Vec<float>{} + *p;  // -0 + 0 = +0: only a zero's sign may differ from the other targets
#endif
}
inline Vec<double> broadcast(const double* p) {
#if defined(__AVX512F__)
  return _mm512_set1_pd(*p);
#elif defined(__AVX__)
  return _mm256_broadcast_sd(p);
#elif defined(__SSE2__)
  return _mm_set1_pd(*p);
#else
  return Vec<double>{} + *p;
#endif
}

// a * b + c, fused where the target has a fused multiply-add (kernels build with
// -ffp-contract=off, so a * b + c alone is never fused).
inline Vec<float> fmadd_vec(Vec<float> a, Vec<float> b, Vec<float> c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_ps(a, b, c);
#elif defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}
inline Vec<double> fmadd_vec(Vec<double> a, Vec<double> b, Vec<double> c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_pd(a, b, c);
#elif defined(__FMA__)
  return _mm256_fmadd_pd(a, b, c);
#else
  return a * b + c;
#endif
}

// relu(v) = v < 0 ? 0 : v, as torch.relu: a NaN stays NaN (NaN < 0 is false), and so does -0.
// x86's max(a, b) is a > b ? a : b, so max(0, v) is exactly that, in one instruction (GCC makes
// a compare and a mask of the ternary written out).
inline Vec<float> relu_vec(Vec<float> v) {
#if defined(__AVX512F__)
  return _mm512_max_ps(Vec<float>{}, v);
#elif defined(__AVX__)
  return _mm256_max_ps(Vec<float>{}, v);
#elif defined(__SSE2__)
  return _mm_max_ps(Vec<float>{}, v);
#else
  return v < Vec<float>{} ? Vec<float>{} : v;
#endif
}
inline Vec<double> relu_vec(Vec<double> v) {
#if defined(__AVX512F__)
  return _mm512_max_pd(Vec<double>{}, v);
#elif defined(__AVX__)
  return _mm256_max_pd(Vec<double>{}, v);
#elif defined(__SSE2__)
  return _mm_max_pd(Vec<double>{}, v);
#else
  return v < Vec<double>{} ? Vec<double>{} : v;
#endif
}

}  // namespace
