// LAMB's and LARS's passes, and per-array sums of squares: per-tensor norms between passes,
// through reduce_per_tensor (bitwise the same for any thread count). See driver.h.
//
// On 16-bit storage (LowBatch, precision.h) pass 1 widens each block of a range and reduces it
// with the float32 kernels, their lane sums running across the range's blocks (RangeSums), and
// drops what they write; pass 2 runs the block driver. LAMB's pass 2 updates m and v again, from
// the same stored values, before it applies u. Each step is then bitwise the float32 step on the
// widened values, with its results rounded.
#include <functional>

#include "driver.h"
#include "precision.h"

namespace steepest {

namespace {

// The two sums of squares of each tensor of `sizes`: reduce(t, begin, end, sums) adds the
// elements [begin, end) of tensor t to sums (reduce.h's RangeSums).
template <class Reduce>
std::vector<std::array<double, 2>> sums_per_tensor(const std::vector<int64_t>& sizes,
                                                   int64_t parallel_min, Reduce reduce) {
  return reduce_per_tensor<2>(
      sizes,
      [&](int64_t t, int64_t begin, int64_t end, double* out) {
        RangeSums sums;
        reduce(t, begin, end, sums);
        out[0] = sums.total[0];
        out[1] = sums.total[1];
      },
      std::plus<double>(), parallel_min);
}
template <class Batch, class Reduce>
std::vector<std::array<double, 2>> sums_per_tensor(const Batch& batch, Reduce reduce) {
  return sums_per_tensor(batch.sizes, batch.parallel_min, reduce);
}

// kernel(block, scalars, 0, length) on the blocks of [begin, end) of a 16-bit tensor t, widened
// and read only (LowBatch::read; its state with_state): a range reduced block by block.
template <class Scalars, class Kernel>
void widened_blocks(const LowBatch<Scalars>& batch, int64_t t, int64_t begin, int64_t end,
                    bool with_state, Kernel kernel) {
  using Low = LowBatch<Scalars>;
  const auto& item = batch.items[size_t(t)];
  for (int64_t b = begin; b < end; b += Low::kBlock)
    Low::read(kernel, item.tensor, item.scalars, b, std::min(end, b + Low::kBlock), with_state);
}

// LAMB's trust ratios into the items' scalars, from the sums of p^2 and u^2.
template <class Items>
void set_lamb_trust(Items& items, const std::vector<std::array<double, 2>>& sums) {
  for (size_t t = 0; t < items.size(); ++t) {
    auto& s = items[t].scalars;
    s.neg_lr_trust = decltype(s.neg_lr_trust)(
        -s.lr * lamb_trust(s.max_weight_norm, sums[t][0], sums[t][1]));
  }
}

// LARS: whether tensor t takes a trust ratio (with exclude_1d, one of at most one dimension
// does not: no sums either), and its SGD scalars from the sums of p^2 and g^2.
template <class Batch>
bool lars_adapts(const Batch& batch, size_t t) {
  return !batch.items[t].scalars.hyper.exclude_1d || batch.ndims[t] > 1;
}
template <class T, class Batch>
void set_lars_scalars(Batch& batch, const std::vector<std::array<double, 2>>& sums) {
  for (size_t t = 0; t < batch.items.size(); ++t) {
    auto& s = batch.items[t].scalars;
    const bool adapt = lars_adapts(batch, t);
    const double l =
        adapt ? lars_local_lr(s.hyper, s.hyper.weight_decay, sums[t][0], sums[t][1]) : 1.0;
    s.sgd = lars_sgd_scalars<T>(s.hyper, adapt, l);
  }
}

}  // namespace

template <class T>
void lamb_passes(Batch<T, LambScalars<T>>& batch) {
  if (batch.items.empty()) return;
  const Kernels<T>& k = kernels<T>();
  set_lamb_trust(batch.items,
                 sums_per_tensor(batch, [&](int64_t t, int64_t begin, int64_t end,
                                            RangeSums& sums) {
                   k.lamb_moments(batch.items[t].tensor, batch.items[t].scalars, begin, end,
                                  &sums);
                 }));
  batch.run(k.lamb_apply);
}

void lamb_passes(LowBatch<LambScalars<float>>& batch) {
  if (batch.items.empty()) return;
  const Kernels<float>& k = kernels<float>();
  set_lamb_trust(batch.items, sums_per_tensor(batch, [&](int64_t t, int64_t begin, int64_t end,
                                                         RangeSums& sums) {
                   widened_blocks(batch, t, begin, end, true,
                                  [&](const StepTensor<float>& block, const LambScalars<float>& s,
                                      int64_t b, int64_t e) {
                                    k.lamb_moments(block, s, b, e, &sums);
                                  });
                 }));
  batch.run([&k](const StepTensor<float>& t, const LambScalars<float>& s, int64_t begin,
                 int64_t end) {
    k.lamb_moments(t, s, begin, end, nullptr);  // m and v again, without pass 1's sums
    k.lamb_apply(t, s, begin, end);
  });
}

template <class T>
void lars_passes(Batch<T, LarsScalars<T>>& batch) {
  if (batch.items.empty()) return;
  const Kernels<T>& k = kernels<T>();
  set_lars_scalars<T>(batch, sums_per_tensor(batch, [&](int64_t t, int64_t begin, int64_t end,
                                                     RangeSums& sums) {
                     if (lars_adapts(batch, size_t(t)))
                       k.sum_squares(batch.items[t].tensor.param, batch.items[t].tensor.grad,
                                     begin, end, sums);
                   }));
  const auto sgd = k.sgd;
  batch.run([sgd](const StepTensor<T>& t, const LarsScalars<T>& s, int64_t begin, int64_t end) {
    sgd(t, s.sgd, begin, end);
  });
}

void lars_passes(LowBatch<LarsScalars<float>>& batch) {
  if (batch.items.empty()) return;
  const Kernels<float>& k = kernels<float>();
  set_lars_scalars<float>(batch, sums_per_tensor(batch, [&](int64_t t, int64_t begin,
                                                           int64_t end, RangeSums& sums) {
                            if (!lars_adapts(batch, size_t(t))) return;
                            widened_blocks(batch, t, begin, end, false,
                                           [&](const StepTensor<float>& block,
                                               const LarsScalars<float>&, int64_t b, int64_t e) {
                                             k.sum_squares(block.param, block.grad, b, e, sums);
                                           });
                          }));
  const auto sgd = k.sgd;
  batch.run([sgd](const StepTensor<float>& t, const LarsScalars<float>& s, int64_t begin,
                  int64_t end) { sgd(t, s.sgd, begin, end); });
}

template <class T>
std::vector<double> sum_squares(const std::vector<const T*>& arrays,
                                const std::vector<int64_t>& sizes) {
  const auto kernel = kernels<T>().sum_squares;
  const auto sums = sums_per_tensor(sizes, kParallelMinElements,
                                    [&](int64_t t, int64_t begin, int64_t end, RangeSums& range) {
                                      kernel(arrays[t], arrays[t], begin, end, range);
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
