// The 1-d convolution on the gemm of the same SIMD target: shapes, equations and the mapping of
// taps, padding and stride onto GEMMs in steepest/nn/conv1d.h.
#include <cstddef>
#include <vector>

#include "steepest/nn/conv1d.h"
#include "steepest/targets.h"
#include "../runtime/pool.h"

namespace steepest {
namespace STEEPEST_TARGET {

#include "gemm_calls.h"

namespace {

// x (B, T, in) read as X~ (B T_out, K in): row (b, t), column (k, c) is x[b, t s + k d - pad_left, c].
template <class T>
Shifted<T> input_taps(const T* x, const Conv1dShape& s) {
  return {x, s.steps_out(), s.steps, s.in, s.stride, s.dilation, -s.pad_left, 1};
}

}  // namespace

template <class T>
void conv1d_forward(const Conv1dForward<T>& f) {
  const Conv1dShape& s = f.shape;
  // Wf (K in, out): Wf[k in + c, o] = weight[o, c, k]
  std::vector<T> wf(std::size_t(s.taps * s.in * s.out));
  for (int64_t o = 0; o < s.out; ++o)
    for (int64_t c = 0; c < s.in; ++c)
      for (int64_t k = 0; k < s.taps; ++k)
        wf[(k * s.in + c) * s.out + o] = f.weight[(o * s.in + c) * s.taps + k];
  const Shifted<T> x = input_taps(f.x, s);
  // y (B T_out, out) = X~ (B T_out, K in) · Wf + bias, activation
  Gemm<T> g{s.batch * s.steps_out(), s.out, s.taps * s.in, nullptr, 0, false, wf.data(), s.out,
            false, f.y, s.out, false, f.bias, f.activation};
  g.shifted_a = &x;
  gemm<T>(g);
}

// dbias (out) (+)= sum over the B T_out rows of dy, row by row in double into sum (out, zeroed).
template <class T>
struct Conv1dBiasGradient {
  const Conv1dBackward<T>* d;
  double* sum;

  static void run(const void* p, int64_t) {
    const auto& x = *static_cast<const Conv1dBiasGradient*>(p);
    const Conv1dBackward<T>& d = *x.d;
    const int64_t rows = d.shape.batch * d.shape.steps_out(), out = d.shape.out;
    double* __restrict s = x.sum;
    for (int64_t i = 0; i < rows; ++i) {
      const T* __restrict row = d.dy + i * out;
      for (int64_t j = 0; j < out; ++j) s[j] += double(row[j]);
    }
    T* __restrict db = d.dbias;
    // (+0.0 when written: the sign of a zero sum as if accumulated into a zeroed gradient)
    for (int64_t j = 0; j < out; ++j) db[j] = T((d.accumulate ? double(db[j]) : 0.0) + s[j]);
  }
};

template <class T>
void conv1d_backward(const Conv1dBackward<T>& d) {
  const Conv1dShape& s = d.shape;
  const int64_t kin = s.taps * s.in, rows_out = s.batch * s.steps_out();
  // Everything is allocated here: chunks must not throw.
  // Wb (K out, in): Wb[k out + o, c] = weight[o, c, k]
  std::vector<T> wb(d.dx ? std::size_t(s.taps * s.out * s.in) : 0);
  for (int64_t o = 0; d.dx && o < s.out; ++o)
    for (int64_t c = 0; c < s.in; ++c)
      for (int64_t k = 0; k < s.taps; ++k)
        wb[(k * s.out + o) * s.in + c] = d.weight[(o * s.in + c) * s.taps + k];
  std::vector<T> grad(std::size_t(s.out * kin));  // G (out, K in)
  std::vector<double> sum(d.dbias ? std::size_t(s.out) : 0, 0.0);

  // D~ (B T, K out): row (b, i), column (k, o) is dy[b, t, o] with t s = i + pad_left - k d.
  const Shifted<T> dy_taps{d.dy, s.steps, s.steps_out(), s.out, 1, -s.dilation, s.pad_left,
                           s.stride};
  // dx (B T, in) (+)= D~ · Wb, 0 where relu_output <= 0
  Gemm<T> dx{s.batch * s.steps, s.in, s.taps * s.out, nullptr, 0, false, wb.data(), s.in, false,
             d.dx, s.in, d.accumulate_dx, nullptr, Activation::none, d.relu_output};
  dx.shifted_a = &dy_taps;
  // G (out, K in) = dy^T (out, B T_out) · X~ (B T_out, K in)
  const Shifted<T> x = input_taps(d.x, s);
  Gemm<T> dw{s.out, kin, rows_out, d.dy, s.out, true, nullptr, 0, false, grad.data(), kin, false,
             nullptr, Activation::none};
  dw.shifted_b = &x;
  const Conv1dBiasGradient<T> bias{&d, sum.data()};
  gemm_together<T>(d.dx ? &dx : nullptr, dw,
                   ChunkTask{d.dbias ? &Conv1dBiasGradient<T>::run : nullptr, &bias});

  // dweight[o, c, k] (+)= G[o, k in + c]
  for (int64_t o = 0; o < s.out; ++o)
    for (int64_t c = 0; c < s.in; ++c)
      for (int64_t k = 0; k < s.taps; ++k) {
        T& w = d.dweight[(o * s.in + c) * s.taps + k];
        const T v = grad[o * kin + k * s.in + c];
        w = d.accumulate ? w + v : v;
      }
}


STEEPEST_KERNEL_ENTRY(conv1d_forward)
STEEPEST_KERNEL_ENTRY(conv1d_backward)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
