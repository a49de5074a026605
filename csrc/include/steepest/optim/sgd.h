// SGD (torch.optim.SGD), with momentum, dampening, Nesterov and L2 weight decay:
//   g <- sign * g + weight_decay * p                    sign = -1 if maximize else +1
//   b <- g                          on the first step   (momentum != 0)
//   b <- momentum * b + (1 - dampening) * g             afterwards
//   g <- g + momentum * b  if nesterov,  else  g <- b
//   p <- p - lr * g
// State: b (momentum_buffer), when momentum != 0.
#pragma once

#include "steepest/optim/hyper.h"
#include "steepest/optim/tensor.h"

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_SGD_HYPER(X)            \
  X(double, lr, "lr")                    \
  X(double, momentum, "momentum")        \
  X(double, dampening, "dampening")      \
  X(double, weight_decay, "weight_decay")\
  X(bool, nesterov, "nesterov")          \
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(SgdHyper, STEEPEST_SGD_HYPER)

template <class T>
struct SgdScalars {
  T sign, weight_decay, neg_lr, momentum, one_minus_dampening;
  bool has_weight_decay, has_momentum, nesterov;
};

template <class T>
SgdScalars<T> sgd_scalars(const SgdHyper& h, int64_t /*step*/) {
  return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(-h.lr), T(h.momentum),
          T(1.0 - h.dampening), h.weight_decay != 0.0, h.momentum != 0.0, h.nesterov};
}

template <class T>
using SgdKernel = RuleKernel<T, SgdScalars<T>>;

}  // namespace steepest
