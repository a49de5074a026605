// Fewer bytes per parameter: the one-pass rules on arrays stored in 16 bits, with the arithmetic
// in float32. Params and grads may be bfloat16 or float16 (with or without a float32 master
// copy of the params), state arrays may be bfloat16; the rule's own float32 kernel runs
// unchanged on blocks of a few hundred elements widened into float32 scratch (the block driver,
// csrc/optim/precision.h), and the results are narrowed back. These are the conversions, one
// table entry per SIMD target (csrc/optim/convert.cc):
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
// Quantizing x of a block with absmax s, r = 1/s (0 when s = 0), y = x r in float32:
//   a = min(|y|, 1) (unsigned: min(max(y, 0), 1)); j = #{i: mid_i < a}, mid_i = (M_i + M_{i+1})
//   / 2 rounded to float32 (the nearest magnitude, ties to the smaller); signed: byte 127 + j for
//   y >= 0, 127 - min(j, 127) for y < 0.
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

// A dynamic map and what its quantizer reads: `bucket` holds #{i: mid_i < v} for v, the first
// float of each bucket of [2^-24, 1] cut by the float's top 16 bits (exponent and 7 mantissa
// bits: key = (bits(a) >> 16) - (103 << 7), clamped to [0, kQuantKeys)), so that a bucket holds
// at most one midpoint and j = bucket[key] + (a > mid[bucket[key]]) (csrc/optim/quantize_map.cc
// checks this when it builds the tables). Three bytes of padding let a 32-bit gather read it.
constexpr int kQuantKeys = 24 * 128 + 1;
struct QuantMap {
  alignas(64) float code[256];  // the value of each byte
  alignas(64) float mid[256];   // mid_i between magnitudes i and i + 1; +inf past the last
  alignas(64) uint8_t bucket[kQuantKeys + 3];
};
const QuantMap& quant_map(bool is_signed);

// codes[i] and *absmax: the blockwise 8-bit form of x[0..n), n <= kQuantBlock (above).
template <class T>
using QuantizeKernel = void (*)(const float* x, int64_t n, bool is_signed, uint8_t* codes,
                                float* absmax);
// x[i] = code[codes[i]] * absmax for i < n.
template <class T>
using DequantizeKernel = void (*)(const uint8_t* codes, float absmax, bool is_signed, float* x,
                                  int64_t n);
// How the active target converts: "bfloat16: bit operations, float16: F16C".
template <class T>
using ConversionsKernel = const char* (*)();

}  // namespace steepest
