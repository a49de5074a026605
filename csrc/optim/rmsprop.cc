// RMSprop (centered, momentum, L2 weight decay, maximize): one pass over p, g, v (and b, ga).
// Compiled once per SIMD target; the equations are in steepest/optim/rmsprop.h.
#include "steepest/optim/rmsprop.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T, bool WeightDecay, bool Centered, bool Momentum>
void rmsprop_loop(T* __restrict p, const T* __restrict g, T* __restrict v, T* __restrict b,
                  T* __restrict ga, int64_t n, const RmspropScalars<T>& s) {
  const T sign = s.sign, wd = s.weight_decay, alpha = s.alpha, one_minus_alpha = s.one_minus_alpha,
          lerp_weight = s.lerp_weight, eps = s.eps, neg_lr = s.neg_lr, mu = s.momentum;
  // The lerp's base, g or m, chosen per element by comparing with a loop-invariant number: a
  // select on the bool itself would block vectorization (GCC cannot vectorize a scalar select).
  const T from_g = s.lerp_from_g ? T(1) : T(0);
  for (int64_t i = 0; i < n; ++i) {
    const T pi = p[i];
    T gi = sign * g[i];
    if (WeightDecay) gi = fmadd(wd, pi, gi);
    const T vi = fmadd(one_minus_alpha * gi, gi, alpha * v[i]);  // ((1 - alpha) g) g: adam.cc
    v[i] = vi;
    T avg;
    if (Centered) {
      const T a0 = ga[i];
      const T ai = fmadd(lerp_weight, gi - a0, from_g > T(0) ? gi : a0);
      ga[i] = ai;
      avg = root(fmadd(-ai, ai, vi)) + eps;
    } else {
      avg = root(vi) + eps;
    }
    T d = gi / avg;
    if (Momentum) {
      d = fmadd(mu, b[i], d);
      b[i] = d;
    }
    p[i] = fmadd(neg_lr, d, pi);
  }
}

template <class T, bool WeightDecay, bool Centered>
void rmsprop_momentum(T* p, const T* g, T* v, T* b, T* ga, int64_t n, const RmspropScalars<T>& s) {
  if (s.has_momentum) rmsprop_loop<T, WeightDecay, Centered, true>(p, g, v, b, ga, n, s);
  else rmsprop_loop<T, WeightDecay, Centered, false>(p, g, v, b, ga, n, s);
}

template <class T, bool WeightDecay>
void rmsprop_centered(T* p, const T* g, T* v, T* b, T* ga, int64_t n, const RmspropScalars<T>& s) {
  if (s.centered) rmsprop_momentum<T, WeightDecay, true>(p, g, v, b, ga, n, s);
  else rmsprop_momentum<T, WeightDecay, false>(p, g, v, b, ga, n, s);
}

}  // namespace

template <class T>
void rmsprop(const StepTensor<T>& t, const RmspropScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* v = t.state[0] + begin;
  T* b = t.state[1] ? t.state[1] + begin : nullptr;
  T* ga = t.state[2] ? t.state[2] + begin : nullptr;
  if (s.has_weight_decay) rmsprop_centered<T, true>(p, g, v, b, ga, end - begin, s);
  else rmsprop_centered<T, false>(p, g, v, b, ga, end - begin, s);
}

STEEPEST_KERNEL_ENTRY(rmsprop)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
