// Layer normalization over the last dimension (torch.nn.LayerNorm with a 1-d normalized_shape):
// x (rows, C), each row normalized on its own.
//   forward   mean = sum_j x_j / C,  var = sum_j (x_j - mean)² / C  (both summed in double, in
//             the lanes of kernel_math.h),  rstd = 1 / sqrt(var + eps)
//             xhat_j = (x_j - mean) · rstd,  y_j = xhat_j · weight_j + bias_j  (affine if given)
//             mean and rstd (rows) saved for backward (skipped when null: inference)
//   backward  g_j = dy_j · weight_j (dy_j without weight)
//             dx_j = rstd · (g_j - sum(g) / C - xhat_j · sum(g · xhat) / C)    (rows, C), written
//             dweight_j (+)= sum over rows of dy_j · xhat_j,  dbias_j (+)= sum over rows of dy_j
//             (summed in double, rows in order; written instead of accumulated when accumulate
//             is false, bitwise as if accumulated into +0)
// Rows are cut into chunks by the sizes alone (the parameter sums into column blocks): the
// results are bitwise the same for any thread count.
#pragma once

#include <cstdint>

namespace steepest {

template <class T>
struct LayerNormForward {
  T* y;             // (rows, C)
  T* mean;          // (rows) or null
  T* rstd;          // (rows) or null
  const T* x;       // (rows, C)
  const T* weight;  // (C) or null
  const T* bias;    // (C) or null
  int64_t rows, cols;
  double eps;
};

template <class T>
struct LayerNormBackward {
  T* dx;            // (rows, C) or null
  T* dweight;       // (C) or null
  T* dbias;         // (C) or null
  const T* dy;      // (rows, C)
  const T* x;       // (rows, C)
  const T* mean;    // (rows), saved by the forward
  const T* rstd;    // (rows)
  const T* weight;  // (C) or null
  int64_t rows, cols;
  bool accumulate;  // into dweight and dbias, else they are written
};

template <class T>
using LayerNormForwardKernel = void (*)(const LayerNormForward<T>&);
template <class T>
using LayerNormBackwardKernel = void (*)(const LayerNormBackward<T>&);

}  // namespace steepest
