// Adagrad (torch.optim.Adagrad), at step t (from 1):
//   g   <- sign * g + weight_decay * p                sign = -1 if maximize else +1
//   clr  = lr / (1 + (t - 1) * lr_decay)
//   s   <- s + g^2              (s starts at initial_accumulator_value: the kernel sets it on the
//                                fresh step)
//   p   <- p - clr * g / (sqrt(s) + eps)
// State: s (sum).
#pragma once

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: adagrad AdagradRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_ADAGRAD_HYPER(X)                                  \
  X(double, lr, "lr")                                              \
  X(double, lr_decay, "lr_decay")                                  \
  X(double, weight_decay, "weight_decay")                          \
  X(double, initial_accumulator_value, "initial_accumulator_value")\
  X(double, eps, "eps")                                            \
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(AdagradHyper, STEEPEST_ADAGRAD_HYPER)

template <class T>
struct AdagradScalars {
  T sign, weight_decay, initial, eps, neg_clr;
  bool has_weight_decay;
};

struct AdagradRule : RuleDefaults<AdagradHyper, AdagradScalars> {
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"sum"};
  static constexpr bool kZeroState = false;  // the first step starts s at initial_accumulator_value

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.lr_decay), "Invalid lr_decay value", h.lr_decay);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    require(finite_nonnegative(h.initial_accumulator_value),
            "Invalid initial_accumulator_value value", h.initial_accumulator_value);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
  }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    const double clr = h.lr / (1.0 + double(step - 1) * h.lr_decay);
    return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(h.initial_accumulator_value),
            T(h.eps), T(-clr), h.weight_decay != 0.0};
  }
};

}  // namespace steepest
