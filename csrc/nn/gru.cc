// The GRU layer on the gemm of the same SIMD target: equations, shapes and the GEMMs in
// steepest/nn/gru.h. One call runs the whole sequence: the time loop is here, by parts of the
// batch, one per thread (batch_parts.h), each step one small GEMM and one element-wise pass over
// the rows the GEMM just wrote. With one part (too few rows or large weights) a step's GEMM is
// threaded by the gemm when it is big enough.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "steepest/nn/gemm.h"
#include "steepest/nn/gru.h"
#include "steepest/targets.h"
#include "../runtime/pool.h"
#include "aligned.h"

namespace steepest {

int get_num_threads();  // runtime/parallel.h (not included: its inline code is not per target)

namespace STEEPEST_TARGET {

#include "steepest/kernel_math.h"
#include "steepest/nn/approx.h"

#include "gemm_calls.h"
#include "batch_parts.h"

namespace {

// One row of a step's gates, j < H: the input parts in r, z, n (W_i* x_t + b_i*) and the
// recurrent parts s_r, s_z, s_n (W_h* h_{t-1} + b_h*) become the gates r, z, n and s_n is kept
// in keep_s; h = h_t from hp = h_{t-1}. The quarters of a row are separate restrict arguments,
// which lets the loop vectorize (GCC does not trust restrict on locals here).
template <class T>
void forward_row(int64_t hidden, T* __restrict r, T* __restrict z, T* __restrict n,
                 T* __restrict keep_s, T* __restrict h, const T* __restrict s_r,
                 const T* __restrict s_z, const T* __restrict s_n, const T* __restrict hp) {
  for (int64_t j = 0; j < hidden; ++j) {
    const T rj = sigmoid_approx(r[j] + s_r[j]);
    const T zj = sigmoid_approx(z[j] + s_z[j]);
    const T nj = tanh_approx(n[j] + rj * s_n[j]);
    r[j] = rj;
    z[j] = zj;
    n[j] = nj;
    keep_s[j] = s_n[j];
    h[j] = nj + zj * (hp[j] - nj);  // (1 - z) n + z h_{t-1}, as torch computes it
  }
}

// Rows [b0, b1) of step t: the input part of the gates, row b of gates at (b T + t) 4H (first
// 3H columns), and the recurrent part s (B, 3H) become r, z, n and s_n in gates' row; h_t goes
// into y. h_prev (B, H) with row stride ld_prev is h_{t-1}.
template <class T>
void forward_step(const GruForward<T>& f, int64_t t, const T* s, const T* h_prev,
                  int64_t ld_prev, int64_t b0, int64_t b1) {
  const int64_t steps = f.shape.steps, H = f.shape.hidden;
  for (int64_t b = b0; b < b1; ++b) {
    T* g = f.gates + (b * steps + t) * 4 * H;
    const T* sb = s + b * 3 * H;
    forward_row(H, g, g + H, g + 2 * H, g + 3 * H, f.y + (b * steps + t) * H, sb, sb + H,
                sb + 2 * H, h_prev + b * ld_prev);
  }
}

// One row of a step backwards, j < H: dh = dy + c (dL/dh_t), the gate gradients from the saved
// r, z, n, s_n into the input side (i_r, i_z, i_n) and the recurrent side (h_r, h_z, h_n), and
// c = dh z, the direct part of dL/dh_{t-1}.
template <class T>
void backward_row(int64_t hidden, T* __restrict i_r, T* __restrict i_z, T* __restrict i_n,
                  T* __restrict h_r, T* __restrict h_z, T* __restrict h_n, T* __restrict c,
                  const T* __restrict dy, const T* __restrict r, const T* __restrict z,
                  const T* __restrict n, const T* __restrict s_n, const T* __restrict hp) {
  for (int64_t j = 0; j < hidden; ++j) {
    const T dh = dy[j] + c[j];
    const T da_n = dh * (T(1) - z[j]) * (T(1) - n[j] * n[j]);
    const T da_z = dh * (hp[j] - n[j]) * z[j] * (T(1) - z[j]);
    const T da_r = da_n * s_n[j] * r[j] * (T(1) - r[j]);
    i_r[j] = h_r[j] = da_r;
    i_z[j] = h_z[j] = da_z;
    i_n[j] = da_n;
    h_n[j] = da_n * r[j];
    c[j] = dh * z[j];
  }
}

// Rows [b0, b1) of step t backwards: dh = dy[:, t] + carry (dL/dh_t), then the gate gradients
// of step t into dgates_ih and dgates_hh and carry = dh z.
template <class T>
void backward_step(const GruBackward<T>& d, int64_t t, const T* h_prev, int64_t ld_prev,
                   T* carry, int64_t b0, int64_t b1) {
  const int64_t steps = d.shape.steps, H = d.shape.hidden;
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t row = b * steps + t;
    const T* g = d.gates + row * 4 * H;         // r, z, n, s_n
    T* gi = d.dgates_ih + row * 3 * H;          // [da_r, da_z, da_n]
    T* gh = d.dgates_hh + row * 3 * H;          // [da_r, da_z, da_n r]
    backward_row(H, gi, gi + H, gi + 2 * H, gh, gh + H, gh + 2 * H, carry + b * H,
                 d.dy + row * H, g, g + H, g + 2 * H, g + 3 * H, h_prev + b * ld_prev);
  }
}

// dbias_ih and dbias_hh (+)= the column sums of dgates_ih and dgates_hh (B T, 3H), row by row
// in double into sum (4H, zeroed): dgates_ih's 3H columns, then dgates_hh's last H (its r and z
// columns are dgates_ih's, so are their sums).
template <class T>
struct GruBiasGradients {
  const GruBackward<T>* d;
  double* sum;

  // s[0, cols) += the column sums of rows x cols at a (row stride lda)
  static void add(const T* a, int64_t rows, int64_t cols, int64_t lda, double* __restrict s) {
    for (int64_t i = 0; i < rows; ++i) {
      const T* __restrict row = a + i * lda;
      for (int64_t j = 0; j < cols; ++j) s[j] += double(row[j]);
    }
  }
  // db[j] (+)= s[j] for j < n (+0.0 when written: the sign of a zero sum as if accumulated into
  // a zeroed gradient)
  static void write(const double* s, int64_t n, bool accumulate, T* db) {
    for (int64_t j = 0; j < n; ++j) db[j] = T((accumulate ? double(db[j]) : 0.0) + s[j]);
  }

  static void run(const void* p, int64_t) {
    const auto& x = *static_cast<const GruBiasGradients*>(p);
    const GruBackward<T>& d = *x.d;
    const int64_t rows = d.shape.batch * d.shape.steps, H = d.shape.hidden;
    add(d.dgates_ih, rows, 3 * H, 3 * H, x.sum);
    if (d.dbias_ih) write(x.sum, 3 * H, d.accumulate, d.dbias_ih);
    if (!d.dbias_hh) return;
    add(d.dgates_hh + 2 * H, rows, H, 3 * H, x.sum + 3 * H);
    write(x.sum, 2 * H, d.accumulate, d.dbias_hh);
    write(x.sum + 3 * H, H, d.accumulate, d.dbias_hh + 2 * H);
  }
};

}  // namespace

template <class T>
void gru_forward(const GruForward<T>& f) {
  const int64_t batch = f.shape.batch, steps = f.shape.steps, hidden = f.shape.hidden;
  // Everything is allocated here: chunks must not throw.
  AlignedArray<T> s(batch * 3 * hidden);             // S (B, 3H), one step's
  AlignedArray<T> zeros(f.h0 ? 0 : batch * hidden);  // h0 when none is given
  // gates[:, :, 0:3H] (B T, 3H) = X (B T, F) · W_ih^T + b_ih
  gemm<T>(Gemm<T>{batch * steps, 3 * hidden, f.shape.in, f.x, f.shape.in, false, f.weight_ih,
                  f.shape.in, true, f.gates, 4 * hidden, false, f.bias_ih, Activation::none});
  // The recurrence, by parts of the batch (batch_parts.h)
  Gemm<T> step{batch, 3 * hidden, hidden, nullptr, hidden, false, f.weight_hh, hidden, true,
               nullptr, 3 * hidden, false, f.bias_hh, Activation::none};
  const PackedWeights<T> w_hh(step);  // W_hh^T (H, 3H)
  step.packed_b = w_hh.data;
  for_batch_parts<T>(batch, step, [&](const Part<T>& part) {
    const int64_t b0 = part.b0, b1 = part.b1;
    const T* h_prev = f.h0 ? f.h0 : zeros.data();
    int64_t ld_prev = hidden;
    for (int64_t t = 0; t < steps; ++t) {
      // S (B, 3H) = h_{t-1} (B, H) · W_hh^T (H, 3H) + b_hh; b_hh alone from h_{-1} = 0
      if (t > 0 || f.h0) {
        part.product(step, h_prev, ld_prev, s.data(), 3 * hidden);
      } else {
        for (int64_t i = b0 * 3 * hidden; i < b1 * 3 * hidden; ++i)
          s[i] = f.bias_hh ? f.bias_hh[i % (3 * hidden)] : T(0);
      }
      forward_step(f, t, s.data(), h_prev, ld_prev, b0, b1);
      h_prev = f.y + t * hidden;  // h_t: y[:, t], rows T H apart
      ld_prev = steps * hidden;
    }
  });
}

template <class T>
void gru_backward(const GruBackward<T>& d) {
  const int64_t batch = d.shape.batch, steps = d.shape.steps, hidden = d.shape.hidden;
  const int64_t in = d.shape.in, rows = batch * steps;
  // Everything is allocated here: chunks must not throw.
  AlignedArray<T> carry(batch * hidden);  // dL/dh_t from step t + 1 on
  AlignedArray<T> zeros(d.h0 ? 0 : batch * hidden);
  std::vector<double> sum(std::size_t(4 * hidden), 0.0);

  // Backwards through time, by parts of the batch (batch_parts.h)
  Gemm<T> step{batch, hidden, 3 * hidden, nullptr, 3 * hidden, false, d.weight_hh, hidden, false,
               nullptr, hidden, true, nullptr, Activation::none};
  const PackedWeights<T> w_hh(step);  // W_hh (3H, H)
  step.packed_b = w_hh.data;
  for_batch_parts<T>(batch, step, [&](const Part<T>& part) {
    const int64_t b0 = part.b0, b1 = part.b1;
    for (int64_t t = steps - 1; t >= 0; --t) {
      const T* h_prev = t > 0 ? d.y + (t - 1) * hidden : (d.h0 ? d.h0 : zeros.data());
      const int64_t ld_prev = t > 0 ? steps * hidden : hidden;
      backward_step(d, t, h_prev, ld_prev, carry.data(), b0, b1);
      if (t == 0 && !d.dh0) break;
      // carry (B, H) += dgates_hh[:, t] (B, 3H) · W_hh (3H, H): dL/dh_{t-1}
      part.product(step, d.dgates_hh + t * 3 * hidden, steps * 3 * hidden, carry.data(), hidden);
    }
  });
  for (int64_t i = 0; d.dh0 && i < batch * hidden; ++i) d.dh0[i] = carry[i];

  // dx (B T, F) = dgates_ih (B T, 3H) · W_ih (3H, F)
  const Gemm<T> dx{rows, in, 3 * hidden, d.dgates_ih, 3 * hidden, false, d.weight_ih, in, false,
                   d.dx, in, false, nullptr, Activation::none};
  // dweight_ih (3H, F) (+)= dgates_ih^T (3H, B T) · X (B T, F)
  const Gemm<T> dw_ih{3 * hidden, in, rows, d.dgates_ih, 3 * hidden, true, d.x, in, false,
                      d.dweight_ih, in, d.accumulate, nullptr, Activation::none};
  const GruBiasGradients<T> bias{&d, sum.data()};
  gemm_together<T>(d.dx ? &dx : nullptr, dw_ih,
                   ChunkTask{d.dbias_ih || d.dbias_hh ? &GruBiasGradients<T>::run : nullptr,
                             &bias});
  // dweight_hh (3H, H) (+)= dgates_hh^T (3H, B T) · H_prev (B T, H): row (b, t) of H_prev is
  // y[b, t - 1], read in place (zeros at t = 0) ...
  const Shifted<T> y_prev{d.y, steps, steps, hidden, 1, 0, -1, 1};
  Gemm<T> dw_hh{3 * hidden, hidden, rows, d.dgates_hh, 3 * hidden, true, nullptr, 0, false,
                d.dweight_hh, hidden, d.accumulate, nullptr, Activation::none};
  dw_hh.shifted_b = &y_prev;
  gemm<T>(dw_hh);
  // ... then += dgates_hh[:, 0]^T (3H, B) · h0 (B, H)
  if (d.h0)
    gemm<T>(Gemm<T>{3 * hidden, hidden, batch, d.dgates_hh, steps * 3 * hidden, true, d.h0,
                    hidden, false, d.dweight_hh, hidden, true, nullptr, Activation::none});
}

STEEPEST_KERNEL_ENTRY(gru_forward)
STEEPEST_KERNEL_ENTRY(gru_backward)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
