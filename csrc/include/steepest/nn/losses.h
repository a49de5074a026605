// Losses with mean reduction and their gradient with respect to pred (torch's definitions):
//   mse              mean (p - t)²                          g = 2 (p - t) / N
//   mae              mean |p - t|                           g = sign(p - t) / N
//   huber(δ)         mean (|d| < δ ? d²/2 : δ (|d| - δ/2))  g = clamp(d, -δ, δ) / N, d = p - t
//   bce_with_logits  mean max(p, 0) - p t + log(1 + e^-|p|) g = (sigmoid(p) - t) / N
//   cross_entropy    pred (B, C) logits, labels (B): mean over rows of lse(p_i) - p_i[label_i]
//                    g_i = (softmax(p_i) - onehot(label_i)) / B, lse by max subtraction
// N is the element count (B for cross_entropy). Sums are taken in double.
#pragma once

#include <cstdint>

namespace steepest {

enum class LossFunction : int { mse, mae, huber, bce_with_logits, cross_entropy };

template <class T>
struct Loss {
  T* grad;               // pred's shape, or null (value only)
  const T* pred;         // (N) or (B, C) for cross_entropy
  const T* target;       // pred's shape (null for cross_entropy)
  const int64_t* labels; // (B), each in [0, C) (checked by the caller), cross_entropy only
  int64_t cols;          // C for cross_entropy, else 1
  LossFunction function;
  T delta;               // huber's δ
  T scale;               // 1 / N
};

// Writes grad over [begin, end) (elements; rows for cross_entropy) and returns the sum of the
// per-element losses there (unscaled), summed in a fixed order: the binding adds the ranges of
// reduce_per_tensor, so the value is bitwise the same for any thread count.
template <class T>
using LossKernel = double (*)(const Loss<T>&, int64_t, int64_t);

}  // namespace steepest
