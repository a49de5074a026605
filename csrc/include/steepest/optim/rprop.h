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
#include "steepest/optim/rule.h"
#include "steepest/optim/tensor.h"

// rule: rprop RpropRule

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

struct RpropRule : RuleDefaults<RpropHyper, RpropScalars> {
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"prev", "step_size"};
  static constexpr bool kZeroState = false;  // the first step starts prev at 0, step_size at lr

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(0.0 < h.etaminus && h.etaminus < 1.0 && 1.0 < h.etaplus, "Invalid eta values",
            h.etaminus, h.etaplus);
    require(h.step_size_min <= h.step_size_max, "Invalid step_sizes", h.step_size_min,
            h.step_size_max);
  }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t /*step*/, double*) {
    return {T(h.maximize ? -1.0 : 1.0), T(h.lr), T(h.etaminus), T(h.etaplus),
            T(h.step_size_min), T(h.step_size_max)};
  }
};

}  // namespace steepest
