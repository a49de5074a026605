// Adagrad (lr decay, L2 weight decay, initial accumulator, maximize): one pass over p, g, s.
// Compiled once per SIMD target; the equations are in steepest/optim/adagrad.h.
#include "steepest/optim/adagrad.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

// Fresh: the sum was just created (uninitialised): it starts at initial_accumulator_value.
template <class T, bool WeightDecay, bool Fresh>
void adagrad_loop(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t n,
                  const AdagradScalars<T>& s) {
  const T sign = s.sign, wd = s.weight_decay, initial = s.initial, eps = s.eps,
          neg_clr = s.neg_clr;
  for (int64_t i = 0; i < n; ++i) {
    const T pi = p[i];
    T gi = sign * g[i];
    if (WeightDecay) gi = fmadd(wd, pi, gi);
    const T si = fmadd(gi, gi, Fresh ? initial : sum[i]);
    sum[i] = si;
    p[i] = fmadd(neg_clr, gi / (root(si) + eps), pi);
  }
}

template <class T, bool WeightDecay>
void adagrad_fresh(T* p, const T* g, T* sum, int64_t n, const AdagradScalars<T>& s, bool fresh) {
  if (fresh) adagrad_loop<T, WeightDecay, true>(p, g, sum, n, s);
  else adagrad_loop<T, WeightDecay, false>(p, g, sum, n, s);
}

}  // namespace

template <class T>
void adagrad(const StepTensor<T>& t, const AdagradScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* sum = t.state[0] + begin;
  if (s.has_weight_decay) adagrad_fresh<T, true>(p, g, sum, end - begin, s, t.fresh);
  else adagrad_fresh<T, false>(p, g, sum, end - begin, s, t.fresh);
}

STEEPEST_KERNEL_ENTRY(adagrad)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
