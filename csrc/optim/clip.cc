// Gradient clipping's in-place passes: scale by the clip coefficient, clamp to [-c, c].
// Compiled once per SIMD target.
#include "steepest/optim/clip.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

template <class T>
void scale(T* x_, int64_t begin, int64_t end, T factor) {
  T* __restrict x = x_ + begin;
  for (int64_t i = 0; i < end - begin; ++i) x[i] = factor * x[i];
}

template <class T>
void clamp_abs(T* x_, int64_t begin, int64_t end, T bound) {
  T* __restrict x = x_ + begin;
  const T lo = -bound;
  for (int64_t i = 0; i < end - begin; ++i) x[i] = clamp(x[i], lo, bound);
}

STEEPEST_KERNEL_ENTRY(scale)
STEEPEST_KERNEL_ENTRY(clamp_abs)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
