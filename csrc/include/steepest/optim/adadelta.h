// Adadelta (torch.optim.Adadelta; Zeiler 2012):
//   g  <- sign * g + weight_decay * p                 sign = -1 if maximize else +1
//   v  <- rho * v + (1 - rho) * g^2
//   d   = sqrt(u + eps) / sqrt(v + eps) * g
//   u  <- rho * u + (1 - rho) * d^2
//   p  <- p - lr * d
// State: v (square_avg), u (acc_delta); both start at zero.
#pragma once

#include "steepest/optim/hyper.h"
#include "steepest/optim/tensor.h"

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_ADADELTA_HYPER(X)       \
  X(double, lr, "lr")                    \
  X(double, rho, "rho")                  \
  X(double, eps, "eps")                  \
  X(double, weight_decay, "weight_decay")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(AdadeltaHyper, STEEPEST_ADADELTA_HYPER)

template <class T>
struct AdadeltaScalars {
  T sign, weight_decay, rho, one_minus_rho, eps, neg_lr;
  bool has_weight_decay;
};

template <class T>
AdadeltaScalars<T> adadelta_scalars(const AdadeltaHyper& h, int64_t /*step*/) {
  return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(h.rho), T(1.0 - h.rho), T(h.eps),
          T(-h.lr), h.weight_decay != 0.0};
}

template <class T>
using AdadeltaKernel = RuleKernel<T, AdadeltaScalars<T>>;

}  // namespace steepest
