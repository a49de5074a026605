// Transposes for the packing of GEMM operands (gemm_pack.h) and attention's K and V
// (attention.cc): rows gathered along their elements, with 8 x 8 in-register transposes for
// fp32 on AVX. Included inside namespace steepest::<target> after <immintrin.h> (see
// kernel_math.h for why the anonymous namespace).
#pragma once

namespace {

#if defined(__AVX__)
// rows[r][0..8) for r < 8 -> out[q * stride + r] for q < 8, r < width (width 4, 6 or 8):
// 8 columns of an 8 x 8 block of floats become 8 rows. Reads 8 floats from each of 8 rows.
inline void transpose8(const float* const rows[8], float* out, int64_t stride, int width) {
  __m256 r[8], t[8], s[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows[i]);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // r0[0] r1[0] r0[1] r1[1] | [4] [5]
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // r0[2] r1[2] r0[3] r1[3] | [6] [7]
  }
  for (int i = 0; i < 8; i += 4) {
    s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);      // column 0 | 4 of 4 rows
    s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);  // column 1 | 5
    s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int q = 0; q < 4; ++q) {
    const __m256 lo = _mm256_permute2f128_ps(s[q], s[q + 4], 0x20);  // column q
    const __m256 hi = _mm256_permute2f128_ps(s[q], s[q + 4], 0x31);  // column q + 4
    float* o = out + q * stride;
    float* o4 = out + (q + 4) * stride;
    if (width == 8) {
      _mm256_storeu_ps(o, lo);
      _mm256_storeu_ps(o4, hi);
    } else {
      _mm_storeu_ps(o, _mm256_castps256_ps128(lo));
      _mm_storeu_ps(o4, _mm256_castps256_ps128(hi));
      if (width == 6) {
        _mm_storel_pi(reinterpret_cast<__m64*>(o + 4), _mm256_extractf128_ps(lo, 1));
        _mm_storel_pi(reinterpret_cast<__m64*>(o4 + 4), _mm256_extractf128_ps(hi, 1));
      }
    }
  }
}

// out[p * stride + i] = src[i][p] for i < count (<= width), p < kc; rows count..width are 0.
// In 8 x 8 blocks along p, the last kc % 8 steps one by one.
inline void gather_rows(const float* const* src, int count, int width, int64_t kc, float* out,
                        int64_t stride) {
  static const float zeros[8] = {};
  const float* rows[8];
  for (int i = 0; i < 8; ++i) rows[i] = i < count ? src[i] : zeros;
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    transpose8(rows, out + p * stride, stride, width);
    for (int i = 0; i < count; ++i) rows[i] += 8;
  }
  for (; p < kc; ++p)
    for (int i = 0; i < width; ++i) out[p * stride + i] = i < count ? src[i][p] : 0.0f;
}
#endif

// out[p * stride + i] = src[i][p] for i < count, p < kc; rows count..width are 0.
template <class T>
void gather(const T* const* src, int count, int width, int64_t kc, T* __restrict out,
            int64_t stride) {
#if defined(__AVX__)
  // fp32 in groups of 8 rows (a 6-row sliver: one group of 6; 12 rows: 8 + 4).
  if constexpr (sizeof(T) == 4) {
    if (width % 8 == 0 || width == 6 || width == 12) {
      for (int i = 0; i < width; i += 8) {
        const int w = width - i < 8 ? width - i : 8;
        const int n = count - i < 0 ? 0 : (count - i < w ? count - i : w);
        gather_rows(src + i, n, w, kc, out + i, stride);
      }
      return;
    }
  }
#endif
  for (int64_t p = 0; p < kc; ++p)
    for (int i = 0; i < width; ++i) out[p * stride + i] = i < count ? src[i][p] : T(0);
}

}  // namespace
