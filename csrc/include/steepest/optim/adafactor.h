// Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
// Cost") with torch.optim.Adafactor's semantics (its _single_tensor_adafactor). At step t (from 1),
// per tensor of n elements:
//   g     <- sign * g                                      sign = -1 if maximize else +1
//   b     = t^beta2_decay,  rho = min(lr, 1 / sqrt(t))
//   alpha = max(eps2, ||p|| / sqrt(n)) * rho                ||p|| before the decay
//   p     <- p * (1 - lr * weight_decay)
//   2+ dims, as (B, R, C) over the last two:               (factored second moment)
//     row[b, r] <- lerp(row[b, r], mean_c g[b, r, c]^2, b)  row_var, shape (..., R, 1)
//     col[b, c] <- lerp(col[b, c], mean_r g[b, r, c]^2, b)  col_var, shape (..., 1, C)
//     V[b, r, c] = row[b, r] * col[b, c] / max(mean_r row[b, r], eps1)
//   otherwise: V = variance <- lerp(variance, g^2, b)
//   u     = g / sqrt(max(V, eps1^2))
//   p     <- p - alpha / max(1, ||u|| / (sqrt(n) * d)) * u
// eps1 = None means the machine epsilon of the dtype.
//
// A tensor is one unit of work (its norms, row and column sums are reductions over the whole of
// it): the kernel makes all its passes over one tensor on one thread, and a step runs its tensors
// on the pool. The sums are in double lanes (kernel_math.h) in a fixed order, so the result is
// bitwise the same for any thread count. Threads help only a step of several tensors.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace steepest {

struct AdafactorHyper {
  double lr, beta2_decay, eps1, eps2, d, weight_decay;  // eps1: NaN for None
  bool maximize;
};

template <class T>
struct AdafactorScalars {
  T sign, lerp_weight, decay, eps1_squared, eps1;
  bool lerp_from_end, has_decay;
  double rho, eps2, d;
};

template <class T>
AdafactorScalars<T> adafactor_scalars(const AdafactorHyper& h, int64_t step) {
  const double t = double(step);
  const double b = std::pow(t, h.beta2_decay);
  const double eps1 = std::isnan(h.eps1) ? double(std::numeric_limits<T>::epsilon()) : h.eps1;
  // torch's lerp(self, end, w): self + w (end - self) if w < 0.5, else end - (1 - w)(end - self)
  return {T(h.maximize ? -1.0 : 1.0), T(b < 0.5 ? b : -(1.0 - b)), T(1.0 - h.lr * h.weight_decay),
          T(eps1 * eps1), T(eps1), b >= 0.5, h.weight_decay != 0.0,
          std::min(h.lr, 1.0 / std::sqrt(t)), h.eps2, h.d};
}

// One tensor: p, g of n = batches * rows * cols elements. Factored: row (batches * rows), col
// (batches * cols) and scratch (cols + batches doubles, allocated by the caller: a kernel runs
// on the pool and must not throw); otherwise variance (n).
template <class T>
struct AdafactorTensor {
  T* param;
  const T* grad;
  T* row;
  T* col;
  T* variance;
  double* scratch;
  int64_t batches, rows, cols;
  bool factored;
};

template <class T>
using AdafactorKernel = void (*)(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s);

}  // namespace steepest
