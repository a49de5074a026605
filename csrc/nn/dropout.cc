// Inverted dropout (steepest/nn/dropout.h): y_i = keep_i ? x_i / (1 - p) : 0.
#include "steepest/nn/dropout.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {

namespace {

// murmur3's 32-bit finalizer: a bijection that mixes every input bit into every output bit.
inline uint32_t mix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// splitmix64's finalizer, once per call: spreads the seed over both 32-bit keys.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

// keep_i = (mix32(mix32(lo ^ k0) ^ (k1 + hi)) >> 8) >= threshold, with i = hi·2^32 + lo and
// (k0, k1) the halves of mix64(seed): 24 uniform bits against round(p·2^24). The loop runs
// over one hi at a time, so the hash vectorizes in 32-bit lanes.
template <class T>
void dropout(const Dropout<T>& d, int64_t begin, int64_t end) {
  const uint64_t key = mix64(d.seed);
  const uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  const int32_t threshold = int32_t(d.threshold);  // <= 2^24: a signed compare is exact
  const T scale = d.scale;
  T* __restrict y = d.y;
  const T* __restrict x = d.x;
  for (int64_t block = begin; block < end;) {
    const int64_t hi = block >> 32;
    const int64_t block_end = end < ((hi + 1) << 32) ? end : ((hi + 1) << 32);
    const uint32_t k = k1 + uint32_t(hi);
    for (int64_t i = block; i < block_end; ++i) {
      const int32_t u = int32_t(mix32(mix32(uint32_t(i) ^ k0) ^ k) >> 8);
      y[i] = x[i] * (u >= threshold ? scale : T(0));  // as torch: a dropped NaN stays NaN
    }
    block = block_end;
  }
}

STEEPEST_KERNEL_ENTRY(dropout)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
