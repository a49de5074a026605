// NAdam (torch.optim.NAdam; Dozat 2016, "Incorporating Nesterov Momentum into Adam"), at step t:
//   g   <- sign * g  (+ weight_decay * p: L2)         sign = -1 if maximize else +1
//   p   <- p * (1 - lr * weight_decay)                (decoupled_weight_decay)
//   mu_t  = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)),  mu_{t+1} likewise
//   P   <- P * mu_t                                    (mu_product: a per-tensor scalar state)
//   m   <- m + (1 - beta1) * (g - m)                   (lerp, like torch)
//   v   <- beta2 * v + (1 - beta2) * g^2
//   d    = sqrt(v / (1 - beta2^t)) + eps
//   p   <- p - lr (1 - mu_t) / (1 - P) * g / d - lr mu_{t+1} / (1 - P mu_{t+1}) * m / d
// State: m (exp_avg), v (exp_avg_sq), zero at first; P (mu_product, a float64 scalar per tensor,
// starting at 1, advanced by nadam_scalars).
#pragma once

#include <cmath>

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: nadam NadamRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_NADAM_HYPER(X)                            \
  X(double, lr, "lr")                                      \
  X(double, beta1, "betas[0]")                             \
  X(double, beta2, "betas[1]")                             \
  X(double, eps, "eps")                                    \
  X(double, weight_decay, "weight_decay")                  \
  X(double, momentum_decay, "momentum_decay")              \
  X(bool, decoupled_weight_decay, "decoupled_weight_decay")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(NadamHyper, STEEPEST_NADAM_HYPER)

template <class T>
struct NadamScalars {
  T sign, l2, decay, lerp_weight, beta2, one_minus_beta2, inv_bias_correction2, eps, neg_grad_step,
      neg_avg_step;
  bool lerp_from_g, has_l2, has_decay;
};

struct NadamRule : RuleDefaults<NadamHyper, NadamScalars> {
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq"};
  static constexpr size_t kScalarStates = 1;  // mu_product

  static void check(const Hyper& h) {
    check_adam_family(h);
    require(finite_nonnegative(h.momentum_decay), "Invalid momentum_decay value",
            h.momentum_decay);
  }
  // mu_product: the tensor's product of mu_1..mu_{t-1} on entry, of mu_1..mu_t on return.
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double* mu_product) {
    const double t = double(step);
    const double w = 1.0 - h.beta1;
    const double mu = h.beta1 * (1.0 - 0.5 * std::pow(0.96, t * h.momentum_decay));
    const double mu_next = h.beta1 * (1.0 - 0.5 * std::pow(0.96, (t + 1.0) * h.momentum_decay));
    *mu_product *= mu;
    const double mu_product_next = *mu_product * mu_next;
    const bool wd = h.weight_decay != 0.0;
    return {T(h.maximize ? -1.0 : 1.0),
            T(h.weight_decay),
            T(1.0 - h.lr * h.weight_decay),
            T(w >= 0.5 ? -h.beta1 : w),
            T(h.beta2),
            T(1.0 - h.beta2),
            T(1.0 / (1.0 - std::pow(h.beta2, t))),
            T(h.eps),
            T(-h.lr * (1.0 - mu) / (1.0 - *mu_product)),
            T(-h.lr * mu_next / (1.0 - mu_product_next)),
            w >= 0.5,
            wd && !h.decoupled_weight_decay,
            wd && h.decoupled_weight_decay};
  }
};

}  // namespace steepest
