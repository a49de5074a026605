// Fewer bytes per parameter: the update rules on arrays stored in 16 bits (all but Adafactor),
// with the arithmetic in float32. Params and grads may be bfloat16 or float16 (with or without
// a float32 master copy of the params), state arrays may be bfloat16; the rule's own float32
// kernels run unchanged on blocks of a few hundred elements widened into float32 scratch (the
// block driver, csrc/optim/precision.h), and the results are narrowed back. These are the
// conversions, one table entry per SIMD target (csrc/optim/convert.cc):
//   widen:  bfloat16 -> float32 is exact (bits << 16); float16 -> float32 is exact.
//   narrow: float32 -> 16 bits, rounded to nearest even (bfloat16: (b + 0x7FFF + ((b >> 16) & 1))
//           >> 16; a NaN stays a NaN, its sign kept; an infinity stays infinite; a finite
//           value past the largest finite one rounds to infinity as IEEE rounding does), or
//           stochastically (below).
// Stochastic rounding of x, in either format: with d = x rounded toward zero and u the ulp of
// the format at d, x rounds away from zero (to the next value after d) with probability
// (|x| - |d|) / u, else to d: unbiased, E[round(x)] = x, up to 2^-24 of an ulp. The draw is
// counter-based: element i of a tensor uses
//   r = fmix32(key + 0x9E3779B9 * lo32(i) + 0x7F4A7C15 * hi32(i)),   (mod 2^32)
//   round away iff (r >> 8) * 2^-24 < (|x| - |d|) / u,
// where key = stochastic_key(seed, step, k) for the tensor's parameter number k, so a run is
// reproducible for any thread count and any cut of the tensors into chunks and blocks. NaN and
// infinities keep their nearest rounding. (steepest.reference.precision does the same in NumPy.)
//
// Blockwise 8-bit state (Dettmers, Lewis, Shleifer & Zettlemoyer 2022, "8-bit Optimizers via
// Block-wise Quantization"): a state array is cut into blocks of kQuantBlock elements; block b
// keeps its absmax s_b = max |x| and one byte per element, the index of the code nearest to
// x / s_b in a 256-entry dynamic map (below); x is restored as code[q] * s_b. The maps hold
// 0, 1 and, for each decade d = 0..6 of [1e-7, 1), the means of n_d equal parts of
// [0.1, 1] 10^(d-6) (Dettmers' dynamic tree quantization: a decimal exponent and a linear
// fraction whose precision grows with the magnitude):
//   signed   (first moments, momentum): n_d = 2^d, magnitudes M_0 = 0 < M_1 < ... < M_127 <
//            M_128 = 1; byte 127 + j is M_j (j = 0..128), byte 127 - j is -M_j (j = 1..127);
//   unsigned (second moments): n_d = 2^(d+1); byte j is M_j, j = 0..255.
// Quantizing x of a block with absmax s, r = 1/s (0 when s = 0), y = x r in float32, a = |y|
// (unsigned: max(y, 0); a may pass 1 by an ulp): the nearest magnitude's index j, found by
// arithmetic: with T_0..T_7 the midpoints around the decades (between 0 and the first
// magnitude, between the decades, between the last one and 1) and D = #{i: T_i < a},
//   j = trunc(min(a S_D + B_D, H_D)),
// where for decade d = D - 1 of n codes from index base_D, S_D = n / (0.9 10^(d-6)),
// B_D = base_D - n / 9 and H_D = base_D + n - 1/2 (a S_D + B_D >= base_D + 0.13 in the decade:
// no lower clamp); for D = 0 (j = 0) and D = 8 (j = the index of 1) S_D = 0 and B_D = H_D =
// j. a S_D and + B_D are each rounded to float32 (no fused multiply-add). That is the nearest
// magnitude but where float32 rounding moves a value within 2.2e-6 (relative) of a midpoint to
// the other side (a S_D + B_D is about base_D + k < 2n: its rounding is 2n 2^-24 in units of
// 1/S_D).
// Signed: byte 127 + j for y >= 0, 127 - min(j, 127) for y < 0.
// A block holding a NaN or an infinity keeps s = NaN (every byte the zero code): it restores as
// NaN, as the float32 state would have held non-finite values. (steepest.reference.quantize does
// the same in NumPy.)
#pragma once

#include <cstdint>

namespace steepest {

// How an array is stored. The step's arithmetic is float32 whatever the storage.
enum class Storage : uint8_t { f32, bf16, f16, q8 };  // q8: blockwise 8-bit (state only)

// How values are rounded when narrowed to 16 bits.
enum class Rounding : uint8_t { nearest, stochastic };

// The draw of stochastic rounding for one tensor at one step (the comment above).
struct Stochastic {
  uint32_t key;   // stochastic_key(seed, step, k)
  int64_t first;  // the element index of the block's first element within its tensor
};

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The key of parameter k's draws at step `step` of a run seeded with `seed`.
inline uint32_t stochastic_key(uint64_t seed, int64_t step, uint64_t k) {
  return uint32_t(splitmix64(seed ^ splitmix64(uint64_t(step) ^ splitmix64(k))));
}

inline uint32_t fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  x *= 0xC2B2AE35u;
  return x ^ (x >> 16);
}

// dst[i] = float32(src[i]) for i < n; src holds bfloat16 or float16 bits (not f32).
template <class T>
using WidenKernel = void (*)(Storage from, const uint16_t* src, float* dst, int64_t n);
// dst[i] = src[i] narrowed to `to` (bf16 or f16 bits), to nearest even, or stochastically with
// the draws of `draw` when it is not null.
template <class T>
using NarrowKernel = void (*)(Storage to, const float* src, uint16_t* dst, int64_t n,
                              const Stochastic* draw);
constexpr int64_t kQuantBlock = 256;

// A dynamic map and its quantizer's constants (above), by D = 0..8. The avx512 target finds D
// from a's binade: binade e (2^e <= a < 2^(e+1), e = -24..0; key e + 25, key 0 for a < 2^-24)
// holds at most one T_i, so D = below[key] + (a > inside[key]) (+inf where none is inside).
struct QuantMap {
  alignas(64) float code[256];  // the value of each byte
  alignas(64) float threshold[8];  // T_0..T_7
  alignas(64) float scale[16], offset[16], high[16];  // S_D, B_D, H_D
  alignas(64) int32_t below[32];            // by binade key, 0..25
  alignas(64) float inside[32];
  alignas(64) uint8_t plane[4][256];  // byte p of each code (little-endian): for byte permutes
};
const QuantMap& quant_map(bool is_signed);

// codes[i] and absmax[b]: the blockwise 8-bit form of x[0..n), blocks b of kQuantBlock (the
// last may be shorter).
template <class T>
using QuantizeKernel = void (*)(const float* x, int64_t n, bool is_signed, uint8_t* codes,
                                float* absmax);
// x[i] = code[codes[i]] * absmax[i / kQuantBlock] for i < n.
template <class T>
using DequantizeKernel = void (*)(const uint8_t* codes, const float* absmax, bool is_signed,
                                  float* x, int64_t n);
// How the active target converts: "bfloat16: bit operations, float16: F16C".
template <class T>
using ConversionsKernel = const char* (*)();

}  // namespace steepest
