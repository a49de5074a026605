// Scaled dot-product self-attention over the heads of a packed Q, K, V projection
// (torch.nn.MultiheadAttention's core; the projections are dense products around it).
// Shapes: B batch, T steps, H heads of d features each, E = H d;
//   qkv (B, T, 3E): row (b, t) holds q | k | v, head h's in columns h d, E + h d, 2E + h d
//   probs, dropped (B, H, T, T), out (B, T, E) (head h's in columns h d).
// Per (b, h), with Q, K, V (T, d) strided views of qkv (row stride 3E, no copies):
//   forward   S = Q K^T                                              (T, T)
//             P[i, j] = exp(c (S[i, j] - m_i)) / sum_j' exp(c (S[i, j'] - m_i)),  c = 1/sqrt(d),
//                       m_i = max_j S[i, j], over j <= i when causal (P[i, j > i] = 0)
//             Pd = dropout(P) (the Dropout kernel's counter-based mask, element index
//                  ((b H + h) T + i) T + j of probs; Pd = P without dropout)
//             O = Pd V                                                (T, d)
//   backward  dV = Pd^T dO,  dPd = dO V^T,
//             dS[i, j] = c (Pd[i, j] dPd[i, j] - P[i, j] r_i),  r_i = sum_j Pd[i, j] dPd[i, j]
//             (= c P (dP - rowsum(dP P)) with dP = dPd's gradient through the mask),
//             dQ = dS K,  dK = dS^T Q,  written into dqkv.
// Each product runs on one thread in register blocks (csrc/nn/attention.cc), every element one
// chain of multiply-adds in ascending order; when causal, the terms above the diagonal (zeros)
// are skipped. The (b, h) problems are independent, so the pool's chunks (runs of them) give
// results bitwise the same for any thread count.
#pragma once

#include <cstdint>

namespace steepest {

struct AttentionShape {
  int64_t batch, steps, heads, head_dim;
  bool causal;  // position i attends to j <= i only
  int64_t embed() const { return heads * head_dim; }
};

template <class T>
struct AttentionForward {
  T* out;
  T* probs;
  T* dropped;    // or null: no dropout
  const T* qkv;
  AttentionShape shape;
  uint64_t seed;       // dropout (as steepest/nn/dropout.h), used when dropped is not null
  uint32_t threshold;
  T keep_scale;
};

template <class T>
struct AttentionBackward {
  T* dqkv;             // (B, T, 3E) written
  const T* dout;       // (B, T, E)
  const T* qkv;
  const T* probs;
  const T* dropped;    // or null (the forward had no dropout)
  AttentionShape shape;  // (causal is not read: P and Pd are 0 above the diagonal already)
};

// May throw std::bad_alloc (scratch) before anything is written.
template <class T>
using AttentionForwardKernel = void (*)(const AttentionForward<T>&);
template <class T>
using AttentionBackwardKernel = void (*)(const AttentionBackward<T>&);

}  // namespace steepest
