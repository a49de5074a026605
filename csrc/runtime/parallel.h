// Threading: one parallel region per step of a parameter group, over the concatenation of its
// tensors, cut into one contiguous range per thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace steepest {

int get_num_threads();
void set_num_threads(int n);  // n >= 1

// Below this many elements in a step one thread does all the work: waking a second thread
// costs more than it saves on data that fits in L1/L2.
constexpr int64_t kParallelMinElements = int64_t(1) << 15;
// Thread ranges start at multiples of this many elements (a 64-byte line of float32).
constexpr int64_t kRangeAlign = 16;

// Calls f(t, begin, end) for every tensor t of sizes[0..count) and a sub-range [begin, end) of
// it, so that the calls together cover every element once. The split depends on the thread
// count, so f must update each element independently of where its range begins (kernels are
// element-wise; see kernel_math.h for why that holds bitwise). f must not throw.
template <class F>
void for_each_range(const std::vector<int64_t>& sizes, F&& f) {
  const int64_t count = int64_t(sizes.size());
  std::vector<int64_t> start(count + 1, 0);  // start[t]: offset of tensor t in the concatenation
  for (int64_t t = 0; t < count; ++t) start[t + 1] = start[t] + sizes[t];
  const int64_t total = start[count];
  const int threads = int(std::min<int64_t>(get_num_threads(), total / kParallelMinElements));
  if (threads <= 1) {
    for (int64_t t = 0; t < count; ++t)
      if (sizes[t] > 0) f(t, int64_t(0), sizes[t]);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
#ifdef _OPENMP
    const int64_t id = omp_get_thread_num(), n = omp_get_num_threads();
#else
    const int64_t id = 0, n = 1;
#endif
    auto cut = [&](int64_t k) {
      return k == n ? total : std::min(total, total * k / n / kRangeAlign * kRangeAlign);
    };
    int64_t lo = cut(id);
    const int64_t hi = cut(id + 1);
    int64_t t = std::upper_bound(start.begin(), start.end(), lo) - start.begin() - 1;
    while (lo < hi && t < count) {
      const int64_t end = std::min(hi, start[t + 1]);
      if (end > lo) f(t, lo - start[t], end - start[t]);
      lo = end;
      ++t;
    }
  }
}

}  // namespace steepest
