// Blockwise 8-bit state (steepest/optim/precision.h): the quantizer and its inverse, compiled
// once per SIMD target (without floating-point contraction: the quantizer's a S + B is two
// roundings). The avx512 target works 16 lanes at a time with in-register table lookups
// (permutes: on Zen 4 a gather of 16 lanes costs several times as much); the avx2 target
// quantizes 8 lanes at a time (D by eight compares) and restores one element at a time, as
// the baseline does both. Every way gives the same bytes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "steepest/targets.h"

#if defined(__AVX512BW__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace steepest {
namespace STEEPEST_TARGET {

namespace {

constexpr float kFloatMax = std::numeric_limits<float>::max();

// max |x| over x[0..n), or NaN when some x is not finite.
float absmax_of(const float* __restrict x, int64_t n) {
  float s = 0.0f;
  bool finite = true;
  int64_t i = 0;
#ifdef __AVX512BW__
  __m512 m = _mm512_setzero_ps();
  __mmask16 bad = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 a = _mm512_abs_ps(_mm512_loadu_ps(x + i));
    bad |= _mm512_cmp_ps_mask(a, _mm512_set1_ps(kFloatMax), _CMP_NLE_UQ);
    m = _mm512_max_ps(m, a);
  }
  s = _mm512_reduce_max_ps(m);
  finite = bad == 0;
#elif defined(__AVX2__)
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  __m256 m = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + i), magnitude);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, _mm256_set1_ps(kFloatMax), _CMP_NLE_UQ));
    m = _mm256_max_ps(m, a);
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  s = _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
  finite = _mm256_movemask_ps(bad) == 0;
#endif
  for (; i < n; ++i) {
    const float a = x[i] < 0 ? -x[i] : x[i];
    finite &= a <= kFloatMax;  // false for NaN and infinities
    s = a > s ? a : s;
  }
  return finite ? s : std::numeric_limits<float>::quiet_NaN();
}

// The index j of a >= 0 (precision.h): D by comparing with T_0..T_7; the clamp to H_D after
// the truncation (trunc is monotone: the same j), as an integer min, which compiles to a
// conditional move where a float one compiled to a branch.
inline int magnitude_index(float a, const QuantMap& q) {
  int D = 0;
  for (int i = 0; i < 8; ++i) D += q.threshold[i] < a;
  const int k = int(a * q.scale[D] + q.offset[D]);  // two roundings: built without contraction
  const int high = int(q.high[D]);
  return k < high ? k : high;
}

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// The byte of y = x r, without a branch on the sign (random in a moment). Unsigned: a = y with
// a set sign bit cleared to +0 (max(y, 0); -0 gives 0 either way). Signed: s = -1 for a set
// sign bit (y = -0 gives j = 0, byte 127 either way), and j = 128 becomes 127 there.
template <bool Signed>
inline uint8_t code_of(float y, const QuantMap& q) {
  const uint32_t bits = bits_of(y);
  const int s = -int(bits >> 31);
  if (!Signed) {
    const uint32_t positive = bits & ~uint32_t(s);
    float a;
    std::memcpy(&a, &positive, 4);
    return uint8_t(magnitude_index(a, q));
  }
  const int j = magnitude_index(std::fabs(y), q);
  const int clamped = j - (s & (j >> 7));
  return uint8_t(127 + ((clamped ^ s) - s));
}

#ifdef __AVX512BW__
// 16 bytes of y, as code_of; D from a's binade (QuantMap), the rest by in-register lookups.
inline __m128i codes_of(__m512 y, bool is_signed, const QuantMap& q) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512 a = is_signed ? _mm512_abs_ps(y) : _mm512_max_ps(y, zero);
  // the exponent less 102, saturated at 0 (a < 2^-24) in 16-bit lanes; a <= 1 + ulps keeps
  // it <= 25
  const __m512i key = _mm512_subs_epu16(_mm512_srli_epi32(_mm512_castps_si512(a), 23),
                                        _mm512_set1_epi32(102));
  const __m512i below = _mm512_permutex2var_epi32(_mm512_load_si512(q.below), key,
                                                  _mm512_load_si512(q.below + 16));
  const __m512 inside = _mm512_permutex2var_ps(_mm512_load_ps(q.inside), key,
                                               _mm512_load_ps(q.inside + 16));
  const __m512i D = _mm512_mask_add_epi32(below, _mm512_cmp_ps_mask(a, inside, _CMP_GT_OQ),
                                          below, _mm512_set1_epi32(1));
  const __m512 product = _mm512_mul_ps(a, _mm512_permutexvar_ps(D, _mm512_load_ps(q.scale)));
  const __m512 t = _mm512_add_ps(product, _mm512_permutexvar_ps(D, _mm512_load_ps(q.offset)));
  __m512i j = _mm512_cvttps_epi32(
      _mm512_min_ps(t, _mm512_permutexvar_ps(D, _mm512_load_ps(q.high))));
  if (is_signed) {
    const __m512i c127 = _mm512_set1_epi32(127);
    j = _mm512_mask_sub_epi32(_mm512_add_epi32(c127, j), _mm512_cmp_ps_mask(y, zero, _CMP_LT_OQ),
                              c127, _mm512_min_epi32(j, c127));
  }
  return _mm512_cvtepi32_epi8(j);
}
#elif defined(__AVX2__)
// 8 bytes of y (in the low half), as code_of: D by comparing with T_0..T_7, the lookups by
// 8-entry permutes of min(D, 7), D = 8 (a > T_7) blended in last.
inline __m128i codes_of(__m256 y, bool is_signed, const QuantMap& q) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 a = is_signed
                       ? _mm256_and_ps(y, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)))
                       : _mm256_max_ps(y, zero);
  __m256i D = _mm256_setzero_si256();
  __m256 above = zero;
  for (int i = 0; i < 8; ++i) {
    above = _mm256_cmp_ps(a, _mm256_set1_ps(q.threshold[i]), _CMP_GT_OQ);
    D = _mm256_sub_epi32(D, _mm256_castps_si256(above));  // a true compare is -1
  }
  const __m256i d = _mm256_min_epi32(D, _mm256_set1_epi32(7));
  const __m256 product = _mm256_mul_ps(a, _mm256_permutevar8x32_ps(_mm256_load_ps(q.scale), d));
  __m256 t = _mm256_add_ps(product, _mm256_permutevar8x32_ps(_mm256_load_ps(q.offset), d));
  t = _mm256_min_ps(t, _mm256_permutevar8x32_ps(_mm256_load_ps(q.high), d));
  t = _mm256_blendv_ps(t, _mm256_set1_ps(q.high[8]), above);  // above: a > T_7, D = 8
  __m256i j = _mm256_cvttps_epi32(t);
  if (is_signed) {
    const __m256i c127 = _mm256_set1_epi32(127);
    const __m256i negative = _mm256_castps_si256(_mm256_cmp_ps(y, zero, _CMP_LT_OQ));
    j = _mm256_blendv_epi8(_mm256_add_epi32(c127, j),
                           _mm256_sub_epi32(c127, _mm256_min_epi32(j, c127)), negative);
  }
  const __m128i words =
      _mm_packus_epi32(_mm256_castsi256_si128(j), _mm256_extracti128_si256(j, 1));
  return _mm_packus_epi16(words, words);
}
#endif

// One block of n <= kQuantBlock elements.
void quantize_block(const float* __restrict x, int64_t n, bool is_signed, const QuantMap& q,
                    uint8_t* __restrict codes, float* absmax) {
  const float s = absmax_of(x, n);
  *absmax = s;
  if (!(s <= kFloatMax)) {  // a NaN: every byte the zero code, restored as NaN
    std::memset(codes, is_signed ? 127 : 0, size_t(n));
    return;
  }
  const float r = s > 0 ? 1.0f / s : 0.0f;
  int64_t i = 0;
#ifdef __AVX512BW__
  const __m512 vr = _mm512_set1_ps(r);
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + i),
                     codes_of(_mm512_mul_ps(_mm512_loadu_ps(x + i), vr), is_signed, q));
#elif defined(__AVX2__)
  const __m256 vr = _mm256_set1_ps(r);
  for (; i + 8 <= n; i += 8)
    _mm_storel_epi64(reinterpret_cast<__m128i*>(codes + i),
                     codes_of(_mm256_mul_ps(_mm256_loadu_ps(x + i), vr), is_signed, q));
#endif
  if (is_signed)
    for (; i < n; ++i) codes[i] = code_of<true>(x[i] * r, q);
  else
    for (; i < n; ++i) codes[i] = code_of<false>(x[i] * r, q);
}

void quantize(const float* __restrict x, int64_t n, bool is_signed, uint8_t* __restrict codes,
              float* absmax) {
  const QuantMap& q = quant_map(is_signed);
  for (int64_t b = 0; b < n; b += kQuantBlock)
    quantize_block(x + b, std::min(kQuantBlock, n - b), is_signed, q, codes + b,
                   absmax + b / kQuantBlock);
}

#ifdef __AVX512BW__
// Where the unpacks of dequantize_vbmi want each code of a 64-element group: position
// 16 L + 4 k + e holds element 16 k + 4 L + e.
struct UnpackOrder {
  alignas(64) uint8_t at[64];
};
constexpr UnpackOrder unpack_order() {
  UnpackOrder o{};
  for (int pos = 0; pos < 64; ++pos)
    o.at[pos] = uint8_t(16 * (pos % 16 / 4) + 4 * (pos / 16) + pos % 4);
  return o;
}
constexpr UnpackOrder kUnpackOrder = unpack_order();

// x = code[c] s for elements [0, n - n % 64) by byte permutes (AVX-512 VBMI): each of the
// code's four byte planes is a 256-entry byte lookup (two 128-entry vpermi2b and a blend by the
// top bit), and the planes interleave into floats with unpacks. The unpacks leave element
// 16L + 4k + e of a 64-element group in lane L of output k, so the codes are first put in that
// order (one vpermb). Returns the elements done.
__attribute__((target("avx512vbmi"))) int64_t dequantize_vbmi(const uint8_t* __restrict codes,
                                                             const float* absmax,
                                                             const QuantMap& q,
                                                             float* __restrict x, int64_t n) {
  const __m512i shuffle = _mm512_load_si512(kUnpackOrder.at);
  __m512i table[4][4];
  for (int p = 0; p < 4; ++p)
    for (int t = 0; t < 4; ++t) table[p][t] = _mm512_load_si512(q.plane[p] + 64 * t);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {  // 64 divides kQuantBlock: one absmax
    const __m512i c = _mm512_permutexvar_epi8(shuffle, _mm512_loadu_si512(codes + i));
    const __mmask64 top = _mm512_movepi8_mask(c);
    __m512i b[4];
    for (int p = 0; p < 4; ++p)
      b[p] = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(table[p][0], c, table[p][1]),
                                    _mm512_permutex2var_epi8(table[p][2], c, table[p][3]));
    const __m512i w01[2] = {_mm512_unpacklo_epi8(b[0], b[1]), _mm512_unpackhi_epi8(b[0], b[1])};
    const __m512i w23[2] = {_mm512_unpacklo_epi8(b[2], b[3]), _mm512_unpackhi_epi8(b[2], b[3])};
    const __m512 s = _mm512_set1_ps(absmax[i / kQuantBlock]);
    for (int k = 0; k < 4; ++k) {
      const __m512i bits = k % 2 == 0 ? _mm512_unpacklo_epi16(w01[k / 2], w23[k / 2])
                                      : _mm512_unpackhi_epi16(w01[k / 2], w23[k / 2]);
      _mm512_storeu_ps(x + i + 16 * k, _mm512_mul_ps(_mm512_castsi512_ps(bits), s));
    }
  }
  return i;
}
#endif

// x = code[c] s; on avx512 by byte permutes where the CPU has VBMI (dequantize_vbmi), else
// (and for the last elements) the 256-entry lookup is eight 32-entry permutes and a tree of
// blends by the byte's top three bits.
void dequantize(const uint8_t* __restrict codes, const float* absmax, bool is_signed,
                float* __restrict x, int64_t n) {
  const QuantMap& q = quant_map(is_signed);
  const float* code = q.code;
  int64_t i = 0;
#ifdef __AVX512BW__
  if (cpu_has_avx512_vbmi()) i = dequantize_vbmi(codes, absmax, q, x, n);
  __m512 table[16];
  for (int t = 0; t < 16; ++t) table[t] = _mm512_load_ps(code + 16 * t);
  for (; i + 16 <= n; i += 16) {  // kQuantBlock is a multiple of 16
    const __m512 s = _mm512_set1_ps(absmax[i / kQuantBlock]);
    const __m512i c =
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + i)));
    __m512 part[8];
    for (int t = 0; t < 8; ++t)
      part[t] = _mm512_permutex2var_ps(table[2 * t], c, table[2 * t + 1]);
    const __mmask16 b5 = _mm512_test_epi32_mask(c, _mm512_set1_epi32(32));
    const __mmask16 b6 = _mm512_test_epi32_mask(c, _mm512_set1_epi32(64));
    const __mmask16 b7 = _mm512_test_epi32_mask(c, _mm512_set1_epi32(128));
    for (int t = 0; t < 4; ++t) part[t] = _mm512_mask_blend_ps(b5, part[2 * t], part[2 * t + 1]);
    for (int t = 0; t < 2; ++t) part[t] = _mm512_mask_blend_ps(b6, part[2 * t], part[2 * t + 1]);
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_mask_blend_ps(b7, part[0], part[1]), s));
  }
#endif
  for (; i < n; ++i) x[i] = code[codes[i]] * absmax[i / kQuantBlock];
}

}  // namespace

// How this target quantizes and restores, for show_config (convert.cc's conversions).
const char* int8_state_method() {
#ifdef __AVX512BW__
  return cpu_has_avx512_vbmi() ? "permutes, restored by vpermb (AVX-512 VBMI)" : "permutes";
#elif defined(__AVX2__)
  return "8-lane compares and permutes, restored element by element";
#else
  return "element by element";
#endif
}

// One function serves both tables, as the conversions (convert.cc) do.
extern const QuantizeKernel<float> quantize_f32 = &quantize;
extern const QuantizeKernel<double> quantize_f64 = &quantize;
extern const DequantizeKernel<float> dequantize_f32 = &dequantize;
extern const DequantizeKernel<double> dequantize_f64 = &dequantize;

}  // namespace STEEPEST_TARGET
}  // namespace steepest
