// A run of mini-batch steps of a linear model (steepest/nn/linear_epoch.h): the kernels of the
// active table called in the per-batch Python path's order, with its chunking (the loss through
// reduce_per_tensor, the update element-wise through for_each_range), so the result is bitwise
// that path's.
#include "steepest/nn/linear_epoch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../runtime/parallel.h"
#include "steepest/targets.h"

namespace steepest {

namespace {

// The rule's step over weight and bias: each tensor's step count advanced, its scalars computed
// from its group's hyperparameters and the step (as the optimizer's binding does), then the
// kernel over its elements.
template <class T>
void rule_step(const LinearEpoch<T>& e) {
  const Kernels<T>& k = kernels<T>();
  const std::vector<int64_t> sizes{e.outputs * e.features, e.outputs};
  StepTensor<T> t[2] = {{e.weight, e.dweight, {}, 0, false}, {e.bias, e.dbias, {}, 0, false}};
  for (int i = 0; i < 2; ++i) {
    std::copy(e.state[i], e.state[i] + kMaxStates, t[i].state);
    if (e.steps[i]) t[i].step = ++*e.steps[i];
  }
  if (e.rule == LinearRule::sgd) {
    const SgdScalars<T> s[2] = {SgdRule::scalars<T>(e.sgd[0], t[0].step, nullptr),
                                SgdRule::scalars<T>(e.sgd[1], t[1].step, nullptr)};
    for_each_range(sizes, [&](int64_t i, int64_t b, int64_t end) { k.sgd(t[i], s[i], b, end); });
  } else {
    const AdamScalars<T> s[2] = {AdamRule::scalars<T>(e.adam[0], t[0].step, nullptr),
                                 AdamRule::scalars<T>(e.adam[1], t[1].step, nullptr)};
    for_each_range(sizes, [&](int64_t i, int64_t b, int64_t end) { k.adam(t[i], s[i], b, end); });
  }
}

// w <- sign(w) * max(|w| - threshold, 0), NaN kept (NumPy's abs, subtract, maximum, copysign).
template <class T>
void soft_threshold(T* w, int64_t size, T threshold) {
  for (int64_t i = 0; i < size; ++i) {
    const T a = std::abs(w[i]) - threshold;
    w[i] = std::copysign(a < T(0) ? T(0) : a, w[i]);
  }
}

}  // namespace

constexpr int64_t kAhead = 16;  // rows

template <class T>
double linear_epoch(const LinearEpoch<T>& e, double total) {
  const Kernels<T>& k = kernels<T>();
  const int64_t F = e.features, K = e.outputs;
  const bool ce = e.loss == LossFunction::cross_entropy;
  // per batch: out, grad (rows, K); the gathered rows of X and of the targets or labels
  std::vector<T> out(size_t(e.rows * K)), grad(size_t(e.rows * K));
  std::vector<T> x_rows(e.order ? size_t(e.rows * F) : 0);
  std::vector<T> t_rows(e.order && !ce ? size_t(e.rows * K) : 0);
  std::vector<int64_t> l_rows(e.order && ce ? size_t(e.rows) : 0);
  const int64_t end = std::min(e.n, e.end_batch * e.rows);  // rows of the last batch, end
  for (int64_t batch = e.first_batch; batch < e.end_batch; ++batch) {
    const int64_t start = batch * e.rows, m = std::min(e.rows, e.n - start);
    const T* xb = e.x + start * F;
    const T* tb = ce ? nullptr : e.targets + start * K;
    const int64_t* lb = ce ? e.labels + start : nullptr;
    if (e.order) {
      for (int64_t r = 0; r < m; ++r) {
        // The rows come in random order, from anywhere in X: fetch kAhead rows ahead so that
        // their cache misses overlap instead of each stalling its copy.
        if (start + r + kAhead < end) {  // into the next batch's rows too
          const char* next = reinterpret_cast<const char*>(e.x + e.order[start + r + kAhead] * F);
          for (int64_t byte = 0; byte < F * int64_t(sizeof(T)); byte += 64)
            __builtin_prefetch(next + byte);
        }
        const int64_t row = e.order[start + r];
        std::memcpy(&x_rows[r * F], e.x + row * F, size_t(F) * sizeof(T));
        if (ce) l_rows[r] = e.labels[row];
        else std::copy(e.targets + row * K, e.targets + (row + 1) * K, &t_rows[r * K]);
      }
      xb = x_rows.data();
      tb = ce ? nullptr : t_rows.data();
      lb = ce ? l_rows.data() : nullptr;
    }
    k.dense_forward({out.data(), xb, e.weight, e.bias, m, F, K, Activation::none});
    const int64_t count = ce ? m : m * K;  // rows for cross_entropy, else elements
    const Loss<T> l{grad.data(), out.data(), tb, lb, ce ? K : 1, e.loss, e.delta,
                    T(1.0 / double(count))};
    const auto sums = reduce_per_tensor<1>(
        {count}, [&](int64_t, int64_t b, int64_t end, double* s) { s[0] = k.loss(l, b, end); });
    const double value = sums[0][0] / double(count);
    k.dense_backward({nullptr, e.dweight, e.dbias, grad.data(), xb, e.weight, m, F, K, false,
                      nullptr});
    rule_step(e);
    if (e.l1 > 0) soft_threshold(e.weight, K * F, T(e.l1));
    total += value * double(m);
  }
  return total;
}

template double linear_epoch<float>(const LinearEpoch<float>&, double);
template double linear_epoch<double>(const LinearEpoch<double>&, double);

}  // namespace steepest
