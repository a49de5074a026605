// Adan (proximal or decoupled weight decay, maximize): one pass over p, g, m, n, v and the
// negated previous gradient q. Compiled once per SIMD target; the equations are in
// steepest/optim/adan.h.
#include "steepest/optim/adan.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T, bool First>
void adan_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict n,
               T* __restrict v, T* __restrict q, int64_t count, const AdanScalars<T>& c) {
  const T sign = c.sign, beta1 = c.beta1, one_minus_beta1 = c.one_minus_beta1, beta2 = c.beta2,
          one_minus_beta2 = c.one_minus_beta2, beta3 = c.beta3,
          one_minus_beta3 = c.one_minus_beta3, inv_bc3_sqrt = c.inv_bias_correction3_sqrt,
          eps = c.eps, neg_step_m = c.neg_step_m, neg_step_v = c.neg_step_v,
          before = c.scale_before, after = c.scale_after;
  for (int64_t i = 0; i < count; ++i) {
    const T gi = sign * g[i];
    const T d = First ? T(0) : gi + q[i];  // g - g_prev
    const T mi = fmadd(one_minus_beta1, gi, beta1 * m[i]);
    const T vi = fmadd(one_minus_beta2, d, beta2 * v[i]);
    const T u = fmadd(beta2, d, gi);
    // ((1 - beta3) u) u, as torch's addcmul orders it: u * u first would overflow sooner.
    const T ni = fmadd(one_minus_beta3 * u, u, beta3 * n[i]);
    m[i] = mi;
    v[i] = vi;
    n[i] = ni;
    q[i] = -gi;
    const T denom = fmadd(root(ni), inv_bc3_sqrt, eps);
    const T w = fmadd(neg_step_m, mi, neg_step_v * vi) / denom;  // -w of adan.h
    p[i] = fmadd(p[i], before, w) * after;
  }
}

}  // namespace

template <class T>
void adan(const StepTensor<T>& t, const AdanScalars<T>& c, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* m = t.state[0] + begin;
  T* n = t.state[1] + begin;
  T* v = t.state[2] + begin;
  T* q = t.state[3] + begin;
  if (c.first) adan_loop<T, true>(p, g, m, n, v, q, end - begin, c);
  else adan_loop<T, false>(p, g, m, n, v, q, end - begin, c);
}

STEEPEST_KERNEL_ENTRY(adan)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
