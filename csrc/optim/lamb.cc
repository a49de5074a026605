// LAMB's two passes (equations in steepest/optim/lamb.h). Compiled once per SIMD target.
// Both passes compute u with the same inline function, so pass 2 applies bitwise the u whose
// norm pass 1 measured.
#include <algorithm>

#include "steepest/optim/lamb.h"
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

// u = m^ / (sqrt(v^) + eps) + weight_decay * p, from the updated m and v.
template <class T, bool WeightDecay>
inline T lamb_u(T p, T m, T v, const LambScalars<T>& s) {
  const T u = (m * s.inv_bias_correction1) / fmadd(root(v), s.inv_bias_correction2_sqrt, s.eps);
  return WeightDecay ? fmadd(s.weight_decay, p, u) : u;
}

// m, v at element i; with Sums, adds p^2 and u^2 to the lanes' sums.
template <class T, bool WeightDecay, bool Sums>
inline void lamb_element(const T* __restrict p, const T* __restrict g, T* __restrict m,
                         T* __restrict v, int64_t i, const LambScalars<T>& s, double& sp,
                         double& su) {
  const T gi = s.sign * g[i];
  const T mi = fmadd(s.one_minus_beta1, gi, s.beta1 * m[i]);
  const T vi = fmadd(s.one_minus_beta2 * gi, gi, s.beta2 * v[i]);  // ((1 - beta2) g) g: adam.cc
  m[i] = mi;
  v[i] = vi;
  if (!Sums) return;
  const double pi = double(p[i]), ui = double(lamb_u<T, WeightDecay>(p[i], mi, vi, s));
  sp = fmadd(pi, pi, sp);
  su = fmadd(ui, ui, su);
}

template <class T, bool WeightDecay, bool Sums>
void moments_loop(const T* __restrict p, const T* __restrict g, T* __restrict m,
                  T* __restrict v, int64_t n, const LambScalars<T>& scalars, RangeSums* sums) {
  const LambScalars<T> s = scalars;  // a local copy: no store can alias it
  double sp[kLanes] = {}, su[kLanes] = {};  // local copies of the lanes: kept in registers
  if (Sums) {
    std::copy(sums->lane[0], sums->lane[0] + kLanes, sp);
    std::copy(sums->lane[1], sums->lane[1] + kLanes, su);
  }
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j)
      lamb_element<T, WeightDecay, Sums>(p, g, m, v, i + j, s, sp[j], su[j]);
  for (int j = 0; i + j < n; ++j)
    lamb_element<T, WeightDecay, Sums>(p, g, m, v, i + j, s, sp[j], su[j]);
  if (!Sums) return;
  std::copy(sp, sp + kLanes, sums->lane[0]);
  std::copy(su, su + kLanes, sums->lane[1]);
  sums->total[0] = lanes_total(sp);
  sums->total[1] = lanes_total(su);
}

template <class T, bool WeightDecay>
void apply_loop(T* __restrict p, const T* __restrict m, const T* __restrict v, int64_t n,
                const LambScalars<T>& scalars) {
  const LambScalars<T> s = scalars;
  const T neg_lr_trust = s.neg_lr_trust;
  for (int64_t i = 0; i < n; ++i) {
    const T pi = p[i];
    p[i] = fmadd(neg_lr_trust, lamb_u<T, WeightDecay>(pi, m[i], v[i], s), pi);
  }
}

}  // namespace

template <class T>
void lamb_moments(const StepTensor<T>& t, const LambScalars<T>& s, int64_t begin, int64_t end,
                  RangeSums* sums) {
  const T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* m = t.state[0] + begin;
  T* v = t.state[1] + begin;
  const int64_t n = end - begin;
  if (!sums) moments_loop<T, false, false>(p, g, m, v, n, s, sums);
  else if (s.has_weight_decay) moments_loop<T, true, true>(p, g, m, v, n, s, sums);
  else moments_loop<T, false, true>(p, g, m, v, n, s, sums);
}

template <class T>
void lamb_apply(const StepTensor<T>& t, const LambScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* m = t.state[0] + begin;
  const T* v = t.state[1] + begin;
  if (s.has_weight_decay) apply_loop<T, true>(p, m, v, end - begin, s);
  else apply_loop<T, false>(p, m, v, end - begin, s);
}

STEEPEST_KERNEL_ENTRY(lamb_moments)
STEEPEST_KERNEL_ENTRY(lamb_apply)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
