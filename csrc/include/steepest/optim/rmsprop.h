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
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: rmsprop RmspropRule

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

struct RmspropRule : RuleDefaults<RmspropHyper, RmspropScalars> {
  static constexpr int kStates = 3;
  static constexpr const char* kStateKeys[] = {"square_avg", "momentum_buffer", "grad_avg"};

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
    require(finite_nonnegative(h.momentum), "Invalid momentum value", h.momentum);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    require(finite_nonnegative(h.alpha), "Invalid alpha value", h.alpha);
  }
  static bool uses_state(const Hyper& h, int s) {
    return s == 0 || (s == 1 && h.momentum > 0.0) || (s == 2 && h.centered);
  }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t /*step*/, double*) {
    const double w = 1.0 - h.alpha;
    return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(h.alpha), T(w),
            T(w >= 0.5 ? -h.alpha : w), T(h.eps), T(-h.lr), T(h.momentum),
            w >= 0.5, h.weight_decay != 0.0, h.centered, h.momentum > 0.0};
  }
};

}  // namespace steepest
