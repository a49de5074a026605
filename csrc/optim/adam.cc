// Adam and AdamW (L2 or decoupled weight decay, AMSGrad, maximize): one pass over p, g, m, v
// (and vmax). Compiled once per SIMD target; the equations are in steepest/optim/adam.h.
#include "steepest/optim/adam.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T, bool L2, bool Decay, bool Amsgrad>
void adam_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
               T* __restrict vmax, int64_t n, const AdamScalars<T>& s) {
  const T sign = s.sign, l2 = s.l2, decay = s.decay, lerp_weight = s.lerp_weight,
          beta2 = s.beta2, one_minus_beta2 = s.one_minus_beta2,
          inv_bc2_sqrt = s.inv_bias_correction2_sqrt, eps = s.eps, neg_step = s.neg_step_size;
  const bool lerp_from_g = s.lerp_from_g;
  for (int64_t i = 0; i < n; ++i) {
    T pi = p[i];
    T gi = sign * g[i];
    if (L2) gi = fmadd(l2, pi, gi);
    if (Decay) pi = pi * decay;
    // m + (1 - beta1) (g - m), computed from the nearer end as torch's lerp does (beta1 = 0
    // gives m = g exactly): base + w (g - m) with (base, w) = (m, 1 - beta1) or (g, -beta1).
    const T m0 = m[i];
    const T mi = fmadd(lerp_weight, gi - m0, lerp_from_g ? gi : m0);
    // ((1 - beta2) g) g, in torch's addcmul order: g * g first would overflow for |g| > sqrt(max)
    // (1.8e19 in float32), where ((1 - beta2) g) g is still finite.
    const T vi = fmadd(one_minus_beta2 * gi, gi, beta2 * v[i]);
    m[i] = mi;
    v[i] = vi;
    T vhat = vi;
    if (Amsgrad) {
      vhat = larger(vmax[i], vi);
      vmax[i] = vhat;
    }
    const T denom = fmadd(root(vhat), inv_bc2_sqrt, eps);
    p[i] = fmadd(neg_step, mi / denom, pi);
  }
}

template <class T, bool L2, bool Decay>
void adam_amsgrad(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamScalars<T>& s) {
  if (s.amsgrad) adam_loop<T, L2, Decay, true>(p, g, m, v, vmax, n, s);
  else adam_loop<T, L2, Decay, false>(p, g, m, v, vmax, n, s);
}

}  // namespace

template <class T>
void adam(const StepTensor<T>& t, const AdamScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* m = t.state[0] + begin;
  T* v = t.state[1] + begin;
  T* vmax = t.state[2] ? t.state[2] + begin : nullptr;
  const int64_t n = end - begin;
  if (s.has_l2) adam_amsgrad<T, true, false>(p, g, m, v, vmax, n, s);
  else if (s.has_decay) adam_amsgrad<T, false, true>(p, g, m, v, vmax, n, s);
  else adam_amsgrad<T, false, false>(p, g, m, v, vmax, n, s);
}

STEEPEST_KERNEL_ENTRY(adam)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
