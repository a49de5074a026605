// Per-range reductions, the building blocks of per-tensor norms (LAMB, LARS, gradient clipping)
// and of the non-finite guard. A kernel reduces one range [begin, end) of a tensor, in kLanes
// lanes combined in a fixed order (kernel_math.h); the runtime adds the ranges of a tensor in a
// fixed order (runtime/parallel.h, reduce_per_tensor), so a norm is bitwise the same for any
// thread count.
#pragma once

#include <cstdint>

namespace steepest {

// The lanes of a sum (kernel_math.h's kLanes): element i of a range goes to lane i % kSumLanes.
constexpr int kSumLanes = 16;

// Two sums of squares over a range, in lanes, running across calls on consecutive pieces of
// the range (the 16-bit block driver widens a range block by block, csrc/optim/precision.h):
// a call adds its elements to the lanes, continuing where the last call stopped (every piece
// before the last is a multiple of kSumLanes long), and leaves the totals so far (lanes_total)
// in total. Zero-initialized for a range's first call: one call over the range, or many over
// its pieces, give the same bits.
struct RangeSums {
  double lane[2][kSumLanes] = {};
  double total[2] = {};
};

// sums += a[i]^2 and b[i]^2 over [begin, end).
template <class T>
using SumSquaresKernel = void (*)(const T* a, const T* b, int64_t begin, int64_t end,
                                  RangeSums& sums);

// out[0] over x[begin, end), in double: sum |x|^p for 0 < p < inf (x^2 for p = 2 and |x| for
// p = 1 without pow), max |x| for p = inf (NaN if some x is NaN). The p-norm is then
// (sum of the ranges' out[0])^(1/p), or their max for p = inf.
template <class T>
using NormPartialKernel = void (*)(const T* x, int64_t begin, int64_t end, double p,
                                   double* out);

// out[0] = 0 when every x[begin, end) is finite, NaN when one is a NaN or an infinity.
template <class T>
using NonfiniteKernel = void (*)(const T* x, int64_t begin, int64_t end, double* out);

}  // namespace steepest
