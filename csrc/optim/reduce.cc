// Per-range reductions in kLanes lanes (kernel_math.h): sums of squares and p-norm partials of
// per-tensor norms, and the non-finite check. Compiled once per SIMD target.
#include "steepest/optim/reduce.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

template <class T>
void sum_squares(const T* a_, const T* b_, int64_t begin, int64_t end, RangeSums& sums) {
  const T* __restrict a = a_ + begin;
  const T* __restrict b = b_ + begin;
  const int64_t n = end - begin;
  double* __restrict sa = sums.lane[0];
  double* __restrict sb = sums.lane[1];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double x = double(a[i + j]), y = double(b[i + j]);
      sa[j] = fmadd(x, x, sa[j]);
      sb[j] = fmadd(y, y, sb[j]);
    }
  for (int j = 0; i + j < n; ++j) {
    const double x = double(a[i + j]), y = double(b[i + j]);
    sa[j] = fmadd(x, x, sa[j]);
    sb[j] = fmadd(y, y, sb[j]);
  }
  sums.total[0] = lanes_total(sa);
  sums.total[1] = lanes_total(sb);
}

namespace {

// The lanes of sum f(x) (or max, for Max) over n elements of x, in double.
template <class T, bool Max, class F>
double lanes_reduce(const T* __restrict x, int64_t n, F f) {
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double y = f(double(x[i + j]));
      lane[j] = Max ? larger(lane[j], y) : lane[j] + y;
    }
  for (int j = 0; i + j < n; ++j) {
    const double y = f(double(x[i + j]));
    lane[j] = Max ? larger(lane[j], y) : lane[j] + y;
  }
  if (!Max) return lanes_total(lane);
  double m = lane[0];
  for (int j = 1; j < kLanes; ++j) m = larger(m, lane[j]);
  return m;
}

}  // namespace

template <class T>
void norm_partial(const T* x_, int64_t begin, int64_t end, double p, double* out) {
  const T* x = x_ + begin;
  const int64_t n = end - begin;
  if (p == 2.0) {
    double lane[kLanes] = {};  // as sum_squares: fused multiply-adds
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        const double y = double(x[i + j]);
        lane[j] = fmadd(y, y, lane[j]);
      }
    for (int j = 0; i + j < n; ++j) {
      const double y = double(x[i + j]);
      lane[j] = fmadd(y, y, lane[j]);
    }
    out[0] = lanes_total(lane);
  } else if (p == 1.0) {
    out[0] = lanes_reduce<T, false>(x, n, [](double y) { return absolute(y); });
  } else if (p == 1.0 / 0.0) {
    out[0] = lanes_reduce<T, true>(x, n, [](double y) { return absolute(y); });
  } else {
    out[0] = lanes_reduce<T, false>(x, n, [p](double y) { return __builtin_pow(absolute(y), p); });
  }
}

template <class T>
void nonfinite(const T* x_, int64_t begin, int64_t end, double* out) {
  const T* __restrict x = x_ + begin;
  const int64_t n = end - begin;
  // x * 0 is 0 for a finite x and NaN for a NaN or an infinity; the sum keeps a NaN.
  T lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] += x[i + j] * T(0);
  for (int j = 0; i + j < n; ++j) lane[j] += x[i + j] * T(0);
  T any = T(0);
  for (int j = 0; j < kLanes; ++j) any += lane[j];
  out[0] = double(any);
}

STEEPEST_KERNEL_ENTRY(sum_squares)
STEEPEST_KERNEL_ENTRY(norm_partial)
STEEPEST_KERNEL_ENTRY(nonfinite)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
