// The memory ceiling of an update step: a loop with a rule's access pattern and almost no
// arithmetic. It reads R arrays and writes the first W of them back in place, so it moves
// (R + W) * sizeof(T) bytes per element, the same bytes as a fused step of a rule with that
// pattern (AdamW: R = 4 (p, g, m, v), W = 3). Compiled per SIMD target, like the kernels.
#include <atomic>

#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

// a[k][i] <- mean over the R arrays of a[.][i], for k < W. Values stay bounded for any
// number of passes, so timing never meets infinities or denormals.
template <class T, int R, int W>
void pattern_loop(T* const* a, int64_t begin, int64_t end) {
  T* __restrict a0 = a[0];
  T* __restrict a1 = a[1];
  T* __restrict a2 = R > 2 ? a[2] : nullptr;
  T* __restrict a3 = R > 3 ? a[3] : nullptr;
  T* __restrict a4 = R > 4 ? a[4] : nullptr;
  const T scale = T(1) / T(R);
  for (int64_t i = begin; i < end; ++i) {
    T s = a0[i] + a1[i];
    if (R > 2) s += a2[i];
    if (R > 3) s += a3[i];
    if (R > 4) s += a4[i];
    s *= scale;
    a0[i] = s;
    if (W > 1) a1[i] = s;
    if (W > 2) a2[i] = s;
    if (W > 3) a3[i] = s;
  }
}

// A pass that only reads (W = 0, like the norms passes of LARS, Adafactor): the sum of products
// (of squares, for one array), in lanes so that it vectorizes like the norm kernels, kept by
// one relaxed store.
template <class T, int R>
void read_loop(T* const* a, int64_t begin, int64_t end) {
  static_assert(R == 1 || R == 2, "read-only patterns read one or two arrays");
  const T* __restrict a0 = a[0];
  const T* __restrict a1 = a[R - 1];
  T lane[kLanes] = {};
  int64_t i = begin;
  for (; i + kLanes <= end; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] += a0[i + j] * a1[i + j];
  for (int j = 0; i + j < end; ++j) lane[j] += a0[i + j] * a1[i + j];
  T s = 0;
  for (int j = 0; j < kLanes; ++j) s += lane[j];
  static std::atomic<T> sink;
  sink.store(s, std::memory_order_relaxed);
}

}  // namespace

template <class T>
void pattern(T* const* arrays, int reads, int writes, int64_t begin, int64_t end) {
  // The patterns of the rules: (2, 1) plain SGD, (3, 2) SGD with momentum, Adagrad, RMSprop,
  // (4, 3) Adam, AdamW, Lion with two states, (5, 4) AMSGrad, (6, 5) Adan; LAMB's two passes
  // (4, 2), (3, 1);
  // LARS's norms pass (2, 0); Adafactor's (1, 0).
  const int key = reads * 10 + writes;
  switch (key) {
    case 21: pattern_loop<T, 2, 1>(arrays, begin, end); break;
    case 32: pattern_loop<T, 3, 2>(arrays, begin, end); break;
    case 43: pattern_loop<T, 4, 3>(arrays, begin, end); break;
    case 54: pattern_loop<T, 5, 4>(arrays, begin, end); break;
    case 65: pattern_loop<T, 6, 5>(arrays, begin, end); break;
    case 42: pattern_loop<T, 4, 2>(arrays, begin, end); break;
    case 31: pattern_loop<T, 3, 1>(arrays, begin, end); break;
    case 20: read_loop<T, 2>(arrays, begin, end); break;
    case 10: read_loop<T, 1>(arrays, begin, end); break;
    default: break;  // the binding only passes the patterns above
  }
}

STEEPEST_KERNEL_ENTRY(pattern)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
