// AdaBelief (L2 or decoupled weight decay, AMSGrad, maximize): one pass over p, g, m, s (and
// smax). Compiled once per SIMD target; the equations are in steepest/optim/adabelief.h.
#include "steepest/optim/adabelief.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T, bool L2, bool Decay, bool Amsgrad>
void adabelief_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict s,
                    T* __restrict smax, int64_t n, const AdaBeliefScalars<T>& c) {
  const T sign = c.sign, l2 = c.l2, decay = c.decay, beta1 = c.beta1,
          one_minus_beta1 = c.one_minus_beta1, beta2 = c.beta2,
          one_minus_beta2 = c.one_minus_beta2, eps = c.eps,
          inv_bc2_sqrt = c.inv_bias_correction2_sqrt, neg_step = c.neg_step_size;
  for (int64_t i = 0; i < n; ++i) {
    T pi = p[i];
    T gi = sign * g[i];
    if (L2) gi = fmadd(l2, pi, gi);
    if (Decay) pi = pi * decay;
    const T mi = fmadd(one_minus_beta1, gi, beta1 * m[i]);
    // ((1 - beta2) r) r, as torch's addcmul orders it: r * r first would overflow sooner.
    const T r = gi - mi;
    const T si = fmadd(one_minus_beta2 * r, r, beta2 * s[i]) + eps;
    m[i] = mi;
    s[i] = si;
    T shat = si;
    if (Amsgrad) {
      shat = larger(smax[i], si);
      smax[i] = shat;
    }
    const T denom = fmadd(root(shat), inv_bc2_sqrt, eps);
    p[i] = fmadd(neg_step, mi / denom, pi);
  }
}

template <class T, bool L2, bool Decay>
void adabelief_amsgrad(T* p, const T* g, T* m, T* s, T* smax, int64_t n,
                       const AdaBeliefScalars<T>& c) {
  if (c.amsgrad) adabelief_loop<T, L2, Decay, true>(p, g, m, s, smax, n, c);
  else adabelief_loop<T, L2, Decay, false>(p, g, m, s, smax, n, c);
}

}  // namespace

template <class T>
void adabelief(const StepTensor<T>& t, const AdaBeliefScalars<T>& c, int64_t begin,
               int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* m = t.state[0] + begin;
  T* s = t.state[1] + begin;
  T* smax = t.state[2] ? t.state[2] + begin : nullptr;
  const int64_t n = end - begin;
  if (c.has_l2) adabelief_amsgrad<T, true, false>(p, g, m, s, smax, n, c);
  else if (c.has_decay) adabelief_amsgrad<T, false, true>(p, g, m, s, smax, n, c);
  else adabelief_amsgrad<T, false, false>(p, g, m, s, smax, n, c);
}

STEEPEST_KERNEL_ENTRY(adabelief)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
