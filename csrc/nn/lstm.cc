// One LSTM layer over a whole sequence on the gemm of the same SIMD target: equations, shapes and
// the GEMMs in steepest/nn/lstm.h. The time loop runs here, one call per layer and direction.
//
// Threads: the all-T products (the input projection, dW_ih, dW_hh, dX: B T x 4H x F and the
// like) are large and split over the pool by gemm(). The time loop runs by parts of the batch,
// one per thread, each part its whole sequence (batch_parts.h). With one part (too few rows or
// large weights), a step's recurrent product goes through gemm(), which splits it from
// 2 x kChunkFlops = 2^20 multiply-adds on, and its element-wise cell pass (B H elements, each a
// few exponentials) is cut by rows of the batch from kCellChunk elements per chunk on. Rows are
// independent: every result is bitwise the same for any thread count (and gemm guarantees it
// for the products).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "steepest/nn/gemm.h"
#include "steepest/nn/lstm.h"
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

// x[j] = f(x[j]) for j < n, in place.
template <class T>
void sigmoid_in_place(T* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] = sigmoid_approx(x[j]);
}
template <class T>
void tanh_in_place(T* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] = tanh_approx(x[j]);
}

// One row of step t's cell: c = f c_prev + i g, h = o tanh(c), from the gates z = [i f g o] (4H)
// after their activations. (Restrict parameters: the loop vectorizes.)
template <class T>
void cell_row(T* __restrict c, T* __restrict h, const T* __restrict z, const T* __restrict c_prev,
              int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T cv = z[H + j] * c_prev[j] + z[j] * z[2 * H + j];
    c[j] = cv;
    h[j] = z[3 * H + j] * tanh_approx(cv);
  }
}

// Rows [b0, b1) of step t's cell update from its pre-activations z (in gates), c_{t-1} (row b
// at c_prev + b ldp): gates post-activation (in place), c_t and h_t = y[:, t]; row by row, a few passes over the
// row's 4H gates while they are in L1.
template <class T>
void cell_forward(const LstmForward<T>& f, int64_t t, const T* c_prev, int64_t ldp, int64_t b0,
                  int64_t b1) {
  const int64_t steps = f.shape.steps, H = f.shape.hidden;
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t row = b * steps + t;
    T* z = f.gates + row * 4 * H;
    sigmoid_in_place(z, 2 * H);      // i, f
    tanh_in_place(z + 2 * H, H);     // g
    sigmoid_in_place(z + 3 * H, H);  // o
    cell_row(f.c + row * H, f.y + row * H, z, c_prev + b * ldp, H);
  }
}

// One row of step t's backward: dz (4H) from the gates z (4H), c_t, c_{t-1}, dy and dh (the
// dh_{t+1} of the step before); dc holds dc_{t+1} and is replaced by dc_t.
template <class T>
void cell_row_backward(T* __restrict dz, T* __restrict dc, const T* __restrict z,
                       const T* __restrict c, const T* __restrict c_prev, const T* __restrict dy,
                       const T* __restrict dh, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j];
    const T tc = tanh_approx(c[j]);
    const T dhv = dy[j] + dh[j];
    const T dcv = dc[j] + dhv * o * (T(1) - tc * tc);
    dz[j] = dcv * g * (i * (T(1) - i));
    dz[H + j] = dcv * c_prev[j] * (f * (T(1) - f));
    dz[2 * H + j] = dcv * i * (T(1) - g * g);
    dz[3 * H + j] = dhv * tc * (o * (T(1) - o));
    dc[j] = dcv * f;
  }
}

// Rows [b0, b1) of step t's backward through the cell: dZ_t (in dgates) from dy[:, t] + dh (dh_{t+1}) and dc
// (dc_{t+1}, replaced by dc_t); c_{t-1} row b at c_prev + b ldp.
template <class T>
void cell_backward(const LstmBackward<T>& d, int64_t t, const T* c_prev, int64_t ldp, const T* dh,
                   T* dc, int64_t b0, int64_t b1) {
  const int64_t steps = d.shape.steps, H = d.shape.hidden;
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t row = b * steps + t;
    cell_row_backward(d.dgates + row * 4 * H, dc + b * H, d.gates + row * 4 * H, d.c + row * H,
                      c_prev + b * ldp, d.dy + row * H, dh + b * H, H);
  }
}

// A step's cell pass: at least kCellChunk elements (B H) per chunk.
constexpr int64_t kCellChunk = 2048;

template <class Rows>
struct RowChunks {
  const Rows* rows;
  int64_t batch, parts;
  static void run(const void* p, int64_t c) {  // part c of parts: rows [B c / parts, B (c+1) / parts)
    const auto& x = *static_cast<const RowChunks*>(p);
    (*x.rows)(x.batch * c / x.parts, x.batch * (c + 1) / x.parts);
  }
};

// rows(b0, b1) over [0, batch) in up to get_num_threads() parts (rows must not throw).
template <class Rows>
void for_rows(int64_t batch, int64_t hidden, const Rows& rows) {
  int64_t parts = batch * hidden / kCellChunk;
  parts = parts < get_num_threads() ? parts : get_num_threads();
  parts = parts < batch ? parts : batch;
  if (parts <= 1) return rows(int64_t(0), batch);
  const RowChunks<Rows> x{&rows, batch, parts};
  run_chunks(parts, int(parts), ChunkTask{&RowChunks<Rows>::run, &x});
}

// db_ih = db_hh (+)= the sum of dZ's B T rows, row by row in double into sum (4H, zeroed).
template <class T>
struct LstmBiasGradient {
  const LstmBackward<T>* d;
  double* sum;

  static void run(const void* p, int64_t) {
    const auto& x = *static_cast<const LstmBiasGradient*>(p);
    const LstmBackward<T>& d = *x.d;
    const int64_t rows = d.shape.batch * d.shape.steps, n = 4 * d.shape.hidden;
    double* __restrict s = x.sum;
    for (int64_t r = 0; r < rows; ++r) {
      const T* __restrict row = d.dgates + r * n;
      for (int64_t j = 0; j < n; ++j) s[j] += double(row[j]);
    }
    // (+0.0 when written: the sign of a zero sum as if accumulated into a zeroed gradient)
    for (T* db : {d.dbias_ih, d.dbias_hh})
      if (db)
        for (int64_t j = 0; j < n; ++j) db[j] = T((d.accumulate ? double(db[j]) : 0.0) + s[j]);
  }
};

}  // namespace

template <class T>
void lstm_forward(const LstmForward<T>& f) {
  const LstmShape& s = f.shape;
  const int64_t B = s.batch, steps = s.steps, F = s.in, H = s.hidden, G = 4 * H;
  // Everything is allocated here, before any product (chunks must not throw).
  std::vector<T> bias(f.bias_ih || f.bias_hh ? std::size_t(G) : 0, T(0));
  for (int64_t j = 0; j < G && !bias.empty(); ++j)
    bias[j] = (f.bias_ih ? f.bias_ih[j] : T(0)) + (f.bias_hh ? f.bias_hh[j] : T(0));
  const AlignedArray<T> zeros(f.c0 ? 0 : H);  // c_{-1} = 0 (one row, ldp 0)

  // Z (B T, 4H) = X (B T, F) · W_ih^T + (b_ih + b_hh)
  gemm<T>(Gemm<T>{B * steps, G, F, f.x, F, false, f.weight_ih, F, true, f.gates, G, false,
                  bias.empty() ? nullptr : bias.data(), Activation::none});
  // The recurrence, by parts of the batch (batch_parts.h)
  Gemm<T> step{B, G, H, nullptr, H, false, f.weight_hh, H, true, nullptr, G, true, nullptr,
               Activation::none};
  const PackedWeights<T> w_hh(step);  // W_hh^T (H, 4H)
  step.packed_b = w_hh.data;
  for_batch_parts<T>(B, step, [&](const Part<T>& part) {
    const int64_t b0 = part.b0, b1 = part.b1;
    for (int64_t t = 0; t < steps; ++t) {
      // Z_t (B, 4H) += h_{t-1} (B, H) · W_hh^T; rows of Z_t T 4H apart, of h_{t-1} T H apart
      const T* h_prev = t > 0 ? f.y + (t - 1) * H : f.h0;
      const int64_t ldh = t > 0 ? steps * H : H;
      if (h_prev) part.product(step, h_prev, ldh, f.gates + t * G, steps * G);
      // c_{t-1}: row b at c_prev + b ldp
      const T* c_prev = t > 0 ? f.c + (t - 1) * H : f.c0 ? f.c0 : zeros.data();
      const int64_t ldp = t > 0 ? steps * H : f.c0 ? H : 0;
      const auto cells = [&](int64_t r0, int64_t r1) { cell_forward(f, t, c_prev, ldp, r0, r1); };
      if (part.pooled()) for_rows(B, H, cells);
      else cells(b0, b1);
    }
  });
}

template <class T>
void lstm_backward(const LstmBackward<T>& d) {
  const LstmShape& s = d.shape;
  const int64_t B = s.batch, steps = s.steps, F = s.in, H = s.hidden, G = 4 * H;
  // Everything is allocated here: chunks must not throw.
  AlignedArray<T> dh(B * H), dc(B * H);
  const AlignedArray<T> zeros(d.c0 ? 0 : H);
  std::vector<double> sum(d.dbias_ih || d.dbias_hh ? std::size_t(G) : 0, 0.0);

  // Backwards through time, by parts of the batch (batch_parts.h)
  Gemm<T> step{B, H, G, nullptr, G, false, d.weight_hh, H, false, nullptr, H, false, nullptr,
               Activation::none};
  const PackedWeights<T> w_hh(step);  // W_hh (4H, H)
  step.packed_b = w_hh.data;
  for_batch_parts<T>(B, step, [&](const Part<T>& part) {
    const int64_t b0 = part.b0, b1 = part.b1;
    for (int64_t t = steps - 1; t >= 0; --t) {
      const T* c_prev = t > 0 ? d.c + (t - 1) * H : d.c0 ? d.c0 : zeros.data();
      const int64_t ldp = t > 0 ? steps * H : d.c0 ? H : 0;
      const auto cells = [&](int64_t r0, int64_t r1) {
        cell_backward(d, t, c_prev, ldp, dh.data(), dc.data(), r0, r1);
      };
      if (part.pooled()) for_rows(B, H, cells);
      else cells(b0, b1);
      // dh_t (B, H) = dZ_t (B, 4H) · W_hh (4H, H), for step t - 1
      if (t > 0) part.product(step, d.dgates + t * G, steps * G, dh.data(), H);
    }
  });

  // dX (B T, F) = dZ (B T, 4H) · W_ih (4H, F)
  const Gemm<T> dx{B * steps, F, G, d.dgates, G, false, d.weight_ih, F, false, d.dx, F, false,
                   nullptr, Activation::none};
  // dW_ih (4H, F) (+)= dZ^T (4H, B T) · X (B T, F)
  const Gemm<T> dw_ih{G, F, B * steps, d.dgates, G, true, d.x, F, false, d.dweight_ih, F,
                      d.accumulate, nullptr, Activation::none};
  const LstmBiasGradient<T> bias{&d, sum.data()};
  gemm_together<T>(d.dx ? &dx : nullptr, dw_ih,
                   ChunkTask{sum.empty() ? nullptr : &LstmBiasGradient<T>::run, &bias});
  // dW_hh (4H, H) (+)= dZ^T (4H, B T) · H_prev (B T, H), H_prev[(b, t)] = y[b, t - 1] (0 at t = 0)
  const Shifted<T> h_prev{d.y, steps, steps, H, 1, 0, -1, 1};
  Gemm<T> dw_hh{G, H, B * steps, d.dgates, G, true, nullptr, 0, false, d.dweight_hh, H,
                d.accumulate, nullptr, Activation::none};
  dw_hh.shifted_b = &h_prev;
  gemm<T>(dw_hh);
  // ... += dZ_0^T (4H, B) · h0 (B, H): the t = 0 rows' h_{-1}
  if (d.h0)
    gemm<T>(Gemm<T>{G, H, B, d.dgates, steps * G, true, d.h0, H, false, d.dweight_hh, H, true,
                    nullptr, Activation::none});
}

STEEPEST_KERNEL_ENTRY(lstm_forward)
STEEPEST_KERNEL_ENTRY(lstm_backward)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
