// Adamax (torch.optim.Adamax; Kingma & Ba 2015, section 7), at step t (from 1):
//   g  <- sign * g + weight_decay * p                 sign = -1 if maximize else +1
//   m  <- m + (1 - beta1) * (g - m)                   (lerp from the nearer end, like torch)
//   u  <- max(beta2 * u, |g| + eps)
//   p  <- p - lr / (1 - beta1^t) * m / u
// State: m (exp_avg), u (exp_inf); both start at zero.
#pragma once

#include <cmath>

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: adamax AdamaxRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_ADAMAX_HYPER(X)         \
  X(double, lr, "lr")                    \
  X(double, beta1, "betas[0]")           \
  X(double, beta2, "betas[1]")           \
  X(double, eps, "eps")                  \
  X(double, weight_decay, "weight_decay")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(AdamaxHyper, STEEPEST_ADAMAX_HYPER)

template <class T>
struct AdamaxScalars {
  T sign, weight_decay, lerp_weight, beta2, eps, neg_clr;
  bool lerp_from_g, has_weight_decay;
};

struct AdamaxRule : RuleDefaults<AdamaxHyper, AdamaxScalars> {
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_inf"};

  static void check(const Hyper& h) { check_adam_family(h); }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    const double w = 1.0 - h.beta1;
    const double bias_correction = 1.0 - std::pow(h.beta1, double(step));
    return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(w >= 0.5 ? -h.beta1 : w),
            T(h.beta2), T(h.eps), T(-h.lr / bias_correction), w >= 0.5, h.weight_decay != 0.0};
  }
};

}  // namespace steepest
