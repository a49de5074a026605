// RAdam (L2 or decoupled weight decay, maximize): one pass over p, g, m, v.
// Compiled once per SIMD target; the equations are in steepest/optim/radam.h.
#include "steepest/optim/radam.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

// Rectified: rho_t > 5 (the adaptive step); otherwise the step is momentum SGD's.
template <class T, bool L2, bool Decay, bool Rectified>
void radam_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                int64_t n, const RadamScalars<T>& s) {
  const T sign = s.sign, l2 = s.l2, decay = s.decay, lerp_weight = s.lerp_weight, beta2 = s.beta2,
          one_minus_beta2 = s.one_minus_beta2, eps = s.eps, neg_step = s.neg_step;
  // The lerp's base, g or m, chosen per element by comparing with a loop-invariant number: a
  // select on the bool itself would block vectorization (GCC cannot vectorize a scalar select).
  const T from_g = s.lerp_from_g ? T(1) : T(0);
  for (int64_t i = 0; i < n; ++i) {
    T pi = p[i];
    T gi = sign * g[i];
    if (L2) gi = fmadd(l2, pi, gi);
    if (Decay) pi = pi * decay;
    const T m0 = m[i];
    const T mi = fmadd(lerp_weight, gi - m0, from_g > T(0) ? gi : m0);
    const T vi = fmadd(one_minus_beta2 * gi, gi, beta2 * v[i]);  // ((1 - beta2) g) g: adam.cc
    m[i] = mi;
    v[i] = vi;
    p[i] = fmadd(neg_step, Rectified ? mi / (root(vi) + eps) : mi, pi);
  }
}

template <class T, bool L2, bool Decay>
void radam_rectified(T* p, const T* g, T* m, T* v, int64_t n, const RadamScalars<T>& s) {
  if (s.rectified) radam_loop<T, L2, Decay, true>(p, g, m, v, n, s);
  else radam_loop<T, L2, Decay, false>(p, g, m, v, n, s);
}

}  // namespace

template <class T>
void radam(const StepTensor<T>& t, const RadamScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* m = t.state[0] + begin;
  T* v = t.state[1] + begin;
  const int64_t n = end - begin;
  if (s.has_l2) radam_rectified<T, true, false>(p, g, m, v, n, s);
  else if (s.has_decay) radam_rectified<T, false, true>(p, g, m, v, n, s);
  else radam_rectified<T, false, false>(p, g, m, v, n, s);
}

STEEPEST_KERNEL_ENTRY(radam)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
