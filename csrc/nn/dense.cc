// The dense layer on the gemm of the same SIMD target: shapes and equations in steepest/nn/dense.h.
#include <vector>

#include "steepest/nn/dense.h"
#include "steepest/targets.h"
#include "../runtime/pool.h"

namespace steepest {
namespace STEEPEST_TARGET {

#include "gemm_calls.h"

template <class T>
void dense_forward(const DenseForward<T>& d) {
  // y (B, out) = x (B, in) · weight^T, weight (out, in) read transposed; + bias; activation.
  gemm<T>({d.batch, d.out, d.in, d.x, d.in, false, d.weight, d.in, true, d.y, d.out, false, d.bias,
           d.activation});
}

// dbias (out) (+)= sum over rows of dy, row by row in double into sum (out, zeroed): a fixed
// order, vectorized over the columns.
template <class T>
struct BiasGradient {
  const DenseBackward<T>* d;
  double* sum;

  static void run(const void* p, int64_t) {
    const auto& x = *static_cast<const BiasGradient*>(p);
    const DenseBackward<T>& d = *x.d;
    double* __restrict s = x.sum;
    for (int64_t i = 0; i < d.batch; ++i) {
      const T* __restrict row = d.dy + i * d.out;
      for (int64_t j = 0; j < d.out; ++j) s[j] += double(row[j]);
    }
    T* __restrict db = d.dbias;
    // (+0.0 when written: the sign of a zero sum as if accumulated into a zeroed gradient)
    for (int64_t j = 0; j < d.out; ++j) db[j] = T((d.accumulate ? double(db[j]) : 0.0) + s[j]);
  }
};

template <class T>
void dense_backward(const DenseBackward<T>& d) {
  // dx (B, in) (+)= dy (B, out) · weight (out, in), 0 where relu_output <= 0
  const Gemm<T> dx{d.batch, d.in, d.out, d.dy, d.out, false, d.weight, d.in, false, d.dx, d.in,
                   d.accumulate_dx, nullptr, Activation::none, d.relu_output};
  // dweight (out, in) (+)= dy^T (out, B) · x (B, in)
  const Gemm<T> dweight{d.out, d.in, d.batch, d.dy, d.out, true, d.x, d.in, false, d.dweight,
                        d.in, d.accumulate, nullptr, Activation::none};
  std::vector<double> sum(d.dbias ? d.out : 0, 0.0);  // allocated here: chunks must not throw
  const BiasGradient<T> bias{&d, sum.data()};
  // The three in one pool job: one's last chunks and the next's first share the threads.
  gemm_together<T>(d.dx ? &dx : nullptr, dweight,
                   ChunkTask{d.dbias ? &BiasGradient<T>::run : nullptr, &bias});
}

STEEPEST_KERNEL_ENTRY(dense_forward)
STEEPEST_KERNEL_ENTRY(dense_backward)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
