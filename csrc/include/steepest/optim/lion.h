// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"; not in torch.optim):
//   g  <- sign * g                                    sign = -1 if maximize else +1
//   p  <- p * (1 - lr * weight_decay)                 (decoupled)
//   c   = beta1 * m + (1 - beta1) * g
//   p  <- p - lr * sgn(c)                             (sgn(0) = 0)
//   m  <- beta2 * m + (1 - beta2) * g
// c and m are computed without fused multiply-adds (two products, one sum), so that the kernel
// and the NumPy reference round identically and the sign of c never differs between them.
// State: m (exp_avg), zero at first.
#pragma once

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: lion LionRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_LION_HYPER(X)           \
  X(double, lr, "lr")                    \
  X(double, beta1, "betas[0]")           \
  X(double, beta2, "betas[1]")           \
  X(double, weight_decay, "weight_decay")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(LionHyper, STEEPEST_LION_HYPER)

template <class T>
struct LionScalars {
  T sign, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, neg_lr;
  bool has_decay;
};

struct LionRule : RuleDefaults<LionHyper, LionScalars> {
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"exp_avg"};
  static constexpr bool kTakesInt8 = true;
  static constexpr bool kCountsSteps = false;

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(0.0 <= h.beta1 && h.beta1 <= 1.0, "Invalid beta parameter at index 0", h.beta1);
    require(0.0 <= h.beta2 && h.beta2 <= 1.0, "Invalid beta parameter at index 1", h.beta2);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
  }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t /*step*/, double*) {
    return {T(h.maximize ? -1.0 : 1.0), T(1.0 - h.lr * h.weight_decay), T(h.beta1),
            T(1.0 - h.beta1), T(h.beta2), T(1.0 - h.beta2), T(-h.lr), h.weight_decay != 0.0};
  }
};

}  // namespace steepest
