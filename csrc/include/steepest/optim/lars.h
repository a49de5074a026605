// LARS (You et al. 2017, "Large Batch Training of Convolutional Networks"): momentum SGD whose
// step is scaled per tensor by a layer-wise trust ratio. Per tensor, at each step:
//   g  <- sign * g                                         sign = -1 if maximize else +1
//   l  = trust_coefficient * ||p|| / (||g|| + weight_decay * ||p|| + eps)
//                                                          1 if ||p|| or ||g|| is 0
//   g' = (g + weight_decay * p) * l
//   b <- g'                       on the first step        (momentum != 0)
//   b <- momentum * b + g'        afterwards
//   d  = g' + momentum * b  if nesterov, else  d = b       (d = g' without momentum)
//   p <- p - lr * d
// With exclude_1d, tensors of at most one dimension (biases, norm scales) take neither the trust
// ratio nor the weight decay: l = 1, weight_decay = 0 (plain momentum SGD).
//
// Two passes: pass 1 sums p^2 and g^2 per tensor (the sum_squares kernel of reduce.h, through
// reduce_per_tensor: bitwise the same for any thread count); pass 2 is SGD's fused kernel
// (sgd.h) with l folded into its scalars: sign' = sign * l, weight_decay' = weight_decay * l,
// dampening 0. So LARS has no element-wise kernel of its own, and g' rounds as
// sign' * g + weight_decay' * p rather than (g + weight_decay * p) * l (a few ulps apart).
// State: b (momentum_buffer), when momentum != 0.
#pragma once

#include <cmath>

#include "steepest/optim/hyper.h"
#include "steepest/optim/sgd.h"

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_LARS_HYPER(X)                     \
  X(double, lr, "lr")                              \
  X(double, momentum, "momentum")                  \
  X(double, weight_decay, "weight_decay")          \
  X(double, trust_coefficient, "trust_coefficient")\
  X(double, eps, "eps")                            \
  X(bool, nesterov, "nesterov")                    \
  X(bool, exclude_1d, "exclude_1d")                \
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(LarsHyper, STEEPEST_LARS_HYPER)

// The trust ratio l from the sums of squares of p and g (weight_decay: 0 for excluded tensors).
inline double lars_local_lr(const LarsHyper& h, double weight_decay, double p_sum_squares,
                            double g_sum_squares) {
  const double p_norm = std::sqrt(p_sum_squares), g_norm = std::sqrt(g_sum_squares);
  if (!(p_norm > 0.0 && g_norm > 0.0)) return 1.0;
  return h.trust_coefficient * p_norm / (g_norm + weight_decay * p_norm + h.eps);
}

// Pass 2's scalars: SGD's, with the tensor's trust ratio l folded in.
template <class T>
SgdScalars<T> lars_sgd_scalars(const LarsHyper& h, bool adapt, double local_lr) {
  const double wd = adapt ? h.weight_decay : 0.0;
  const double l = adapt ? local_lr : 1.0;
  return {T((h.maximize ? -1.0 : 1.0) * l), T(wd * l), T(-h.lr), T(h.momentum), T(1.0),
          wd != 0.0, h.momentum != 0.0, h.nesterov};
}

// What the driver keeps per tensor between the passes.
template <class T>
struct LarsScalars {
  LarsHyper hyper;
  SgdScalars<T> sgd;  // set between the passes
};

}  // namespace steepest
