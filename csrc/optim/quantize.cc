// Blockwise 8-bit state (steepest/optim/precision.h): the quantizer and its inverse, compiled
// once per SIMD target. The avx512 target gathers from the map's tables, 16 lanes at a time
// (one gather of the bucket bytes, one of the midpoints; one of the codes to restore); the
// others run the same arithmetic one element at a time. Every way gives the same bytes.
#include <cmath>
#include <cstring>
#include <limits>

#include "steepest/targets.h"

#ifdef __AVX512BW__
#include <immintrin.h>
#endif

namespace steepest {
namespace STEEPEST_TARGET {

namespace {

constexpr float kFloatMax = std::numeric_limits<float>::max();

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// The bucket of a in [0, 1] (precision.h's QuantMap).
inline int key_of(float a) {
  const int key = int(bits_of(a) >> 16) - (103 << 7);
  return key < 0 ? 0 : key > kQuantKeys - 1 ? kQuantKeys - 1 : key;
}

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
#endif
  for (; i < n; ++i) {
    const float a = x[i] < 0 ? -x[i] : x[i];
    finite &= a <= kFloatMax;  // false for NaN and infinities
    s = a > s ? a : s;
  }
  return finite ? s : std::numeric_limits<float>::quiet_NaN();
}

// Bytes of y = x r, elements [i, n): one at a time.
void quantize_tail(const float* __restrict x, int64_t i, int64_t n, float r, bool is_signed,
                   const QuantMap& q, uint8_t* __restrict codes) {
  for (; i < n; ++i) {
    const float y = x[i] * r;
    float a = is_signed ? std::fabs(y) : (y > 0 ? y : 0.0f);  // |-0| is +0: its key is 0
    a = a < 1.0f ? a : 1.0f;
    const int lo = q.bucket[key_of(a)];
    const int j = lo + (a > q.mid[lo] ? 1 : 0);
    codes[i] = uint8_t(!is_signed ? j : y < 0 ? 127 - (j < 127 ? j : 127) : 127 + j);
  }
}

void quantize(const float* __restrict x, int64_t n, bool is_signed, uint8_t* __restrict codes,
              float* absmax) {
  const QuantMap& q = quant_map(is_signed);
  const float s = absmax_of(x, n);
  *absmax = s;
  if (!(s <= kFloatMax)) {  // a NaN: every byte the zero code, restored as NaN
    std::memset(codes, is_signed ? 127 : 0, size_t(n));
    return;
  }
  const float r = s > 0 ? 1.0f / s : 0.0f;
  int64_t i = 0;
#ifdef __AVX512BW__
  const __m512 vr = _mm512_set1_ps(r), one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
  const __m512i base = _mm512_set1_epi32(103 << 7), last = _mm512_set1_epi32(kQuantKeys - 1);
  const __m512i byte = _mm512_set1_epi32(0xFF), c127 = _mm512_set1_epi32(127);
  const __m512i ones = _mm512_set1_epi32(1);
  for (; i + 16 <= n; i += 16) {
    const __m512 y = _mm512_mul_ps(_mm512_loadu_ps(x + i), vr);
    __m512 a = is_signed ? _mm512_abs_ps(y) : _mm512_max_ps(y, zero);
    a = _mm512_min_ps(a, one);
    __m512i key = _mm512_sub_epi32(_mm512_srli_epi32(_mm512_castps_si512(a), 16), base);
    key = _mm512_min_epi32(_mm512_max_epi32(key, _mm512_setzero_si512()), last);
    const __m512i lo =
        _mm512_and_si512(_mm512_i32gather_epi32(key, q.bucket, 1), byte);  // 4 bytes read
    const __m512 mid = _mm512_i32gather_ps(lo, q.mid, 4);
    __m512i j = _mm512_mask_add_epi32(lo, _mm512_cmp_ps_mask(a, mid, _CMP_GT_OQ), lo, ones);
    if (is_signed) {
      const __mmask16 negative = _mm512_cmp_ps_mask(y, zero, _CMP_LT_OQ);
      j = _mm512_mask_sub_epi32(_mm512_add_epi32(c127, j), negative, c127,
                                _mm512_min_epi32(j, c127));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + i), _mm512_cvtepi32_epi8(j));
  }
#endif
  quantize_tail(x, i, n, r, is_signed, q, codes);
}

void dequantize(const uint8_t* __restrict codes, float absmax, bool is_signed,
                float* __restrict x, int64_t n) {
  const float* code = quant_map(is_signed).code;
  int64_t i = 0;
#ifdef __AVX512BW__
  const __m512 s = _mm512_set1_ps(absmax);
  for (; i + 16 <= n; i += 16) {
    const __m512i c =
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + i)));
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_i32gather_ps(c, code, 4), s));
  }
#endif
  for (; i < n; ++i) x[i] = code[codes[i]] * absmax;
}

}  // namespace

// One function serves both tables, as the conversions (convert.cc) do.
extern const QuantizeKernel<float> quantize_f32 = &quantize;
extern const QuantizeKernel<double> quantize_f64 = &quantize;
extern const DequantizeKernel<float> dequantize_f32 = &dequantize;
extern const DequantizeKernel<double> dequantize_f64 = &dequantize;

}  // namespace STEEPEST_TARGET
}  // namespace steepest
