// NAdam (L2 or decoupled weight decay, maximize): one pass over p, g, m, v.
// Compiled once per SIMD target; the equations are in steepest/optim/nadam.h.
#include "steepest/optim/nadam.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T, bool L2, bool Decay>
void nadam_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                int64_t n, const NadamScalars<T>& s) {
  const T sign = s.sign, l2 = s.l2, decay = s.decay, lerp_weight = s.lerp_weight, beta2 = s.beta2,
          one_minus_beta2 = s.one_minus_beta2, inv_bc2 = s.inv_bias_correction2, eps = s.eps,
          neg_grad_step = s.neg_grad_step, neg_avg_step = s.neg_avg_step;
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
    const T denom = root(vi * inv_bc2) + eps;
    pi = fmadd(neg_grad_step, gi / denom, pi);
    p[i] = fmadd(neg_avg_step, mi / denom, pi);
  }
}

}  // namespace

template <class T>
void nadam(const StepTensor<T>& t, const NadamScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* m = t.state[0] + begin;
  T* v = t.state[1] + begin;
  const int64_t n = end - begin;
  if (s.has_l2) nadam_loop<T, true, false>(p, g, m, v, n, s);
  else if (s.has_decay) nadam_loop<T, false, true>(p, g, m, v, n, s);
  else nadam_loop<T, false, false>(p, g, m, v, n, s);
}

STEEPEST_KERNEL_ENTRY(nadam)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
