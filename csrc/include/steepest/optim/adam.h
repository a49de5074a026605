// Adam and AdamW (torch.optim.Adam, torch.optim.AdamW), at step t (from 1):
//   g <- sign * g  (+ weight_decay * p     for Adam: L2 added to the gradient)
//   p <- p * (1 - lr * weight_decay)       for AdamW: decoupled decay
//   m <- m + (1 - beta1) * (g - m)        (g - beta1 * (g - m) when 1 - beta1 >= 0.5, like torch's lerp)
//   v <- beta2 * v + (1 - beta2) * g^2
//   vmax <- max(vmax, v), v^ = vmax        if amsgrad, else v^ = v
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v^) / sqrt(1 - beta2^t) + eps)
// State: m (exp_avg), v (exp_avg_sq), vmax (max_exp_avg_sq, with amsgrad).
#pragma once

#include <cmath>

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: adam AdamRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_ADAM_HYPER(X)                             \
  X(double, lr, "lr")                                      \
  X(double, beta1, "betas[0]")                             \
  X(double, beta2, "betas[1]")                             \
  X(double, eps, "eps")                                    \
  X(double, weight_decay, "weight_decay")                  \
  X(bool, amsgrad, "amsgrad")                              \
  X(bool, maximize, "maximize")                            \
  X(bool, decoupled_weight_decay, "decoupled_weight_decay")
STEEPEST_HYPER_STRUCT(AdamHyper, STEEPEST_ADAM_HYPER)

template <class T>
struct AdamScalars {
  T sign, l2, decay, lerp_weight, beta2, one_minus_beta2, inv_bias_correction2_sqrt, eps,
      neg_step_size;
  bool lerp_from_g, has_l2, has_decay, amsgrad;
};

struct AdamRule : RuleDefaults<AdamHyper, AdamScalars> {
  static constexpr int kStates = 3;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  static constexpr bool kTakesInt8 = true;
  static constexpr unsigned kNonNegativeStates = 0b110;  // exp_avg_sq, max_exp_avg_sq

  static void check(const Hyper& h) { check_adam_family(h); }
  static bool uses_state(const Hyper& h, int s) { return s < 2 || h.amsgrad; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    const double t = double(step);
    const double bias_correction1 = 1.0 - std::pow(h.beta1, t);
    const double bias_correction2 = 1.0 - std::pow(h.beta2, t);
    const bool wd = h.weight_decay != 0.0;
    return {T(h.maximize ? -1.0 : 1.0),
            T(h.weight_decay),
            T(1.0 - h.lr * h.weight_decay),
            T(1.0 - h.beta1 >= 0.5 ? -h.beta1 : 1.0 - h.beta1),
            T(h.beta2),
            T(1.0 - h.beta2),
            T(1.0 / std::sqrt(bias_correction2)),
            T(h.eps),
            T(-h.lr / bias_correction1),
            1.0 - h.beta1 >= 0.5,
            wd && !h.decoupled_weight_decay,
            wd && h.decoupled_weight_decay,
            h.amsgrad};
  }
};

}  // namespace steepest
