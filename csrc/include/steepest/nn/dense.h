// The dense layer, weight stored (out, in) like torch.nn.Linear; both passes run on the gemm
// kernel of the same SIMD target (gemm.h).
//   forward   y (B, out) = x (B, in) · weight^T + bias (out), then the activation (epilogue)
//   backward  dx (B, in) = dy (B, out) · weight (out, in)        written (skipped if dx null),
//                          0 where relu_output (B, in) is <= 0  (if not null: the backward of
//                          a ReLU before the layer, fused; relu_output is that ReLU's output;
//                          a NaN there keeps dx, as torch's relu backward)
//             dweight (out, in) += dy^T · x                        accumulated, or written
//             dbias (out) += column sums of dy, rows in order     likewise (skipped if null)
// Written instead of accumulated (accumulate false) is bitwise the same as accumulated into +0:
// a training step that zeroes the gradients before its backward skips the zeroing.
#pragma once

#include <cstdint>

#include "steepest/nn/gemm.h"

namespace steepest {

template <class T>
struct DenseForward {
  T* y;
  const T* x;
  const T* weight;
  const T* bias;  // or null
  int64_t batch, in, out;
  Activation activation;
};

template <class T>
struct DenseBackward {
  T* dx;       // or null
  T* dweight;
  T* dbias;    // or null
  const T* dy;
  const T* x;
  const T* weight;
  int64_t batch, in, out;
  bool accumulate;  // into dweight and dbias, else they are written
  const T* relu_output;  // (batch, in) or null
  bool accumulate_dx;    // dx += (another path's gradient in dx: a residual's), else written
};

// Bitwise the same for any thread count (the gemm's guarantee; the column sums run in row order).
template <class T>
using DenseForwardKernel = void (*)(const DenseForward<T>&);
template <class T>
using DenseBackwardKernel = void (*)(const DenseBackward<T>&);

}  // namespace steepest
