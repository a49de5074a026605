// ASGD, averaged SGD (torch.optim.ASGD; Polyak & Juditsky 1992), at step t (from 1):
//   eta_t = lr / (1 + lambd * lr * (t - 1))^alpha     (torch keeps it as state: eta at step t
//   mu_t  = 1 / max(1, t - 1 - t0)                     is what the step t - 1 stored)
//   g   <- sign * g + weight_decay * p                 sign = -1 if maximize else +1
//   p   <- p * (1 - lambd * eta_t)
//   p   <- p - eta_t * g
//   ax  <- ax + mu_t * (p - ax)       (ax <- p when mu_t = 1)
// State: ax (zero at first). eta and mu are functions of the step count, not stored.
#pragma once

#include <algorithm>
#include <cmath>

#include "steepest/optim/tensor.h"

namespace steepest {

struct AsgdHyper {
  double lr, lambd, alpha, t0, weight_decay;
  bool maximize;
};

template <class T>
struct AsgdScalars {
  T sign, weight_decay, decay, neg_eta, mu;
  bool has_weight_decay, mu_is_one;
};

inline double asgd_eta(const AsgdHyper& h, int64_t step) {
  return h.lr / std::pow(1.0 + h.lambd * h.lr * double(step - 1), h.alpha);
}
inline double asgd_mu(const AsgdHyper& h, int64_t step) {
  return 1.0 / std::max(1.0, double(step - 1) - h.t0);
}

template <class T>
AsgdScalars<T> asgd_scalars(const AsgdHyper& h, int64_t step) {
  const double eta = asgd_eta(h, step), mu = asgd_mu(h, step);
  return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(1.0 - h.lambd * eta), T(-eta), T(mu),
          h.weight_decay != 0.0, mu == 1.0};
}

template <class T>
using AsgdKernel = RuleKernel<T, AsgdScalars<T>>;

}  // namespace steepest
