// LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning: Training BERT in 76
// minutes"), at step t (from 1), per tensor:
//   g <- sign * g                                        sign = -1 if maximize else +1
//   m <- beta1 * m + (1 - beta1) * g
//   v <- beta2 * v + (1 - beta2) * g^2
//   m^ = m / (1 - beta1^t),  v^ = v / (1 - beta2^t)      if bias_correction, else m^ = m, v^ = v
//   u  = m^ / (sqrt(v^) + eps) + weight_decay * p        (decoupled weight decay)
//   r  = min(||p||, max_weight_norm) / ||u||             1 if either norm is 0
//   p <- p - lr * r * u
// Two passes over the tensor: pass 1 (lamb_moments) updates m and v and sums p^2 and u^2 (u is
// computed on the fly, not stored); the runtime adds the sums per tensor (reduce_per_tensor), the
// driver computes r; pass 2 (lamb_apply) recomputes u from the new m, v and the unchanged p,
// bitwise as pass 1 did, and updates p.
// State: m (exp_avg), v (exp_avg_sq).
#pragma once

#include <algorithm>
#include <cmath>

#include "steepest/optim/hyper.h"
#include "steepest/optim/reduce.h"
#include "steepest/optim/tensor.h"

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h);
// max_weight_norm is inf for no clamp.
#define STEEPEST_LAMB_HYPER(X)                 \
  X(double, lr, "lr")                          \
  X(double, beta1, "betas[0]")                 \
  X(double, beta2, "betas[1]")                 \
  X(double, eps, "eps")                        \
  X(double, weight_decay, "weight_decay")      \
  X(double, max_weight_norm, "max_weight_norm")\
  X(bool, bias_correction, "bias_correction")  \
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(LambHyper, STEEPEST_LAMB_HYPER)

template <class T>
struct LambScalars {
  T sign, beta1, one_minus_beta1, beta2, one_minus_beta2, inv_bias_correction1,
      inv_bias_correction2_sqrt, eps, weight_decay;
  bool has_weight_decay;
  double lr, max_weight_norm;
  T neg_lr_trust;  // -lr * r: set between the passes
};

template <class T>
LambScalars<T> lamb_scalars(const LambHyper& h, int64_t step) {
  const double t = double(step);
  const double bc1 = h.bias_correction ? 1.0 - std::pow(h.beta1, t) : 1.0;
  const double bc2 = h.bias_correction ? 1.0 - std::pow(h.beta2, t) : 1.0;
  return {T(h.maximize ? -1.0 : 1.0), T(h.beta1), T(1.0 - h.beta1), T(h.beta2), T(1.0 - h.beta2),
          T(1.0 / bc1), T(1.0 / std::sqrt(bc2)), T(h.eps), T(h.weight_decay),
          h.weight_decay != 0.0, h.lr, h.max_weight_norm, T(-h.lr)};
}

// The trust ratio r from the sums of squares of p and u.
inline double lamb_trust(double max_weight_norm, double p_sum_squares, double u_sum_squares) {
  const double p_norm = std::min(std::sqrt(p_sum_squares), max_weight_norm);
  const double u_norm = std::sqrt(u_sum_squares);
  return p_norm > 0.0 && u_norm > 0.0 ? p_norm / u_norm : 1.0;
}

// Pass 1 over [begin, end): m, v updated; sums += p^2 and u^2 (reduce.h's RangeSums), unless
// sums is null (the update alone: pass 2 on 16-bit storage, driver_norms.cc).
template <class T>
using LambMomentsKernel = void (*)(const StepTensor<T>& t, const LambScalars<T>& s,
                                   int64_t begin, int64_t end, RangeSums* sums);
// Pass 2 over [begin, end): p <- p + neg_lr_trust * u.
template <class T>
using LambApplyKernel = RuleKernel<T, LambScalars<T>>;

}  // namespace steepest
