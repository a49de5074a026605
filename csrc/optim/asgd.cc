// ASGD (L2 weight decay, maximize): one pass over p, g, ax.
// Compiled once per SIMD target; the equations are in steepest/optim/asgd.h.
#include "steepest/optim/asgd.h"

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

// MuOne: mu_t = 1, the average is the parameter itself (copied, as torch does).
template <class T, bool WeightDecay, bool MuOne>
void asgd_loop(T* __restrict p, const T* __restrict g, T* __restrict ax, int64_t n,
               const AsgdScalars<T>& s) {
  const T sign = s.sign, wd = s.weight_decay, decay = s.decay, neg_eta = s.neg_eta, mu = s.mu;
  for (int64_t i = 0; i < n; ++i) {
    T pi = p[i];
    T gi = sign * g[i];
    if (WeightDecay) gi = fmadd(wd, pi, gi);
    pi = fmadd(neg_eta, gi, pi * decay);
    p[i] = pi;
    if (MuOne) {
      ax[i] = pi;
    } else {
      const T ai = ax[i];
      ax[i] = fmadd(mu, pi - ai, ai);
    }
  }
}

template <class T, bool WeightDecay>
void asgd_mu(T* p, const T* g, T* ax, int64_t n, const AsgdScalars<T>& s) {
  if (s.mu_is_one) asgd_loop<T, WeightDecay, true>(p, g, ax, n, s);
  else asgd_loop<T, WeightDecay, false>(p, g, ax, n, s);
}

}  // namespace

template <class T>
void asgd(const StepTensor<T>& t, const AsgdScalars<T>& s, int64_t begin, int64_t end) {
  T* p = t.param + begin;
  const T* g = t.grad + begin;
  T* ax = t.state[0] + begin;
  if (s.has_weight_decay) asgd_mu<T, true>(p, g, ax, end - begin, s);
  else asgd_mu<T, false>(p, g, ax, end - begin, s);
}

template void asgd<float>(const StepTensor<float>&, const AsgdScalars<float>&, int64_t, int64_t);
template void asgd<double>(const StepTensor<double>&, const AsgdScalars<double>&, int64_t,
                           int64_t);

}  // namespace STEEPEST_TARGET
}  // namespace steepest
