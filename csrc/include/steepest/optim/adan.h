// Adan (Xie et al. 2022, "Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep
// Models"; Algorithm 1), as its authors' code (github.com/sail-sg/Adan) runs it: betas weigh the
// old value (the paper's beta_i is 1 - beta_i here: its (0.02, 0.08, 0.01) are (0.98, 0.92,
// 0.99)), the moments are bias-corrected, the first step has no gradient difference. At step t
// (from 1), with d = g - g_prev (0 at t = 1):
//   g <- sign * g                                    sign = -1 if maximize else +1
//   m <- beta1 * m + (1 - beta1) * g                 (exp_avg)
//   v <- beta2 * v + (1 - beta2) * d                 (exp_avg_diff)
//   u  = g + beta2 * d
//   n <- beta3 * n + (1 - beta3) * u^2               (exp_avg_sq)
//   w  = (lr / bc1 * m + lr * beta2 / bc2 * v) / (sqrt(n) / sqrt(bc3) + eps),  bc_i = 1 - beta_i^t
//   p <- (p - w) / (1 + lr * weight_decay)           (the paper's proximal step)
//   p <- p * (1 - lr * weight_decay) - w             (no_prox: decoupled decay)
//   q <- -g                                          (neg_pre_grad: the authors' key and sign)
// The authors' max_grad_norm (a global clip inside the step) is left to clip_grad_norm_.
#pragma once

#include <cmath>
#include <cstddef>

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: adan AdanRule

namespace steepest {

#define STEEPEST_ADAN_HYPER(X)           \
  X(double, lr, "lr")                    \
  X(double, beta1, "betas[0]")           \
  X(double, beta2, "betas[1]")           \
  X(double, beta3, "betas[2]")           \
  X(double, eps, "eps")                  \
  X(double, weight_decay, "weight_decay")\
  X(bool, no_prox, "no_prox")            \
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(AdanHyper, STEEPEST_ADAN_HYPER)

template <class T>
struct AdanScalars {
  T sign, beta1, one_minus_beta1, beta2, one_minus_beta2, beta3, one_minus_beta3,
      inv_bias_correction3_sqrt, eps, neg_step_m, neg_step_v;
  T scale_before, scale_after;  // p <- (p * scale_before - w) * scale_after
  bool first;                   // step 1: no previous gradient, d = 0
};

struct AdanRule : RuleDefaults<AdanHyper, AdanScalars> {
  static constexpr int kStates = 4;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq", "exp_avg_diff",
                                               "neg_pre_grad"};

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
    require(in_unit_interval(h.beta1), "Invalid beta parameter at index 0", h.beta1);
    require(in_unit_interval(h.beta2), "Invalid beta parameter at index 1", h.beta2);
    require(in_unit_interval(h.beta3), "Invalid beta parameter at index 2", h.beta3);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
  }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    const double t = double(step);
    const double bc1 = 1.0 - std::pow(h.beta1, t), bc2 = 1.0 - std::pow(h.beta2, t),
                 bc3 = 1.0 - std::pow(h.beta3, t);
    const double decay = h.lr * h.weight_decay;
    return {T(h.maximize ? -1.0 : 1.0), T(h.beta1), T(1.0 - h.beta1), T(h.beta2),
            T(1.0 - h.beta2), T(h.beta3), T(1.0 - h.beta3), T(1.0 / std::sqrt(bc3)), T(h.eps),
            T(-h.lr / bc1), T(-h.lr * h.beta2 / bc2),
            T(h.no_prox ? 1.0 - decay : 1.0), T(h.no_prox ? 1.0 : 1.0 / (1.0 + decay)),
            step == 1};
  }
};

}  // namespace steepest
