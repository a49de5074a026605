// Rprop (torch.optim.Rprop; Riedmiller & Braun 1993), elementwise:
//   g  <- sign * g                                    sign = -1 if maximize else +1
//   s   = g * prev
//   f   = etaplus if s > 0, etaminus if s < 0, 1 otherwise
//   step_size <- clamp(step_size * f, step_size_min, step_size_max)
//   g  <- 0 where s < 0
//   p  <- p - sgn(g) * step_size
//   prev <- g
// State: prev (zero at first), step_size (lr at first): the kernel sets both on the fresh step.
#pragma once

#include "steepest/optim/hyper.h"
#include "steepest/optim/tensor.h"

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h).
#define STEEPEST_RPROP_HYPER(X)            \
  X(double, lr, "lr")                      \
  X(double, etaminus, "etas[0]")           \
  X(double, etaplus, "etas[1]")            \
  X(double, step_size_min, "step_sizes[0]")\
  X(double, step_size_max, "step_sizes[1]")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(RpropHyper, STEEPEST_RPROP_HYPER)

template <class T>
struct RpropScalars {
  T sign, lr, etaminus, etaplus, step_size_min, step_size_max;
};

template <class T>
RpropScalars<T> rprop_scalars(const RpropHyper& h, int64_t /*step*/) {
  return {T(h.maximize ? -1.0 : 1.0), T(h.lr), T(h.etaminus), T(h.etaplus), T(h.step_size_min),
          T(h.step_size_max)};
}

template <class T>
using RpropKernel = RuleKernel<T, RpropScalars<T>>;

}  // namespace steepest
