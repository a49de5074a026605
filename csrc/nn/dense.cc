// The dense layer on the gemm of the same SIMD target: shapes and equations in steepest/nn/dense.h.
#include <vector>

#include "steepest/nn/dense.h"

namespace steepest {
namespace STEEPEST_TARGET {

template <class T>
void gemm(const Gemm<T>&);

template <class T>
void dense_forward(const DenseForward<T>& d) {
  // y (B, out) = x (B, in) · weight^T, weight (out, in) read transposed; + bias; activation.
  gemm<T>({d.batch, d.out, d.in, d.x, d.in, false, d.weight, d.in, true, d.y, d.out, false, d.bias,
           d.activation});
}

template <class T>
void dense_backward(const DenseBackward<T>& d) {
  // dx (B, in) = dy (B, out) · weight (out, in)
  if (d.dx)
    gemm<T>({d.batch, d.in, d.out, d.dy, d.out, false, d.weight, d.in, false, d.dx, d.in, false,
             nullptr, Activation::none});
  // dweight (out, in) += dy^T (out, B) · x (B, in)
  gemm<T>({d.out, d.in, d.batch, d.dy, d.out, true, d.x, d.in, false, d.dweight, d.in, true,
           nullptr, Activation::none});
  if (!d.dbias) return;
  // dbias (out) += sum over rows of dy, row by row in double: a fixed order, vectorized over
  // the columns.
  std::vector<double> sum(d.out, 0.0);
  double* __restrict s = sum.data();
  for (int64_t i = 0; i < d.batch; ++i) {
    const T* __restrict row = d.dy + i * d.out;
    for (int64_t j = 0; j < d.out; ++j) s[j] += double(row[j]);
  }
  T* __restrict db = d.dbias;
  for (int64_t j = 0; j < d.out; ++j) db[j] = T(double(db[j]) + s[j]);
}

template void dense_forward<float>(const DenseForward<float>&);
template void dense_forward<double>(const DenseForward<double>&);
template void dense_backward<float>(const DenseBackward<float>&);
template void dense_backward<double>(const DenseBackward<double>&);

}  // namespace STEEPEST_TARGET
}  // namespace steepest
