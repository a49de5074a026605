// The 1-d convolution on channels-last data, weight stored (out, in, taps) like torch.nn.Conv1d.
// Shapes: x (B, T, in), y (B, T_out, out), weight (out, in, K), bias (out); stride s, dilation d,
// pad_left / pad_right zeros around each row's T steps,
//   T_out = (T + pad_left + pad_right - d (K - 1) - 1) / s + 1          (>= 1: checked by the binding)
//   forward   y[b, t, o] = bias[o] + sum_k sum_c x[b, t s + k d - pad_left, c] weight[o, c, k]
//             (x is 0 outside [0, T)), then the activation (epilogue)
//   backward  dx[b, i, c] = sum_k sum_o dy[b, t, o] weight[o, c, k]  over t s + k d - pad_left = i
//                          written (skipped if dx null); 0 where relu_output (B, T, in) is <= 0
//                          (if not null: the backward of a ReLU before the layer, fused)
//             dweight[o, c, k] += sum_b sum_t dy[b, t, o] x[b, t s + k d - pad_left, c]
//             dbias[o] += sum_b sum_t dy[b, t, o], rows in order   (accumulated, or written)
// Each pass is one GEMM over Shifted views of x or dy (gemm.h), no im2col copy:
//   forward   Y (B T_out, out) = X~ (B T_out, K in) · Wf (K in, out),  X~[(b, t), (k, c)] as above
//   dx        dX (B T, in) = D~ (B T, K out) · Wb (K out, in),
//             D~[(b, i), (k, o)] = dy[b, (i + pad_left - k d) / s, o] where that is a whole step
//   dweight   G (out, K in) = dY^T (out, B T_out) · X~ (B T_out, K in), then G[o, k in + c] is
//             weight's [o, c, k] (a transpose of out K in elements into dweight)
// with Wf[k in + c, o] = Wb[k out + o, c] = weight[o, c, k] repacked on each call (out in K
// elements, 1/(B T_out) of the product's multiply-adds). With stride > 1 the dx product also
// multiplies the zeros of the steps no output sees (s times the work of stride 1).
// Written instead of accumulated (accumulate false) is bitwise the same as accumulated into +0.
#pragma once

#include <cstdint>

#include "steepest/nn/gemm.h"

namespace steepest {

struct Conv1dShape {
  int64_t batch, steps, in, out, taps;
  int64_t stride, dilation, pad_left, pad_right;
  int64_t steps_out() const {
    return (steps + pad_left + pad_right - dilation * (taps - 1) - 1) / stride + 1;
  }
};

template <class T>
struct Conv1dForward {
  T* y;
  const T* x;
  const T* weight;
  const T* bias;  // or null
  Conv1dShape shape;
  Activation activation;
};

template <class T>
struct Conv1dBackward {
  T* dx;       // or null
  T* dweight;
  T* dbias;    // or null
  const T* dy;
  const T* x;
  const T* weight;
  Conv1dShape shape;
  bool accumulate;       // into dweight and dbias, else they are written
  const T* relu_output;  // (B, T, in) or null
  bool accumulate_dx;    // dx += (another path's gradient in dx: a residual's), else written
};

// Bitwise the same for any thread count (the gemm's guarantee; the bias sums run in row order).
// May throw std::bad_alloc (the repacked weight) before anything is written.
template <class T>
using Conv1dForwardKernel = void (*)(const Conv1dForward<T>&);
template <class T>
using Conv1dBackwardKernel = void (*)(const Conv1dBackward<T>&);

}  // namespace steepest
