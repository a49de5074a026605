// Per-range sums of squares, the building block of per-tensor norms (LAMB, LARS). A kernel sums
// one range [begin, end) of a tensor in double, in kLanes lanes combined in a fixed order
// (kernel_math.h); the runtime adds the ranges of a tensor in a fixed order
// (runtime/parallel.h, reduce_per_tensor), so a norm is bitwise the same for any thread count.
#pragma once

#include <cstdint>

namespace steepest {

// out[0] = sum of a[i]^2, out[1] = sum of b[i]^2 over [begin, end).
template <class T>
using SumSquaresKernel = void (*)(const T* a, const T* b, int64_t begin, int64_t end,
                                  double* out);

}  // namespace steepest
