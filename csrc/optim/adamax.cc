// Adamax (L2 weight decay, maximize): one pass over p, g, m, u.
// Compiled once per SIMD target; the equations are in steepest/optim/adamax.h.
#include "steepest/optim/adamax.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T, bool WeightDecay>
void adamax_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict u,
                 int64_t n, const AdamaxScalars<T>& s) {
  const T sign = s.sign, wd = s.weight_decay, lerp_weight = s.lerp_weight, beta2 = s.beta2,
          eps = s.eps, neg_clr = s.neg_clr;
  // The lerp's base, g or m, chosen per element by comparing with a loop-invariant number: a
  // select on the bool itself would block vectorization (GCC cannot vectorize a scalar select).
  const T from_g = s.lerp_from_g ? T(1) : T(0);
  for (int64_t i = 0; i < n; ++i) {
    const T pi = p[i];
    T gi = sign * g[i];
    if (WeightDecay) gi = fmadd(wd, pi, gi);
    const T m0 = m[i];
    const T mi = fmadd(lerp_weight, gi - m0, from_g > T(0) ? gi : m0);
    m[i] = mi;
    const T ui = larger(beta2 * u[i], absolute(gi) + eps);
    u[i] = ui;
    p[i] = fmadd(neg_clr, mi / ui, pi);
  }
}

}  // namespace

template <class T>
void adamax(const StepTensor<T>& t, const AdamaxScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* m = t.state[0] + begin;
  T* u = t.state[1] + begin;
  if (s.has_weight_decay) adamax_loop<T, true>(p, g, m, u, end - begin, s);
  else adamax_loop<T, false>(p, g, m, u, end - begin, s);
}

STEEPEST_KERNEL_ENTRY(adamax)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
