// Adafactor's passes over one chunk of a tensor (equations and chunks in
// steepest/optim/adafactor.h; the driver is optim/driver_adafactor.cc). Compiled once per SIMD
// target. Sums are in double lanes, in a fixed order.
#include "steepest/optim/adafactor.h"
#include "steepest/targets.h"

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

// u = g / sqrt(max(V, eps1^2)) over n elements; returns sum u^2 (lanes), or (Apply) sets
// p <- p * decay + k * u.
template <class T, bool Apply>
double row_update(T* __restrict p, const T* __restrict g, const T* __restrict v_row, T v_scale,
                  const T* __restrict v, int64_t n, const AdafactorScalars<T>& s, T k) {
  // factored: V[c] = (v_row / v_scale) * v[c]; otherwise V[c] = v[c] (times 1: exact). torch
  // computes (row @ col) / mean, whose product is g^4-sized: inf in float32 for |g| > ~1.4e9.
  // v_row / v_scale (a row over the mean of its batch's rows) is at most R.
  const T sign = s.sign, floor = s.eps1_squared, decay = s.decay;
  const T row_scale = v_row ? *v_row / v_scale : T(1);
  double lane[kLanes] = {};
  auto element = [&](int64_t i, double& acc) {
    const T var = row_scale * v[i];
    const T u = (sign * g[i]) / root(larger(var, floor));
    // decay is exactly 1 without weight decay: p * 1 is p, bit for bit
    if (Apply) p[i] = fmadd(k, u, p[i] * decay);
    else acc = fmadd(double(u), double(u), acc);
  };
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) element(i + j, lane[j]);
  for (int j = 0; i + j < n; ++j) element(i + j, lane[j]);
  return Apply ? 0.0 : lanes_total(lane);
}

// The units [begin, end) of chunk c.
template <class T>
void units_of(const AdafactorTensor<T>& t, int64_t c, int64_t& begin, int64_t& end) {
  begin = c * t.units_per_chunk;
  end = std::min(t.units(), begin + t.units_per_chunk);
}

}  // namespace

template <class T>
void adafactor_finish_batch(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s, int64_t b,
                            const double* col_sums) {
  const int64_t R = t.rows, C = t.cols;
  T* col = t.col + b * C;
  for (int64_t c = 0; c < C; ++c) col[c] = lerp(col[c], T(col_sums[c] / double(R)), s);
  double row_total = 0.0;
  for (int64_t r = 0; r < R; ++r) row_total += double(t.row[b * R + r]);
  t.mean()[b] = double(larger(T(row_total / double(R)), s.eps1));
}

template <class T>
double adafactor_sums(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s, int64_t chunk) {
  int64_t u0, u1;
  units_of(t, chunk, u0, u1);
  const int64_t C = t.unit();
  const double p_squares = sum_of_squares(t.param + u0 * C, (u1 - u0) * C);
  const T sign = s.sign;
  if (!t.factored) {
    const T* g = t.grad;
    T* v = t.variance;
    for (int64_t i = u0; i < u1; ++i) {
      const T gi = sign * g[i];
      v[i] = lerp(v[i], gi * gi, s);
    }
    return p_squares;
  }
  // Rows u0..u1 of batches u0 / R .. (u1 - 1) / R, a batch at a time.
  // A batch held whole is finished here, its slot free again for the next.
  const int64_t R = t.rows;
  for (int64_t r = u0; r < u1;) {
    const int64_t b = r / R, end = std::min(u1, (b + 1) * R);
    const bool whole = r == b * R && end == (b + 1) * R;
    double* __restrict col_sums = t.slot(chunk, b);
    std::fill(col_sums, col_sums + C, 0.0);
    for (; r < end; ++r) {
      const T* gr = t.grad + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const double x = double(gr[c]);
        col_sums[c] = fmadd(x, x, col_sums[c]);
      }
      t.row[r] = lerp(t.row[r], T(sum_of_squares(gr, C) / double(C)), s);
    }
    if (whole) adafactor_finish_batch(t, s, b, col_sums);
  }
  return p_squares;
}

template <class T>
double adafactor_norm(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s, int64_t chunk) {
  int64_t u0, u1;
  units_of(t, chunk, u0, u1);
  if (!t.factored)
    return row_update<T, false>(t.param + u0, t.grad + u0, nullptr, T(1), t.variance + u0,
                                u1 - u0, s, T(0));
  const int64_t R = t.rows, C = t.cols;
  double su = 0.0;  // rows in order
  for (int64_t r = u0; r < u1; ++r)
    su += row_update<T, false>(t.param + r * C, t.grad + r * C, t.row + r, T(t.mean()[r / R]),
                               t.col + r / R * C, C, s, T(0));
  return su;
}

template <class T>
void adafactor_apply(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s, T k,
                     int64_t chunk) {
  int64_t u0, u1;
  units_of(t, chunk, u0, u1);
  if (!t.factored) {
    row_update<T, true>(t.param + u0, t.grad + u0, nullptr, T(1), t.variance + u0, u1 - u0, s, k);
    return;
  }
  const int64_t R = t.rows, C = t.cols;
  for (int64_t r = u0; r < u1; ++r)
    row_update<T, true>(t.param + r * C, t.grad + r * C, t.row + r, T(t.mean()[r / R]),
                        t.col + r / R * C, C, s, k);
}

STEEPEST_KERNEL_ENTRY(adafactor_sums)
STEEPEST_KERNEL_ENTRY(adafactor_finish_batch)
STEEPEST_KERNEL_ENTRY(adafactor_norm)
STEEPEST_KERNEL_ENTRY(adafactor_apply)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
