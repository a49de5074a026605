// Adagrad (torch.optim.Adagrad), at step t (from 1):
//   g   <- sign * g + weight_decay * p                sign = -1 if maximize else +1
//   clr  = lr / (1 + (t - 1) * lr_decay)
//   s   <- s + g^2              (s starts at initial_accumulator_value: the kernel sets it on the
//                                fresh step)
//   p   <- p - clr * g / (sqrt(s) + eps)
// State: s (sum).
#pragma once

#include "steepest/optim/tensor.h"

namespace steepest {

struct AdagradHyper {
  double lr, lr_decay, weight_decay, initial_accumulator_value, eps;
  bool maximize;
};

template <class T>
struct AdagradScalars {
  T sign, weight_decay, initial, eps, neg_clr;
  bool has_weight_decay;
};

template <class T>
AdagradScalars<T> adagrad_scalars(const AdagradHyper& h, int64_t step) {
  const double clr = h.lr / (1.0 + double(step - 1) * h.lr_decay);
  return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(h.initial_accumulator_value), T(h.eps),
          T(-clr), h.weight_decay != 0.0};
}

template <class T>
using AdagradKernel = RuleKernel<T, AdagradScalars<T>>;

}  // namespace steepest
