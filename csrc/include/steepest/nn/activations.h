// Element-wise activations, torch.nn.functional's definitions:
//   relu        y = x < 0 ? 0 : x                 dx = x <= 0 ? 0 : dy
//               as torch: relu(NaN) = NaN, and its backward (threshold_backward: 0 where y <= 0,
//               else dy) passes dy at a NaN, since NaN < 0 and NaN <= 0 are false
//   leaky_relu  y = x > 0 ? x : s·x                dx = dy · (x > 0 ? 1 : s)
//   tanh        y = tanh(x)                       dx = dy · (1 - y²)           (from y)
//   sigmoid     y = 1 / (1 + e^-x)                dx = dy · y (1 - y)          (from y)
//   gelu        y = x Φ(x), Φ(x) = (1 + erf(x/√2)) / 2
//                                                 dx = dy · (Φ(x) + x e^(-x²/2) / √(2π))
//   gelu_tanh   y = x (1 + tanh(u)) / 2, u = √(2/π) (x + 0.044715 x³)
//               dx = dy · ((1 + t) / 2 + x (1 - t²) √(2/π) (1 + 3·0.044715 x²) / 2), t = tanh(u)
// Backward reads what the forward saved: y for tanh and sigmoid, x for the others (relu: x or y,
// whose signs agree). float32 uses our vectorized exp/tanh/erf (approx.h); float64 uses libm.
#pragma once

#include <cstdint>

namespace steepest {

enum class ActivationFunction : int { relu, leaky_relu, tanh, sigmoid, gelu, gelu_tanh };

// y = f(x), or f(x + addend): the activation of a residual connection's sum, in one pass.
template <class T>
struct ActivationForward {
  T* y;
  const T* x;
  ActivationFunction function;
  T negative_slope;  // leaky_relu's s
  const T* addend;   // x's shape, or null
};

template <class T>
struct ActivationBackward {
  T* dx;
  const T* dy;
  const T* saved;  // x, or y for tanh and sigmoid
  ActivationFunction function;
  T negative_slope;
};

// Over elements [begin, end) of arrays of any shape (the binding cuts the ranges for threads).
template <class T>
using ActivationForwardKernel = void (*)(const ActivationForward<T>&, int64_t, int64_t);
template <class T>
using ActivationBackwardKernel = void (*)(const ActivationBackward<T>&, int64_t, int64_t);

// The approximations themselves, element-wise over [begin, end), for the tests of their error.
enum class ApproxFunction : int { exp, tanh, erf };
template <class T>
using ApproxKernel = void (*)(ApproxFunction, T* y, const T* x, int64_t, int64_t);

}  // namespace steepest
