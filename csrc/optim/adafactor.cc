// Adafactor, one whole tensor per call (equations in steepest/optim/adafactor.h). Compiled once
// per SIMD target. Sums are in double lanes, in a fixed order.
#include "steepest/optim/adafactor.h"

#include <algorithm>
#include <cmath>

namespace steepest {
namespace STEEPEST_TARGET {
#include "steepest/kernel_math.h"

namespace {

template <class T>
double sum_of_squares(const T* __restrict x, int64_t n) {
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double v = double(x[i + j]);
      lane[j] = fmadd(v, v, lane[j]);
    }
  for (int j = 0; i + j < n; ++j) {
    const double v = double(x[i + j]);
    lane[j] = fmadd(v, v, lane[j]);
  }
  return lanes_total(lane);
}

template <class T>
inline T lerp(T self, T end, const AdafactorScalars<T>& s) {
  return fmadd(s.lerp_weight, end - self, s.lerp_from_end ? end : self);
}

template <class T>
void scale(T* __restrict p, int64_t n, T factor) {
  for (int64_t i = 0; i < n; ++i) p[i] = p[i] * factor;
}

// u = g / sqrt(max(v, eps1^2)) over a row; returns sum u^2 (lanes), or applies p += k * u.
template <class T, bool Apply>
double row_update(T* __restrict p, const T* __restrict g, const T* __restrict v_row, T v_scale,
                  const T* __restrict v, int64_t n, const AdafactorScalars<T>& s, T k) {
  // factored: V[c] = v_row * v[c] / v_scale (torch: (row @ col) / mean); otherwise V[c] = v[c]
  const T sign = s.sign, floor = s.eps1_squared;
  double lane[kLanes] = {};
  auto element = [&](int64_t i, double& acc) {
    const T var = v_row ? (*v_row * v[i]) / v_scale : v[i];
    const T u = (sign * g[i]) / root(larger(var, floor));
    if (Apply) p[i] = fmadd(k, u, p[i]);
    else acc = fmadd(double(u), double(u), acc);
  };
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) element(i + j, lane[j]);
  for (int j = 0; i + j < n; ++j) element(i + j, lane[j]);
  return Apply ? 0.0 : lanes_total(lane);
}

}  // namespace

template <class T>
void adafactor(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s) {
  const int64_t n = t.batches * t.rows * t.cols;
  if (n == 0) return;
  T* p = t.param;
  const T* g = t.grad;
  const double alpha = std::max(s.eps2, std::sqrt(sum_of_squares(p, n)) / std::sqrt(double(n))) * s.rho;
  if (s.has_decay) scale(p, n, s.decay);
  const T sign = s.sign;
  if (!t.factored) {
    T* v = t.variance;
    for (int64_t i = 0; i < n; ++i) {
      const T gi = sign * g[i];
      v[i] = lerp(v[i], gi * gi, s);
    }
    const double su = row_update<T, false>(p, g, nullptr, T(1), v, n, s, T(0));
    const double denom = std::max(1.0, std::sqrt(su) / (std::sqrt(double(n)) * s.d));
    row_update<T, true>(p, g, nullptr, T(1), v, n, s, T(-alpha / denom));
    return;
  }
  const int64_t R = t.rows, C = t.cols;
  double* col_sum = t.scratch;       // C
  double* mean = t.scratch + C;      // max(mean_r row, eps1) per batch
  for (int64_t b = 0; b < t.batches; ++b) {
    const T* gb = g + b * R * C;
    T* row = t.row + b * R;
    T* col = t.col + b * C;
    std::fill(col_sum, col_sum + C, 0.0);
    for (int64_t r = 0; r < R; ++r) {
      const T* gr = gb + r * C;
      double* __restrict cs = col_sum;
      for (int64_t c = 0; c < C; ++c) {
        const double x = double(gr[c]);
        cs[c] = fmadd(x, x, cs[c]);
      }
      row[r] = lerp(row[r], T(sum_of_squares(gr, C) / double(C)), s);
    }
    for (int64_t c = 0; c < C; ++c) col[c] = lerp(col[c], T(col_sum[c] / double(R)), s);
    double row_total = 0.0;
    for (int64_t r = 0; r < R; ++r) row_total += double(row[r]);
    mean[b] = double(larger(T(row_total / double(R)), s.eps1));
  }
  double su = 0.0;  // rows in order
  for (int64_t b = 0; b < t.batches; ++b)
    for (int64_t r = 0; r < R; ++r)
      su += row_update<T, false>(p, g + (b * R + r) * C, t.row + b * R + r, T(mean[b]),
                                 t.col + b * C, C, s, T(0));
  const double denom = std::max(1.0, std::sqrt(su) / (std::sqrt(double(n)) * s.d));
  const T k = T(-alpha / denom);
  for (int64_t b = 0; b < t.batches; ++b)
    for (int64_t r = 0; r < R; ++r) {
      const int64_t at = (b * R + r) * C;
      row_update<T, true>(p + at, g + at, t.row + b * R + r, T(mean[b]), t.col + b * C, C, s,
                          k);
    }
}

template void adafactor<float>(const AdafactorTensor<float>&, const AdafactorScalars<float>&);
template void adafactor<double>(const AdafactorTensor<double>&, const AdafactorScalars<double>&);

}  // namespace STEEPEST_TARGET
}  // namespace steepest
