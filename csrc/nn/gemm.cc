// C = op(A) · op(B) (+ C) (+ bias), activation: see steepest/nn/gemm.h for shapes.
// A plain reference loop for now (i-k-j order: the inner loop runs along rows of B and C).
#include <vector>

#include "steepest/nn/gemm.h"

namespace steepest {
namespace STEEPEST_TARGET {

#include "steepest/kernel_math.h"

template <class T>
void gemm(const Gemm<T>& g) {
  std::vector<T> row(g.n);
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) row[j] = T(0);
    for (int64_t p = 0; p < g.k; ++p) {
      const T aip = g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
      for (int64_t j = 0; j < g.n; ++j) {
        const T bpj = g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        row[j] = fmadd(aip, bpj, row[j]);
      }
    }
    T* c = g.c + i * g.ldc;
    for (int64_t j = 0; j < g.n; ++j) {
      T v = row[j];
      if (g.accumulate) v += c[j];
      if (g.bias) v += g.bias[j];
      if (g.activation == Activation::relu) v = v > T(0) ? v : T(0);
      c[j] = v;
    }
  }
}

template void gemm<float>(const Gemm<float>&);
template void gemm<double>(const Gemm<double>&);

}  // namespace STEEPEST_TARGET
}  // namespace steepest
