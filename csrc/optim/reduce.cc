// Sums of squares over a range, in kLanes double lanes (kernel_math.h): the per-range partials
// of per-tensor norms. Compiled once per SIMD target.
#include "steepest/optim/reduce.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

template <class T>
void sum_squares(const T* a_, const T* b_, int64_t begin, int64_t end, double* out) {
  const T* __restrict a = a_ + begin;
  const T* __restrict b = b_ + begin;
  const int64_t n = end - begin;
  double sa[kLanes] = {}, sb[kLanes] = {};
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
  out[0] = lanes_total(sa);
  out[1] = lanes_total(sb);
}

template void sum_squares<float>(const float*, const float*, int64_t, int64_t, double*);
template void sum_squares<double>(const double*, const double*, int64_t, int64_t, double*);

}  // namespace STEEPEST_TARGET
}  // namespace steepest
