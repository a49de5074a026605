// The conversions between float32 and 16-bit storage (steepest/optim/precision.h), compiled
// once per SIMD target. bfloat16 widens by bit operations on every target and narrows by them
// too, but on the avx512 target of a CPU with AVX-512 BF16, which narrows by vcvtneps2bf16
// (chosen at run time: cpu_has_avx512_bf16). float16 uses F16C (vcvtph2ps / vcvtps2ph) where
// the target has it (avx2, avx512: -mf16c), bit operations otherwise (baseline; Maratyszcza's
// FP16 formulas, which round through float32 arithmetic). Every way gives the same bits for
// every input but a float16 NaN's payload (F16C keeps its top bits).
#include <cstring>
#include <string>

#include "steepest/targets.h"

#ifdef __F16C__
#include <immintrin.h>
#endif

namespace steepest {
namespace STEEPEST_TARGET {

const char* int8_state_method();  // quantize.cc

namespace {

inline float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// bfloat16 -> float32: the top half of the float's bits.
void widen_bf16(const uint16_t* __restrict src, float* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = from_bits(uint32_t(src[i]) << 16);
}

// float32 -> bfloat16 to nearest even; a NaN keeps its sign and top payload bits, made quiet
// (the carry of the rounding would turn a NaN of small payload into an infinity).
void narrow_bf16(const float* __restrict src, uint16_t* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t b = to_bits(src[i]);
    const uint32_t rounded = (b + 0x7FFFu + ((b >> 16) & 1u)) >> 16;
    const uint32_t nan = (b >> 16) | 0x0040u;
    dst[i] = uint16_t((b & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded);
  }
}

#ifdef __AVX512BW__
// float32 -> bfloat16 by vcvtneps2bf16: to nearest even, NaN and infinity as narrow_bf16, but a
// subnormal input becomes a zero; a vector holding one is rounded by narrow_bf16's rule instead
// (the integer rounding holds for subnormals too). The tail by narrow_bf16.
__attribute__((target("avx512bf16"))) void narrow_bf16_instruction(const float* __restrict src,
                                                                  uint16_t* __restrict dst,
                                                                  int64_t n) {
  const __m512i exponent = _mm512_set1_epi32(0x7F800000), mantissa = _mm512_set1_epi32(0x7FFFFF);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 x = _mm512_loadu_ps(src + i);
    const __m512i b = _mm512_castps_si512(x);
    __m256i r = (__m256i)_mm512_cvtneps_pbh(x);
    const __mmask16 subnormal =
        _mm512_testn_epi32_mask(b, exponent) & _mm512_test_epi32_mask(b, mantissa);
    if (subnormal) {
      const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
      const __m512i rounded = _mm512_srli_epi32(
          _mm512_add_epi32(b, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb)), 16);
      r = _mm256_mask_mov_epi16(r, subnormal, _mm512_cvtepi32_epi16(rounded));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), r);
  }
  narrow_bf16(src + i, dst + i, n - i);
}

const bool kBf16Instruction = cpu_has_avx512_bf16();
#else
constexpr bool kBf16Instruction = false;
#endif

#ifdef __F16C__
const char* const kConversions = kBf16Instruction
                                      ? "bfloat16: vcvtneps2bf16 (AVX-512 BF16); float16: F16C"
                                      : "bfloat16: bit operations; float16: F16C";

void widen_f16(const uint16_t* __restrict src, float* __restrict dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
}

void narrow_f16(const float* __restrict src, uint16_t* __restrict dst, int64_t n) {
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), kNearest));
  for (; i < n; ++i) dst[i] = _cvtss_sh(src[i], kNearest);
}
#else
const char* const kConversions = "bfloat16: bit operations; float16: bit operations";

// float16 -> float32 (Maratyszcza's fp16_ieee_to_fp32_value): a normal value by moving the
// exponent and mantissa into place and scaling by 2^-112; a subnormal by subtracting 0.5 from
// 0.5 + m 2^-24 built in the bits.
void widen_f16(const uint16_t* __restrict src, float* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t w = uint32_t(src[i]) << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const float normal = from_bits((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    const float subnormal = from_bits((two_w >> 17) | (126u << 23)) - 0.5f;
    dst[i] = from_bits(sign | (two_w < (1u << 27) ? to_bits(subnormal) : to_bits(normal)));
  }
}

// float32 -> float16 to nearest even (Maratyszcza's fp16_ieee_from_fp32_value): scaling |x| by
// 2^112 then 2^-110 overflows to infinity exactly where float16 does; adding a power of two
// just above the value's binade rounds away the bits float16 has not, in float32's own
// round-to-nearest-even; a NaN becomes 0x7E00 with its sign.
void narrow_f16(const float* __restrict src, uint16_t* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = src[i];
    float base = ((x < 0 ? -x : x) * 0x1.0p+112f) * 0x1.0p-110f;
    const uint32_t w = to_bits(x);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    bias = bias < 0x71000000u ? 0x71000000u : bias;
    base = from_bits((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = to_bits(base);
    const uint32_t nonsign = ((bits >> 13) & 0x7C00u) + (bits & 0x0FFFu);
    dst[i] = uint16_t((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
  }
}
#endif

void widen_any(Storage from, const uint16_t* src, float* dst, int64_t n) {
  if (from == Storage::bf16) widen_bf16(src, dst, n);
  else widen_f16(src, dst, n);
}

void narrow_nearest(Storage to, const float* src, uint16_t* dst, int64_t n) {
#ifdef __AVX512BW__
  if (to == Storage::bf16 && kBf16Instruction) return narrow_bf16_instruction(src, dst, n);
#endif
  if (to == Storage::bf16) narrow_bf16(src, dst, n);
  else narrow_f16(src, dst, n);
}

inline float magnitude(float x) { return from_bits(to_bits(x) & 0x7FFFFFFFu); }

// Stochastic rounding (precision.h), by blocks of kBlock: d, the value toward zero, is the
// nearest rounding q, or q's neighbour toward zero when |q| > |x|; the ulp at d is the distance
// between d with its last bit cleared and set (the same binade).
void narrow_stochastic(Storage to, const float* __restrict x, uint16_t* __restrict dst,
                       int64_t n, const Stochastic& draw) {
  constexpr int64_t kBlock = 256;
  uint16_t q[kBlock], d[kBlock], d_even[kBlock], d_odd[kBlock];
  float wide[kBlock], lo[kBlock], even[kBlock], odd[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = n - b < kBlock ? n - b : kBlock;
    const float* xb = x + b;
    narrow_nearest(to, xb, q, m);
    widen_any(to, q, wide, m);
    for (int64_t i = 0; i < m; ++i) {
      const uint16_t di = uint16_t(magnitude(wide[i]) > magnitude(xb[i]) ? q[i] - 1 : q[i]);
      d[i] = di;
      d_even[i] = uint16_t(di & ~1u);
      d_odd[i] = uint16_t(di | 1u);
    }
    widen_any(to, d, lo, m);
    widen_any(to, d_even, even, m);
    widen_any(to, d_odd, odd, m);
    // The element index first + i as two 32-bit halves (vectorizes; a carry into the high one).
    const uint64_t first = uint64_t(draw.first + b);
    const uint32_t first_lo = uint32_t(first), first_hi = uint32_t(first >> 32);
    for (int64_t i = 0; i < m; ++i) {
      const uint32_t lo_index = first_lo + uint32_t(i);
      const uint32_t hi_index = first_hi + (lo_index < first_lo ? 1u : 0u);
      const uint32_t r = fmix32(draw.key + 0x9E3779B9u * lo_index + 0x7F4A7C15u * hi_index);
      const float u = float(int32_t(r >> 8)) * 0x1.0p-24f;  // in [0, 1), exact
      const float p = (magnitude(xb[i]) - magnitude(lo[i])) /
                      (magnitude(odd[i]) - magnitude(even[i]));
      const uint32_t rounded = uint32_t(d[i]) + (u < p ? 1u : 0u);
      dst[b + i] = uint16_t(xb[i] != xb[i] ? uint32_t(q[i]) : rounded);
    }
  }
}

}  // namespace

void widen(Storage from, const uint16_t* src, float* dst, int64_t n) { widen_any(from, src, dst, n); }

void narrow(Storage to, const float* src, uint16_t* dst, int64_t n, const Stochastic* draw) {
  if (draw) narrow_stochastic(to, src, dst, n, *draw);
  else narrow_nearest(to, src, dst, n);
}

// With the int8 state's way (quantize.cc), which may change at run time (allow_avx512_vbmi):
// the text is rebuilt each call, under the GIL (show_config's).
const char* conversions() {
  static std::string text;
  text = std::string(kConversions) + "; int8 state: " + int8_state_method();
  return text.c_str();
}

// One function serves both tables: the conversions are between float32 and 16 bits whatever
// the table's dtype (the float64 rules never run on 16-bit storage).
extern const WidenKernel<float> widen_f32 = &widen;
extern const WidenKernel<double> widen_f64 = &widen;
extern const NarrowKernel<float> narrow_f32 = &narrow;
extern const NarrowKernel<double> narrow_f64 = &narrow;
extern const ConversionsKernel<float> conversions_f32 = &conversions;
extern const ConversionsKernel<double> conversions_f64 = &conversions;

}  // namespace STEEPEST_TARGET
}  // namespace steepest
