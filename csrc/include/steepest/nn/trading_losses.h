// Trading losses over one batch whose rows are in time order (Lim, Zohren & Roberts 2019 train
// on the Sharpe ratio; Williams 1992 for REINFORCE). Positions p (n), next returns r (n), a cost c
// per unit of position change between consecutive rows:
//   R_i = p_i r_i - c |p_i - p_{i-1}|        (no cost for the batch's first row)
//   sharpe   L = -k m / s,  m = mean R,  s = sqrt(mean (R - m)² + eps),       k = sqrt(periods/year)
//            dL/dR_i = -k / (n s) (1 - m (R_i - m) / s²)
//   sortino  L = -k m / d,  d = sqrt(mean min(R, 0)² + eps)
//            dL/dR_i = -k / (n d) (1 - m min(R_i, 0) / d²)
//   dL/dp_i = dL/dR_i r_i - c sgn(p_i - p_{i-1}) dL/dR_i + c sgn(p_{i+1} - p_i) dL/dR_{i+1}
// REINFORCE with a softmax policy: logits z (n, A), actions a (n), advantages A (n):
//   L = -mean_i A_i log softmax(z_i)[a_i],   dL/dz_ij = A_i (softmax(z_i)_j - [j = a_i]) / n
// A batch is a few hundred rows: the kernels are serial, summing in double in row order, so the
// result does not depend on the thread count. The NumPy oracles: steepest/reference/trading.py.
#pragma once

#include <cstdint>

namespace steepest {

enum class RatioKind : int { sharpe, sortino };

template <class T>
struct RatioLoss {
  T* grad;              // (n) dL/dp, or null (value only)
  const T* position;    // (n)
  const T* ret;         // (n) the next return of each row
  int64_t n;
  double cost;          // c >= 0
  double annualization; // k = sqrt(periods per year)
  double eps;           // > 0: keeps s and d away from 0 on a constant R
  RatioKind kind;
};

template <class T>
struct Reinforce {
  T* grad;                 // (n, A) dL/dz, or null (value only)
  const T* logits;         // (n, A)
  const T* taken;          // (n, 2): the action's index (a whole number in [0, A)), its advantage
  int64_t n, actions;
};

template <class T>
double ratio_loss(const RatioLoss<T>& l);
template <class T>
double reinforce_loss(const Reinforce<T>& l);

}  // namespace steepest
