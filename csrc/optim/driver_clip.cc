// Gradient clipping's passes (see driver.h): the norm through reduce_per_tensor (bitwise the
// same for any thread count), then an in-place scale or clamp.
#include <cmath>
#include <type_traits>

#include "driver.h"

namespace steepest {

namespace {

// Calls f(kernels<T>(), static_cast<T*>(a.data)) with T the dtype of a.
template <class F>
void with_dtype(const AnyArray& a, F&& f) {
  if (a.f64) f(kernels<double>(), static_cast<double*>(a.data));
  else f(kernels<float>(), static_cast<float*>(a.data));
}

// max(a, b) that keeps a NaN of either (torch's max).
double larger(double a, double b) { return (a < b || b != b) ? b : a; }

}  // namespace

double total_norm(const std::vector<AnyArray>& arrays, const std::vector<int64_t>& sizes,
                  double p) {
  const bool max = std::isinf(p);
  auto partial = [&](int64_t t, int64_t begin, int64_t end, double* out) {
    with_dtype(arrays[size_t(t)], [&](const auto& k, auto* x) {
      k.norm_partial(x, begin, end, p, out);
    });
  };
  const auto sums = max ? reduce_per_tensor<1>(sizes, partial, larger)
                        : reduce_per_tensor<1>(sizes, partial);
  double total = 0.0;
  for (const auto& s : sums) total = max ? larger(total, s[0]) : total + s[0];  // tensor order
  if (max || p == 1.0) return total;
  return p == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / p);
}

void scale_arrays(const std::vector<AnyArray>& arrays, const std::vector<int64_t>& sizes,
                  double factor) {
  for_each_range(sizes, [&](int64_t t, int64_t begin, int64_t end) {
    with_dtype(arrays[size_t(t)], [&](const auto& k, auto* x) {
      using T = std::remove_pointer_t<decltype(x)>;
      k.scale(x, begin, end, T(factor));
    });
  });
}

void clamp_arrays(const std::vector<AnyArray>& arrays, const std::vector<int64_t>& sizes,
                  double bound) {
  for_each_range(sizes, [&](int64_t t, int64_t begin, int64_t end) {
    with_dtype(arrays[size_t(t)], [&](const auto& k, auto* x) {
      using T = std::remove_pointer_t<decltype(x)>;
      k.clamp_abs(x, begin, end, T(bound));
    });
  });
}

}  // namespace steepest
