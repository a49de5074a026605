// Trading losses: equations in steepest/nn/trading_losses.h.
#include "steepest/nn/trading_losses.h"

#include <cmath>

namespace steepest {

namespace {

template <class T>
double portfolio_return(const RatioLoss<T>& l, int64_t i) {
  double R = double(l.position[i]) * double(l.ret[i]);
  if (i > 0) R -= l.cost * std::fabs(double(l.position[i]) - double(l.position[i - 1]));
  return R;
}

double sign(double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0; }

}  // namespace

template <class T>
double ratio_loss(const RatioLoss<T>& l) {
  const int64_t n = l.n;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += portfolio_return(l, i);
  const double m = sum / double(n);
  const bool sharpe = l.kind == RatioKind::sharpe;
  double squares = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double R = portfolio_return(l, i), dev = sharpe ? R - m : std::fmin(R, 0.0);
    squares += dev * dev;
  }
  const double s = std::sqrt(squares / double(n) + l.eps);
  if (l.grad) {
    // dL/dR_i, then dL/dp_i through R_i (its own row) and R_{i+1} (the next row's cost term).
    const double a = -l.annualization / (double(n) * s), b = m / (s * s);
    auto dR = [&](int64_t i) {
      const double R = portfolio_return(l, i), dev = sharpe ? R - m : std::fmin(R, 0.0);
      return a * (1.0 - b * dev);
    };
    double here = dR(0);
    for (int64_t i = 0; i < n; ++i) {
      const double p = double(l.position[i]);
      double g = here * double(l.ret[i]);
      if (i > 0) g -= l.cost * sign(p - double(l.position[i - 1])) * here;
      if (i + 1 < n) {
        const double next = dR(i + 1);
        g += l.cost * sign(double(l.position[i + 1]) - p) * next;
        here = next;
      }
      l.grad[i] = T(g);
    }
  }
  return -l.annualization * m / s;
}

template <class T>
double reinforce_loss(const Reinforce<T>& l) {
  const int64_t A = l.actions;
  const double scale = 1.0 / double(l.n);
  double total = 0.0;
  for (int64_t i = 0; i < l.n; ++i) {
    const T* z = l.logits + i * A;
    const int64_t a = int64_t(l.taken[2 * i]);
    const double advantage = double(l.taken[2 * i + 1]);
    double top = double(z[0]);
    for (int64_t j = 1; j < A; ++j) top = std::fmax(top, double(z[j]));
    double sum = 0.0;
    for (int64_t j = 0; j < A; ++j) sum += std::exp(double(z[j]) - top);
    const double log_sum = std::log(sum);
    total += advantage * (double(z[a]) - top - log_sum);
    if (l.grad) {
      T* g = l.grad + i * A;
      for (int64_t j = 0; j < A; ++j) {
        const double prob = std::exp(double(z[j]) - top - log_sum);
        g[j] = T(advantage * (prob - (j == a ? 1.0 : 0.0)) * scale);
      }
    }
  }
  return -total * scale;
}

template double ratio_loss<float>(const RatioLoss<float>&);
template double ratio_loss<double>(const RatioLoss<double>&);
template double reinforce_loss<float>(const Reinforce<float>&);
template double reinforce_loss<double>(const Reinforce<double>&);

}  // namespace steepest
