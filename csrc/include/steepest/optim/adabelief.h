// AdaBelief (Zhuang et al. 2020, "AdaBelief Optimizer: Adapting Stepsizes by the Belief in
// Observed Gradients", NeurIPS; Algorithm 2), with the options of the authors' package
// adabelief-pytorch (weight decay decoupled or L2, AMSGrad) and a bias_correction switch; its
// RAdam-style rectification is not the paper's algorithm and is not offered. At step t (from 1):
//   g <- sign * g  (+ weight_decay * p     not decoupled: L2 added to the gradient)
//   p <- p * (1 - lr * weight_decay)       decoupled (AdamW-style)
//   m <- beta1 * m + (1 - beta1) * g
//   s <- beta2 * s + (1 - beta2) * (g - m)^2 + eps      (the new m; eps is kept in s)
//   smax <- max(smax, s), s^ = smax        if amsgrad, else s^ = s
//   p <- p - lr / bc1 * m / (sqrt(s^) / sqrt(bc2) + eps)
// with bc1 = 1 - beta1^t, bc2 = 1 - beta2^t (1 and 1 without bias_correction).
// State: m (exp_avg), s (exp_avg_var), smax (max_exp_avg_var, with amsgrad): the package's keys.
#pragma once

#include <cmath>
#include <cstddef>

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: adabelief AdaBeliefRule

namespace steepest {

#define STEEPEST_ADABELIEF_HYPER(X)                         \
  X(double, lr, "lr")                                       \
  X(double, beta1, "betas[0]")                              \
  X(double, beta2, "betas[1]")                              \
  X(double, eps, "eps")                                     \
  X(double, weight_decay, "weight_decay")                   \
  X(bool, amsgrad, "amsgrad")                               \
  X(bool, decoupled_weight_decay, "decoupled_weight_decay") \
  X(bool, bias_correction, "bias_correction")               \
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(AdaBeliefHyper, STEEPEST_ADABELIEF_HYPER)

template <class T>
struct AdaBeliefScalars {
  T sign, l2, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
      inv_bias_correction2_sqrt, neg_step_size;
  bool has_l2, has_decay, amsgrad;
};

struct AdaBeliefRule : RuleDefaults<AdaBeliefHyper, AdaBeliefScalars> {
  static constexpr int kStates = 3;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_var", "max_exp_avg_var"};
  static constexpr bool kTakesInt8 = true;
  static constexpr unsigned kNonNegativeStates = 0b110;  // exp_avg_var, max_exp_avg_var

  static void check(const Hyper& h) { check_adam_family(h); }
  static bool uses_state(const Hyper& h, int s) { return s < 2 || h.amsgrad; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    const double t = double(step);
    const double bc1 = h.bias_correction ? 1.0 - std::pow(h.beta1, t) : 1.0;
    const double bc2 = h.bias_correction ? 1.0 - std::pow(h.beta2, t) : 1.0;
    const bool wd = h.weight_decay != 0.0;
    return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(1.0 - h.lr * h.weight_decay),
            T(h.beta1), T(1.0 - h.beta1), T(h.beta2), T(1.0 - h.beta2), T(h.eps),
            T(1.0 / std::sqrt(bc2)), T(-h.lr / bc1),
            wd && !h.decoupled_weight_decay, wd && h.decoupled_weight_decay, h.amsgrad};
  }
};

}  // namespace steepest
