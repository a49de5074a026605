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
//     V[b, r, c] = (row[b, r] / max(mean_r row[b, r], eps1)) * col[b, c]
//                  (torch: (row * col) / ..., whose g^4-sized product overflows first)
//   otherwise: V = variance <- lerp(variance, g^2, b)
//   u     = g / sqrt(max(V, eps1^2))
//   p     <- p - alpha / max(1, ||u|| / (sqrt(n) * d)) * u
// eps1 = None means the machine epsilon of the dtype.
//
// Threads: a tensor's units (factored: its B * R rows of C elements, end to end; otherwise its
// elements) are cut into chunks of `units_per_chunk` units, a cut that depends on the shape
// only. A step makes three passes over each chunk of a tensor, which may run on any thread:
//   sums:  the chunk's partial ||p||^2; v (unfactored) or the row variances and partial
//          column sums of g^2 (factored)
//   norm:  the chunk's partial ||u||^2
//   apply: p <- p * (1 - lr * weight_decay) + k * u,  k = -alpha / max(1, ||u|| / (sqrt(n) d))
// Between them the calling thread adds the chunks' partials in chunk order (the driver:
// csrc/optim/driver_adafactor.cc), so the result is bitwise the same for any thread count. Partial sums are in
// double lanes (kernel_math.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "steepest/optim/hyper.h"

namespace steepest {

// The hyperparameters: X(type, field, name), by the name Python passes (hyper.h);
// eps1 is NaN for None.
#define STEEPEST_ADAFACTOR_HYPER(X)      \
  X(double, lr, "lr")                    \
  X(double, beta2_decay, "beta2_decay")  \
  X(double, eps1, "eps[0]")              \
  X(double, eps2, "eps[1]")              \
  X(double, d, "d")                      \
  X(double, weight_decay, "weight_decay")\
  X(bool, maximize, "maximize")
STEEPEST_HYPER_STRUCT(AdafactorHyper, STEEPEST_ADAFACTOR_HYPER)

template <class T>
struct AdafactorScalars {
  T sign, lerp_weight, decay, eps1_squared, eps1;
  bool lerp_from_end;
  double rho, eps2, d;
};

template <class T>
AdafactorScalars<T> adafactor_scalars(const AdafactorHyper& h, int64_t step) {
  const double t = double(step);
  const double b = std::pow(t, h.beta2_decay);
  const double eps1 = std::isnan(h.eps1) ? double(std::numeric_limits<T>::epsilon()) : h.eps1;
  // torch's lerp(self, end, w): self + w (end - self) if w < 0.5, else end - (1 - w)(end - self)
  return {T(h.maximize ? -1.0 : 1.0), T(b < 0.5 ? b : -(1.0 - b)), T(1.0 - h.lr * h.weight_decay),
          T(eps1 * eps1), T(eps1), b >= 0.5,
          std::min(h.lr, 1.0 / std::sqrt(t)), h.eps2, h.d};
}

// One tensor: p, g of n = batches * rows * cols elements; factored: row (batches * rows), col
// (batches * cols); otherwise variance (n). The driver gives it `chunks` chunks of
// `units_per_chunk` units, and scratch (scratch_size() doubles, allocated by the caller: a
// kernel runs on the pool and must not throw):
//   factored: per chunk, two column-sum slots of C doubles, slot 0 for the chunk's first batch,
//   slot 1 for the others: a batch the chunk holds whole is finished inside it, so only its
//   first and last batch can leave a part there for the driver; then mean (batches): the
//   clamped mean row variance of each batch, max(mean_r row, eps1);
//   then, for any tensor, a partial sum per chunk (||p||^2, later ||u||^2).
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
  int64_t units_per_chunk, chunks;

  int64_t size() const { return batches * rows * cols; }
  int64_t unit() const { return factored ? cols : 1; }  // elements per unit
  int64_t units() const { return factored ? batches * rows : size(); }
  // The column-sum slot of batch b in chunk `chunk`: slot 0 for the chunk's first batch.
  double* slot(int64_t chunk, int64_t b) const {
    return scratch + (chunk * 2 + (b == chunk * units_per_chunk / rows ? 0 : 1)) * cols;
  }
  double* mean() const { return scratch + chunks * 2 * cols; }
  double* partials() const { return scratch + (factored ? chunks * 2 * cols + batches : 0); }
  int64_t scratch_size() const { return (factored ? chunks * 2 * cols + batches : 0) + chunks; }
};

// sums: returns the chunk's partial ||p||^2 (see above).
template <class T>
using AdafactorSumsKernel = double (*)(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s,
                                       int64_t chunk);
// Finishes batch b of a factored tensor from its column sums of g^2 (C doubles): col[b] and
// mean[b] (its rows must be final).
template <class T>
using AdafactorBatchKernel = void (*)(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s,
                                      int64_t b, const double* col_sums);
// norm: returns the chunk's partial ||u||^2.
template <class T>
using AdafactorNormKernel = double (*)(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s,
                                       int64_t chunk);
// apply, with k = -alpha / denom.
template <class T>
using AdafactorApplyKernel = void (*)(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s,
                                      T k, int64_t chunk);

}  // namespace steepest
