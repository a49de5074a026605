// Lion (decoupled weight decay, maximize): one pass over p, g, m.
// Compiled once per SIMD target; the equations are in steepest/optim/lion.h.
#include "steepest/optim/lion.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T, bool Decay>
void lion_loop(T* __restrict p, const T* __restrict g, T* __restrict m, int64_t n,
               const LionScalars<T>& s) {
  const T sign = s.sign, decay = s.decay, beta1 = s.beta1, one_minus_beta1 = s.one_minus_beta1,
          beta2 = s.beta2, one_minus_beta2 = s.one_minus_beta2, neg_lr = s.neg_lr;
  for (int64_t i = 0; i < n; ++i) {
    T pi = p[i];
    const T gi = sign * g[i];
    if (Decay) pi = pi * decay;
    const T mi = m[i];
    const T c = beta1 * mi + one_minus_beta1 * gi;  // not fused: see lion.h
    p[i] = pi + neg_lr * signum(c);                 // exact: signum(c) is -1, 0 or 1
    m[i] = beta2 * mi + one_minus_beta2 * gi;
  }
}

}  // namespace

template <class T>
void lion(const StepTensor<T>& t, const LionScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* m = t.state[0] + begin;
  if (s.has_decay) lion_loop<T, true>(p, g, m, end - begin, s);
  else lion_loop<T, false>(p, g, m, end - begin, s);
}

STEEPEST_KERNEL_ENTRY(lion)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
