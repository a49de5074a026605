// Rprop (maximize): one pass over p, g, prev, step_size.
// Compiled once per SIMD target; the equations are in steepest/optim/rprop.h.
#include "steepest/optim/rprop.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

// Fresh: prev and step_size were just created (uninitialised): they start at 0 and lr.
template <class T, bool Fresh>
void rprop_loop(T* __restrict p, const T* __restrict g, T* __restrict prev,
                T* __restrict step_size, int64_t n, const RpropScalars<T>& s) {
  const T sign = s.sign, lr = s.lr, etaminus = s.etaminus, etaplus = s.etaplus,
          lo = s.step_size_min, hi = s.step_size_max;
  for (int64_t i = 0; i < n; ++i) {
    const T gi = sign * g[i];
    const T si = gi * (Fresh ? T(0) : prev[i]);
    const bool up = si > T(0), down = si < T(0);
    T factor = up ? etaplus : T(1);
    factor = down ? etaminus : factor;
    const T ss = clamp((Fresh ? lr : step_size[i]) * factor, lo, hi);
    step_size[i] = ss;
    const T gn = down ? T(0) : gi;
    prev[i] = gn;
    p[i] = p[i] - signum(gn) * ss;
  }
}

}  // namespace

template <class T>
void rprop(const StepTensor<T>& t, const RpropScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* prev = t.state[0] + begin;
  T* step_size = t.state[1] + begin;
  if (t.fresh) rprop_loop<T, true>(p, g, prev, step_size, end - begin, s);
  else rprop_loop<T, false>(p, g, prev, step_size, end - begin, s);
}

STEEPEST_KERNEL_ENTRY(rprop)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
