// RMSprop (torch.optim.RMSprop), at step t:
//   g  <- sign * g + weight_decay * p                 sign = -1 if maximize else +1
//   v  <- alpha * v + (1 - alpha) * g^2
//   centered:  ga <- ga + (1 - alpha) * (g - ga),  a = sqrt(v - ga^2) + eps   (lerp, like torch)
//   otherwise: a = sqrt(v) + eps
//   momentum > 0: b <- momentum * b + g / a,  p <- p - lr * b
//   otherwise:    p <- p - lr * g / a
// State: v (square_avg), b (momentum_buffer, momentum > 0), ga (grad_avg, centered); all start
// at zero.
#pragma once

#include "steepest/optim/hyper.h"
#include "steepest/optim/tensor.h"

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_RMSPROP_HYPER(X)        \
  X(double, lr, "lr")                    \
  X(double, alpha, "alpha")              \
  X(double, eps, "eps")                  \
  X(double, weight_decay, "weight_decay")\
  X(double, momentum, "momentum")        \
  X(bool, centered, "centered")          \
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(RmspropHyper, STEEPEST_RMSPROP_HYPER)

template <class T>
struct RmspropScalars {
  T sign, weight_decay, alpha, one_minus_alpha, lerp_weight, eps, neg_lr, momentum;
  bool lerp_from_g, has_weight_decay, centered, has_momentum;
};

template <class T>
RmspropScalars<T> rmsprop_scalars(const RmspropHyper& h, int64_t /*step*/) {
  const double w = 1.0 - h.alpha;
  return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(h.alpha), T(w),
          T(w >= 0.5 ? -h.alpha : w), T(h.eps), T(-h.lr), T(h.momentum),
          w >= 0.5, h.weight_decay != 0.0, h.centered, h.momentum > 0.0};
}

template <class T>
using RmspropKernel = RuleKernel<T, RmspropScalars<T>>;

}  // namespace steepest
