// Element-wise activations, forward and backward: equations in steepest/nn/activations.h.
// One loop per function, the switch outside it, so that each loop vectorizes.
#include "steepest/nn/activations.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {

#include "steepest/kernel_math.h"
#include "steepest/nn/approx.h"

namespace {

template <class T>
constexpr T kSqrtHalf = T(0.70710678118654752440);  // 1/√2
template <class T>
constexpr T kInvSqrt2Pi = T(0.39894228040143267794);  // 1/√(2π)
template <class T>
constexpr T kSqrt2OverPi = T(0.79788456080286535588);  // √(2/π)
template <class T>
constexpr T kGeluCubic = T(0.044715);

// Φ(x) = (1 + erf(x/√2)) / 2
template <class T>
inline T normal_cdf(T x) { return T(0.5) * (T(1) + erf_approx(x * kSqrtHalf<T>)); }

// u = √(2/π) (x + 0.044715 x³); gelu_tanh is computed as x σ(2u) (= x (1 + tanh u) / 2), whose
// left tail does not cancel as 1 + tanh u does.
template <class T>
inline T gelu_tanh_arg(T x) { return kSqrt2OverPi<T> * fmadd(kGeluCubic<T> * x, x * x, x); }

}  // namespace

template <class T>
void activation_forward(const ActivationForward<T>& a, int64_t begin, int64_t end) {
  if (a.addend) {  // f(x + addend) a block at a time, the sum in L1
    constexpr int64_t kBlock = 512;
    alignas(64) T sum[kBlock];
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t n = end - b < kBlock ? end - b : kBlock;
      for (int64_t i = 0; i < n; ++i) sum[i] = a.x[b + i] + a.addend[b + i];
      activation_forward(ActivationForward<T>{a.y + b, sum, a.function, a.negative_slope,
                                              nullptr}, 0, n);
    }
    return;
  }
  T* __restrict y = a.y;
  const T* __restrict x = a.x;
  const T s = a.negative_slope;
  switch (a.function) {
    case ActivationFunction::relu:  // NaN < 0 is false: a NaN stays NaN (and -0 stays -0)
      for (int64_t i = begin; i < end; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
      break;
    case ActivationFunction::leaky_relu:
      for (int64_t i = begin; i < end; ++i) y[i] = x[i] > T(0) ? x[i] : s * x[i];
      break;
    case ActivationFunction::tanh:
      for (int64_t i = begin; i < end; ++i) y[i] = tanh_approx(x[i]);
      break;
    case ActivationFunction::sigmoid:
      for (int64_t i = begin; i < end; ++i) y[i] = sigmoid_approx(x[i]);
      break;
    case ActivationFunction::gelu:
      for (int64_t i = begin; i < end; ++i) y[i] = x[i] * normal_cdf(x[i]);
      break;
    case ActivationFunction::gelu_tanh:
      for (int64_t i = begin; i < end; ++i) y[i] = x[i] * sigmoid_approx(T(2) * gelu_tanh_arg(x[i]));
      break;
  }
}

template <class T>
void activation_backward(const ActivationBackward<T>& a, int64_t begin, int64_t end) {
  T* __restrict dx = a.dx;
  const T* __restrict dy = a.dy;
  const T* __restrict v = a.saved;  // x, or y for tanh and sigmoid
  const T s = a.negative_slope;
  switch (a.function) {
    case ActivationFunction::relu:  // NaN <= 0 is false: dy passes at a NaN, as in torch
      for (int64_t i = begin; i < end; ++i) {
        const T d = dy[i];  // read unconditionally: a plain load, not a masked one
        dx[i] = v[i] <= T(0) ? T(0) : d;
      }
      break;
    case ActivationFunction::leaky_relu:
      for (int64_t i = begin; i < end; ++i) dx[i] = v[i] > T(0) ? dy[i] : s * dy[i];
      break;
    case ActivationFunction::tanh:
      for (int64_t i = begin; i < end; ++i) dx[i] = dy[i] * (T(1) - v[i] * v[i]);
      break;
    case ActivationFunction::sigmoid:
      for (int64_t i = begin; i < end; ++i) dx[i] = dy[i] * (v[i] * (T(1) - v[i]));
      break;
    case ActivationFunction::gelu:
      for (int64_t i = begin; i < end; ++i) {
        const T x = v[i];
        const T pdf = kInvSqrt2Pi<T> * exp_approx(T(-0.5) * x * x);
        dx[i] = dy[i] * fmadd(x, pdf, normal_cdf(x));
      }
      break;
    case ActivationFunction::gelu_tanh:
      for (int64_t i = begin; i < end; ++i) {
        const T x = v[i];
        const T e = exp_approx(T(-2) * absolute(gelu_tanh_arg(x)));
        const T lo = e / (T(1) + e), hi = T(1) / (T(1) + e);  // σ(-2|u|), σ(2|u|)
        const T sp = x >= T(0) ? hi : lo, sm = x >= T(0) ? lo : hi;  // σ(2u), σ(-2u)
        const T du = kSqrt2OverPi<T> * fmadd(T(3) * kGeluCubic<T> * x, x, T(1));
        const T d = fmadd(T(2) * x * sm, sp * du, sp);  // (1+t)/2 = σ(2u), 1-t² = 4σ(2u)σ(-2u)
        dx[i] = dy[i] * d;
      }
      break;
  }
}

template <class T>
void approx(ApproxFunction f, T* __restrict y, const T* __restrict x, int64_t begin,
            int64_t end) {
  switch (f) {
    case ApproxFunction::exp:
      for (int64_t i = begin; i < end; ++i) y[i] = exp_approx(x[i]);
      break;
    case ApproxFunction::tanh:
      for (int64_t i = begin; i < end; ++i) y[i] = tanh_approx(x[i]);
      break;
    case ApproxFunction::erf:
      for (int64_t i = begin; i < end; ++i) y[i] = erf_approx(x[i]);
      break;
  }
}

STEEPEST_KERNEL_ENTRY(activation_forward)
STEEPEST_KERNEL_ENTRY(activation_backward)
STEEPEST_KERNEL_ENTRY(approx)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
