// Matrix product for the dense layers: C = op(A) · op(B) (+ C) (+ bias), then an activation.
// Row-major throughout. Shapes: op(A) (M, K), op(B) (K, N), C (M, N), bias (N).
//   forward   Y (B, out)  = X (B, in) · W^T (in, out) + b      W stored (out, in), like torch
//   backward  dX (B, in)  = dY (B, out) · W (out, in)
//             dW (out, in) += dY^T (out, B) · X (B, in)
// op(A) or op(B) may also be a Shifted matrix: a convolution's input read in place (conv1d.h).
#pragma once

#include <cstdint>

namespace steepest {

// Applied to every element of C after the bias, inside the product (the layer's epilogue).
// relu: v < 0 ? 0 : v, which keeps a NaN (torch.relu).
enum class Activation : int { none = 0, relu = 1 };

// The matrix of a convolution's shifted views ("implicit im2col"), read from src in place:
// rows r = b * steps + t (b < batch), columns q = k * width + c (tap k < taps, channel c < width),
//   element (r, q) = src[(b * length + u / divisor) * width + c],  u = t * step + k * tap_step + offset,
// and 0 (padding) where u is not a multiple of divisor or u / divisor is outside [0, length).
// src is (batch, length, width). The GEMM packs its blocks straight from src: nothing of the size
// of the matrix is ever written.
template <class T>
struct Shifted {
  const T* src;
  int64_t steps, length, width;
  int64_t step, tap_step, offset, divisor;  // divisor >= 1
};

template <class T>
struct Gemm {
  int64_t m, n, k;
  const T* a;       // op(A): A is (M, K) with row stride lda, or (K, M) when trans_a
  int64_t lda;
  bool trans_a;
  const T* b;       // op(B): B is (K, N) with row stride ldb, or (N, K) when trans_b
  int64_t ldb;
  bool trans_b;
  T* c;             // (M, N) with row stride ldc; must not overlap A, B or bias
  int64_t ldc;
  bool accumulate;  // C += op(A)·op(B) instead of C = op(A)·op(B)
  const T* bias;    // (N) or null
  Activation activation;
  // (M, N) with row stride ldc, or null: C = mask <= 0 ? 0 : C last, relu's backward fused
  // into the product that computes its incoming gradient (mask: the relu's output; a NaN
  // keeps C, as torch's relu backward)
  const T* mask = nullptr;
  // If not null, op(A) (M, K) is this Shifted matrix (a, lda and trans_a are ignored).
  const Shifted<T>* shifted_a = nullptr;
  // If not null, op(B) (K, N) is this Shifted matrix (b, ldb and trans_b are ignored).
  const Shifted<T>* shifted_b = nullptr;
  // If not null, op(B) packed by gemm_pack_b (nn/gemm_calls.h) of a product of the same k and
  // n (n at most gemm_packed_max_n): a recurrent layer's step products reuse their packed
  // weights every step. b, ldb and trans_b must still describe op(B) (the thin paths read it).
  const T* packed_b = nullptr;
};

// Runs on up to get_num_threads() threads; the result is bitwise the same for any thread count
// (each element of C is summed over K in one fixed order).
template <class T>
using GemmKernel = void (*)(const Gemm<T>&);

}  // namespace steepest
