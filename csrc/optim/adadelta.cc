// Adadelta (L2 weight decay, maximize): one pass over p, g, v, u.
// Compiled once per SIMD target; the equations are in steepest/optim/adadelta.h.
#include "steepest/optim/adadelta.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T, bool WeightDecay>
void adadelta_loop(T* __restrict p, const T* __restrict g, T* __restrict v, T* __restrict u,
                   int64_t n, const AdadeltaScalars<T>& s) {
  const T sign = s.sign, wd = s.weight_decay, rho = s.rho, one_minus_rho = s.one_minus_rho,
          eps = s.eps, neg_lr = s.neg_lr;
  for (int64_t i = 0; i < n; ++i) {
    const T pi = p[i];
    T gi = sign * g[i];
    if (WeightDecay) gi = fmadd(wd, pi, gi);
    const T vi = fmadd(one_minus_rho * gi, gi, rho * v[i]);  // ((1 - rho) g) g: adam.cc
    v[i] = vi;
    const T ui = u[i];
    const T d = root(ui + eps) / root(vi + eps) * gi;
    u[i] = fmadd(one_minus_rho * d, d, rho * ui);
    p[i] = fmadd(neg_lr, d, pi);
  }
}

}  // namespace

template <class T>
void adadelta(const StepTensor<T>& t, const AdadeltaScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* v = t.state[0] + begin;
  T* u = t.state[1] + begin;
  if (s.has_weight_decay) adadelta_loop<T, true>(p, g, v, u, end - begin, s);
  else adadelta_loop<T, false>(p, g, v, u, end - begin, s);
}

STEEPEST_KERNEL_ENTRY(adadelta)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
