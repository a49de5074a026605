// LAMB's and LARS's passes, and per-array sums of squares: per-tensor norms between passes,
// through reduce_per_tensor (bitwise the same for any thread count). See driver.h.
#include <functional>

#include "driver.h"

namespace steepest {

template <class T>
void lamb_passes(Batch<T, LambScalars<T>>& batch) {
  if (batch.items.empty()) return;
  const Kernels<T>& k = kernels<T>();
  const auto sums = reduce_per_tensor<2>(
      batch.sizes,
      [&](int64_t t, int64_t begin, int64_t end, double* out) {
        k.lamb_moments(batch.items[t].tensor, batch.items[t].scalars, begin, end, out);
      },
      std::plus<double>(), batch.parallel_min);
  for (size_t t = 0; t < batch.items.size(); ++t) {
    auto& s = batch.items[t].scalars;
    s.neg_lr_trust = T(-s.lr * lamb_trust(s.max_weight_norm, sums[t][0], sums[t][1]));
  }
  batch.run(k.lamb_apply);
}

template <class T>
void lars_passes(Batch<T, LarsScalars<T>>& batch) {
  if (batch.items.empty()) return;
  const Kernels<T>& k = kernels<T>();
  // With exclude_1d, a tensor of at most one dimension takes no trust ratio: no sums either.
  auto adapts = [&](size_t t) {
    return !batch.items[t].scalars.hyper.exclude_1d || batch.ndims[t] > 1;
  };
  const auto sums = reduce_per_tensor<2>(
      batch.sizes,
      [&](int64_t t, int64_t begin, int64_t end, double* out) {
        if (adapts(size_t(t))) {
          k.sum_squares(batch.items[t].tensor.param, batch.items[t].tensor.grad, begin, end, out);
        } else {
          out[0] = out[1] = 0.0;
        }
      },
      std::plus<double>(), batch.parallel_min);
  for (size_t t = 0; t < batch.items.size(); ++t) {
    auto& s = batch.items[t].scalars;
    const bool adapt = adapts(t);
    const double l =
        adapt ? lars_local_lr(s.hyper, s.hyper.weight_decay, sums[t][0], sums[t][1]) : 1.0;
    s.sgd = lars_sgd_scalars<T>(s.hyper, adapt, l);
  }
  const auto sgd = k.sgd;
  batch.run([sgd](const StepTensor<T>& t, const LarsScalars<T>& s, int64_t begin, int64_t end) {
    sgd(t, s.sgd, begin, end);
  });
}

template <class T>
std::vector<double> sum_squares(const std::vector<const T*>& arrays,
                                const std::vector<int64_t>& sizes) {
  const auto kernel = kernels<T>().sum_squares;
  const auto sums = reduce_per_tensor<2>(
      sizes, [&](int64_t t, int64_t begin, int64_t end, double* partial) {
        kernel(arrays[t], arrays[t], begin, end, partial);
      });
  std::vector<double> out(arrays.size());
  for (size_t t = 0; t < sums.size(); ++t) out[t] = sums[t][0];
  return out;
}

template void lamb_passes<float>(Batch<float, LambScalars<float>>&);
template void lamb_passes<double>(Batch<double, LambScalars<double>>&);
template void lars_passes<float>(Batch<float, LarsScalars<float>>&);
template void lars_passes<double>(Batch<double, LarsScalars<double>>&);
template std::vector<double> sum_squares<float>(const std::vector<const float*>&,
                                                const std::vector<int64_t>&);
template std::vector<double> sum_squares<double>(const std::vector<const double*>&,
                                                 const std::vector<int64_t>&);

}  // namespace steepest
