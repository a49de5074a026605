// RAdam (torch.optim.RAdam; Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and
// Beyond"), at step t (from 1):
//   g   <- sign * g  (+ weight_decay * p: L2)         sign = -1 if maximize else +1
//   p   <- p * (1 - lr * weight_decay)                (decoupled_weight_decay)
//   m   <- m + (1 - beta1) * (g - m)                   (lerp, like torch)
//   v   <- beta2 * v + (1 - beta2) * g^2
//   rho_inf = 2 / (1 - beta2) - 1,   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
//   rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
//               p <- p - lr r sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)
//   otherwise:  p <- p - lr / (1 - beta1^t) * m
// State: m (exp_avg), v (exp_avg_sq); both start at zero.
#pragma once

#include <cmath>

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: radam RadamRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_RADAM_HYPER(X)                            \
  X(double, lr, "lr")                                      \
  X(double, beta1, "betas[0]")                             \
  X(double, beta2, "betas[1]")                             \
  X(double, eps, "eps")                                    \
  X(double, weight_decay, "weight_decay")                  \
  X(bool, decoupled_weight_decay, "decoupled_weight_decay")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(RadamHyper, STEEPEST_RADAM_HYPER)

template <class T>
struct RadamScalars {
  T sign, l2, decay, lerp_weight, beta2, one_minus_beta2, eps, neg_step;
  bool lerp_from_g, has_l2, has_decay, rectified;
};

struct RadamRule : RuleDefaults<RadamHyper, RadamScalars> {
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq"};

  static void check(const Hyper& h) { check_adam_family(h); }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    const double t = double(step);
    const double w = 1.0 - h.beta1;
    const double bias_correction1 = 1.0 - std::pow(h.beta1, t);
    const double beta2_t = std::pow(h.beta2, t);
    const double bias_correction2 = 1.0 - beta2_t;
    const double rho_inf = 2.0 / (1.0 - h.beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * t * beta2_t / bias_correction2;
    const bool rectified = rho_t > 5.0;
    double neg_step = -h.lr / bias_correction1;
    if (rectified) {
      const double rect = std::sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                    ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
      neg_step *= rect * std::sqrt(bias_correction2);
    }
    const bool wd = h.weight_decay != 0.0;
    return {T(h.maximize ? -1.0 : 1.0),
            T(h.weight_decay),
            T(1.0 - h.lr * h.weight_decay),
            T(w >= 0.5 ? -h.beta1 : w),
            T(h.beta2),
            T(1.0 - h.beta2),
            T(h.eps),
            T(neg_step),
            w >= 0.5,
            wd && !h.decoupled_weight_decay,
            wd && h.decoupled_weight_decay,
            rectified};
  }
};

}  // namespace steepest
