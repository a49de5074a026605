// ASGD (L2 weight decay, maximize): one pass over p, g, ax.
// Compiled once per SIMD target; the equations are in steepest/optim/asgd.h.
#include "steepest/optim/asgd.h"
#include "steepest/targets.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

// The unsigned integer of T's width, for copy_reading.
template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

// dst <- x, as dst <- (dst & zero) | x on the bits, with zero a 0 the compiler cannot see: the
// same value for every dst (NaN and infinities included), but the store becomes a read-modify-
// write. Beyond the caches a store-only stream runs well below a read-write one, because the
// hardware prefetches loads, not store misses (ASGD's ax at 32M params: 19.3 GB/s as a plain
// copy, 24.2 with this read, counting 20 B per element; software prefetches did not help).
template <class T>
inline void copy_reading(T* dst, T x, Bits<T> zero) {
  Bits<T> d, v;
  std::memcpy(&d, dst, sizeof(T));
  std::memcpy(&v, &x, sizeof(T));
  d = (d & zero) | v;
  std::memcpy(dst, &d, sizeof(T));
}

// MuOne: mu_t = 1, the average is the parameter itself (copied, as torch does).
template <class T, bool WeightDecay, bool MuOne>
void asgd_loop(T* __restrict p, const T* __restrict g, T* __restrict ax, int64_t n,
               const AsgdScalars<T>& s) {
  const T sign = s.sign, wd = s.weight_decay, decay = s.decay, neg_eta = s.neg_eta, mu = s.mu;
  Bits<T> zero = 0;
  asm("" : "+r"(zero));  // opaque: see copy_reading
  for (int64_t i = 0; i < n; ++i) {
    T pi = p[i];
    T gi = sign * g[i];
    if (WeightDecay) gi = fmadd(wd, pi, gi);
    pi = fmadd(neg_eta, gi, pi * decay);
    p[i] = pi;
    if (MuOne) {
      copy_reading(ax + i, pi, zero);
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

STEEPEST_KERNEL_ENTRY(asgd)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
