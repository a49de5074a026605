// SGD with momentum, dampening, Nesterov and L2 weight decay: one pass over p, g and b.
// Compiled once per SIMD target; the equations are in steepest/optim/sgd.h.
#include "steepest/optim/sgd.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

// Momentum: 0 none, 1 first step (b <- g), 2 later steps (b <- momentum * b + (1 - dampening) g).
template <class T, bool WeightDecay, int Momentum, bool Nesterov>
void sgd_loop(T* __restrict p, const T* __restrict g, T* __restrict b, int64_t n,
              const SgdScalars<T>& s) {
  const T sign = s.sign, wd = s.weight_decay, neg_lr = s.neg_lr, mu = s.momentum,
          one_minus_dampening = s.one_minus_dampening;
  for (int64_t i = 0; i < n; ++i) {
    const T pi = p[i];
    T gi = sign * g[i];
    if (WeightDecay) gi = fmadd(wd, pi, gi);
    if (Momentum != 0) {
      const T bi = Momentum == 1 ? gi : fmadd(mu, b[i], one_minus_dampening * gi);
      b[i] = bi;
      gi = Nesterov ? fmadd(mu, bi, gi) : bi;
    }
    p[i] = fmadd(neg_lr, gi, pi);
  }
}

template <class T, bool WeightDecay, int Momentum>
void sgd_nesterov(T* p, const T* g, T* b, int64_t n, const SgdScalars<T>& s) {
  if (s.nesterov) sgd_loop<T, WeightDecay, Momentum, true>(p, g, b, n, s);
  else sgd_loop<T, WeightDecay, Momentum, false>(p, g, b, n, s);
}

template <class T, bool WeightDecay>
void sgd_momentum(T* p, const T* g, T* b, int64_t n, const SgdScalars<T>& s, bool first) {
  if (!s.has_momentum) sgd_loop<T, WeightDecay, 0, false>(p, g, b, n, s);
  else if (first) sgd_nesterov<T, WeightDecay, 1>(p, g, b, n, s);
  else sgd_nesterov<T, WeightDecay, 2>(p, g, b, n, s);
}

}  // namespace

template <class T>
void sgd(const StepTensor<T>& t, const SgdScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* b = t.state[0] ? t.state[0] + begin : nullptr;
  if (s.has_weight_decay) sgd_momentum<T, true>(p, g, b, end - begin, s, t.fresh);
  else sgd_momentum<T, false>(p, g, b, end - begin, s, t.fresh);
}

STEEPEST_KERNEL_ENTRY(sgd)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
