// Adadelta (torch.optim.Adadelta; Zeiler 2012):
//   g  <- sign * g + weight_decay * p                 sign = -1 if maximize else +1
//   v  <- rho * v + (1 - rho) * g^2
//   d   = sqrt(u + eps) / sqrt(v + eps) * g
//   u  <- rho * u + (1 - rho) * d^2
//   p  <- p - lr * d
// State: v (square_avg), u (acc_delta); both start at zero.
#pragma once

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: adadelta AdadeltaRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_ADADELTA_HYPER(X)       \
  X(double, lr, "lr")                    \
  X(double, rho, "rho")                  \
  X(double, eps, "eps")                  \
  X(double, weight_decay, "weight_decay")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(AdadeltaHyper, STEEPEST_ADADELTA_HYPER)

template <class T>
struct AdadeltaScalars {
  T sign, weight_decay, rho, one_minus_rho, eps, neg_lr;
  bool has_weight_decay;
};

struct AdadeltaRule : RuleDefaults<AdadeltaHyper, AdadeltaScalars> {
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"square_avg", "acc_delta"};

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(0.0 <= h.rho && h.rho <= 1.0, "Invalid rho value", h.rho);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
  }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t /*step*/, double*) {
    return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(h.rho), T(1.0 - h.rho), T(h.eps),
            T(-h.lr), h.weight_decay != 0.0};
  }
};

}  // namespace steepest
