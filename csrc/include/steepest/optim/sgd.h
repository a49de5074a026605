// SGD (torch.optim.SGD), with momentum, dampening, Nesterov and L2 weight decay:
//   g <- sign * g + weight_decay * p                    sign = -1 if maximize else +1
//   b <- g                          on the first step   (momentum != 0)
//   b <- momentum * b + (1 - dampening) * g             afterwards
//   g <- g + momentum * b  if nesterov,  else  g <- b
//   p <- p - lr * g
// State: b (momentum_buffer), when momentum != 0.
#pragma once

#include <cmath>
#include <stdexcept>

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: sgd SgdRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_SGD_HYPER(X)            \
  X(double, lr, "lr")                    \
  X(double, momentum, "momentum")        \
  X(double, dampening, "dampening")      \
  X(double, weight_decay, "weight_decay")\
  X(bool, nesterov, "nesterov")          \
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(SgdHyper, STEEPEST_SGD_HYPER)

template <class T>
struct SgdScalars {
  T sign, weight_decay, neg_lr, momentum, one_minus_dampening;
  bool has_weight_decay, has_momentum, nesterov;
};

struct SgdRule : RuleDefaults<SgdHyper, SgdScalars> {
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"momentum_buffer"};
  static constexpr bool kTakesInt8 = true;
  static constexpr bool kCountsSteps = false;
  static constexpr bool kZeroState = false;  // the first step sets b = g

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.momentum), "Invalid momentum value", h.momentum);
    require(std::isfinite(h.dampening), "Invalid dampening value", h.dampening);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    if (h.nesterov && !(h.momentum > 0 && h.dampening == 0))
      throw std::invalid_argument("Nesterov momentum requires a momentum and zero dampening");
  }
  static bool uses_state(const Hyper& h, int) { return h.momentum != 0.0; }
  static int64_t parallel_min(const Hyper& h) {
    return h.momentum != 0.0 ? kParallelMinLight : kParallelMinBare;
  }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t /*step*/, double*) {
    return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(-h.lr), T(h.momentum),
            T(1.0 - h.dampening), h.weight_decay != 0.0, h.momentum != 0.0, h.nesterov};
  }
};

}  // namespace steepest
