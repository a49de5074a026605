// Update rules: hyperparameters, the per-tensor scalars a step needs, and the kernel signatures.
//
// A step of a rule over one parameter group is two layers:
//   1. per tensor, the scalars that do not depend on the element (bias corrections, lr x decay)
//      are computed once, in double, from the hyperparameters and the tensor's step count
//      (`*_scalars` below);
//   2. a kernel compiled once per SIMD target runs one fused pass over [begin, end) of the tensor.
// No pybind11 here: this header is shared by the kernels and the binding.
#pragma once

#include <cmath>
#include <cstdint>

namespace steepest {

// ---- SGD (torch.optim.SGD) ----------------------------------------------------------------
//   g <- sign * g + weight_decay * p                    sign = -1 if maximize else +1
//   b <- g                          on the first step   (momentum != 0)
//   b <- momentum * b + (1 - dampening) * g             afterwards
//   g <- g + momentum * b  if nesterov,  else  g <- b
//   p <- p - lr * g
struct SgdHyper {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};

template <class T>
struct SgdTensor {
  T* param;
  const T* grad;
  T* momentum_buffer;  // null when momentum == 0
  bool first;          // the momentum buffer is set to g instead of decayed
};

template <class T>
struct SgdScalars {
  T sign, weight_decay, neg_lr, momentum, one_minus_dampening;
  bool has_weight_decay, has_momentum, nesterov;
};

template <class T>
SgdScalars<T> sgd_scalars(const SgdHyper& h) {
  return {T(h.maximize ? -1.0 : 1.0), T(h.weight_decay), T(-h.lr), T(h.momentum),
          T(1.0 - h.dampening), h.weight_decay != 0.0, h.momentum != 0.0, h.nesterov};
}

template <class T>
using SgdKernel = void (*)(const SgdTensor<T>& t, const SgdScalars<T>& s, int64_t begin,
                           int64_t end);

// ---- Adam / AdamW (torch.optim.Adam, torch.optim.AdamW) ----------------------------------
//   g <- sign * g  (+ weight_decay * p     for Adam: L2 added to the gradient)
//   p <- p * (1 - lr * weight_decay)       for AdamW: decoupled decay
//   m <- m + (1 - beta1) * (g - m)
//   v <- beta2 * v + (1 - beta2) * g^2
//   vmax <- max(vmax, v), v^ = vmax        if amsgrad, else v^ = v
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v^) / sqrt(1 - beta2^t) + eps)
struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay, amsgrad, maximize;
};

template <class T>
struct AdamTensor {
  T* param;
  const T* grad;
  T* exp_avg;
  T* exp_avg_sq;
  T* max_exp_avg_sq;  // null unless amsgrad
  int64_t step;       // the step being taken: 1 on the first
};

template <class T>
struct AdamScalars {
  T sign, l2, decay, one_minus_beta1, beta2, one_minus_beta2, inv_bias_correction2_sqrt, eps,
      neg_step_size;
  bool has_l2, has_decay, amsgrad;
};

template <class T>
AdamScalars<T> adam_scalars(const AdamHyper& h, int64_t step) {
  const double t = double(step);
  const double bias_correction1 = 1.0 - std::pow(h.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(h.beta2, t);
  const bool wd = h.weight_decay != 0.0;
  return {T(h.maximize ? -1.0 : 1.0),
          T(h.weight_decay),
          T(1.0 - h.lr * h.weight_decay),
          T(1.0 - h.beta1),
          T(h.beta2),
          T(1.0 - h.beta2),
          T(1.0 / std::sqrt(bias_correction2)),
          T(h.eps),
          T(-h.lr / bias_correction1),
          wd && !h.decoupled_weight_decay,
          wd && h.decoupled_weight_decay,
          h.amsgrad};
}

template <class T>
using AdamKernel = void (*)(const AdamTensor<T>& t, const AdamScalars<T>& s, int64_t begin,
                            int64_t end);

}  // namespace steepest
