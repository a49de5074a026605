// ASGD, averaged SGD (torch.optim.ASGD; Polyak & Juditsky 1992), at step t (from 1):
//   g   <- sign * g + weight_decay * p                 sign = -1 if maximize else +1
//   p   <- p * (1 - lambd * eta)
//   p   <- p - eta * g
//   ax  <- ax + mu * (p - ax)         (ax <- p when mu = 1)
// then, for the next step, with this step's lr:
//   eta <- lr / (1 + lambd * lr * t)^alpha
//   mu  <- 1 / max(1, t - t0)
// State: ax (zero at first); eta (lr at first) and mu (1 at first), per-tensor float64 scalars
// kept as torch keeps them, so that an lr change takes effect when torch's does.
#pragma once

#include <algorithm>
#include <cmath>

#include "steepest/optim/hyper.h"
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: asgd AsgdRule

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_ASGD_HYPER(X)           \
  X(double, lr, "lr")                    \
  X(double, lambd, "lambd")              \
  X(double, alpha, "alpha")              \
  X(double, t0, "t0")                    \
  X(double, weight_decay, "weight_decay")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(AsgdHyper, STEEPEST_ASGD_HYPER)

template <class T>
struct AsgdScalars {
  T sign, weight_decay, decay, neg_eta, mu;
  bool has_weight_decay, mu_is_one;
};

struct AsgdRule : RuleDefaults<AsgdHyper, AsgdScalars> {
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"ax"};
  static constexpr size_t kScalarStates = 2;  // eta, mu

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    require(std::isfinite(h.lambd), "Invalid lambd value", h.lambd);
    require(std::isfinite(h.alpha), "Invalid alpha value", h.alpha);
    require(!std::isnan(h.t0), "Invalid t0 value", h.t0);
  }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  // eta_mu: the tensor's (eta, mu) for this step on entry, for the next on return. A NaN eta
  // stands for "not set yet": the first step takes the group's lr, as torch's state does.
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double* eta_mu) {
    const double eta = std::isnan(eta_mu[0]) ? h.lr : eta_mu[0], mu = eta_mu[1];
    eta_mu[0] = h.lr / std::pow(1.0 + h.lambd * h.lr * double(step), h.alpha);
    eta_mu[1] = 1.0 / std::max(1.0, double(step) - h.t0);
    return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(1.0 - h.lambd * eta), T(-eta),
            T(mu), h.weight_decay != 0.0, mu == 1.0};
  }
};

}  // namespace steepest
