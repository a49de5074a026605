// Loss values and gradients: equations in steepest/nn/losses.h. Values are summed in double in
// kLanes lanes (kernel_math.h): a fixed order that depends only on the range.
#include "steepest/nn/losses.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {

#include "steepest/kernel_math.h"
#include "steepest/nn/approx.h"

namespace {

// Σ term(i) over [begin, end); term(i) returns element i's loss and writes its gradient.
template <class Term>
double lane_sum(int64_t begin, int64_t end, Term term) {
  double lane[kLanes] = {};
  int64_t i = begin;
  for (; i + kLanes <= end; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] += term(i + j);
  for (int j = 0; i < end; ++i, ++j) lane[j] += term(i);
  return lanes_total(lane);
}

// Rows [begin, end) of pred (B, C): Σ_i lse(p_i) - p_i[label_i], with lse(p) = m + log Σ e^(p-m),
// m = max p; grad_i = (softmax(p_i) - onehot(label_i)) · scale.
template <class T>
double cross_entropy(const Loss<T>& l, int64_t begin, int64_t end) {
  const int64_t c = l.cols;
  double total = 0.0;
  for (int64_t i = begin; i < end; ++i) {
    const T* __restrict p = l.pred + i * c;
    T m = p[0];
    for (int64_t j = 1; j < c; ++j) m = larger(m, p[j]);
    double sum = 0.0;
    T* __restrict g = l.grad ? l.grad + i * c : nullptr;
    if (g) {
      for (int64_t j = 0; j < c; ++j) g[j] = exp_approx(p[j] - m);
      for (int64_t j = 0; j < c; ++j) sum += double(g[j]);
      const T norm = T(1.0 / sum) * l.scale;
      for (int64_t j = 0; j < c; ++j) g[j] *= norm;
      g[l.labels[i]] -= l.scale;
    } else {
      for (int64_t j = 0; j < c; ++j) sum += double(exp_approx(p[j] - m));
    }
    total += (double(m) + __builtin_log(sum)) - double(p[l.labels[i]]);
  }
  return total;
}

}  // namespace

template <class T>
double loss(const Loss<T>& l, int64_t begin, int64_t end) {
  const T* __restrict p = l.pred;
  const T* __restrict t = l.target;
  T* __restrict g = l.grad;
  const T scale = l.scale, delta = l.delta;
  switch (l.function) {
    case LossFunction::mse:
      return lane_sum(begin, end, [&](int64_t i) {
        const T d = p[i] - t[i];
        if (g) g[i] = T(2) * d * scale;
        return double(d) * double(d);
      });
    case LossFunction::mae:
      return lane_sum(begin, end, [&](int64_t i) {
        const T d = p[i] - t[i];
        if (g) g[i] = signum(d) * scale;
        return double(absolute(d));
      });
    case LossFunction::huber:
      return lane_sum(begin, end, [&](int64_t i) {
        const double d = double(p[i]) - double(t[i]), a = absolute(d), dl = double(delta);
        if (g) g[i] = clamp(p[i] - t[i], -delta, delta) * scale;
        return a < dl ? 0.5 * d * d : dl * (a - 0.5 * dl);
      });
    case LossFunction::bce_with_logits:
      return lane_sum(begin, end, [&](int64_t i) {
        if (g) g[i] = (sigmoid_approx(p[i]) - t[i]) * scale;
        const double x = double(p[i]);
        return (x > 0.0 ? x : 0.0) - x * double(t[i]) + __builtin_log1p(__builtin_exp(-absolute(x)));
      });
    case LossFunction::cross_entropy:
      return cross_entropy(l, begin, end);
  }
  return 0.0;
}

STEEPEST_KERNEL_ENTRY(loss)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
