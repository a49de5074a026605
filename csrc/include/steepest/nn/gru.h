// One layer of a gated recurrent unit over a whole sequence, torch.nn.GRU's equations, layouts and
// gate order (r, z, n). Shapes: x (B, T, F), h0 and every h_t (B, H), weight_ih (3H, F),
// weight_hh (3H, H), bias_ih and bias_hh (3H); rows of the weights and biases are the gates r, z,
// n in that order (W_ir = weight_ih[0:H], W_iz = weight_ih[H:2H], W_in = weight_ih[2H:3H]).
//   r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
//   z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
//   n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
//   h_t = (1 - z_t) * n_t + z_t * h_{t-1}
// forward   y[:, t] = h_t (y (B, T, H)), h0 zeros if null. Saves gates (B, T, 4H): per step
//           [r, z, n, W_hn h_{t-1} + b_hn], what backward needs besides x, h0 and y.
//           Input projection of all steps: one GEMM  G (B T, 3H) = X (B T, F) · W_ih^T + b_ih,
//           written into the first 3H columns of gates; then per step the recurrent product
//           S (B, 3H) = h_{t-1} · W_hh^T + b_hh and the gates on it, its rows still in cache.
// backward  from dy (B, T, H) (dL/dh_t of the sequence output; the final state is y[:, T-1]),
//           backwards through time with dh = dy[:, t] + (dL/dh_t from step t + 1):
//             dn = dh (1 - z)              da_n = dn (1 - n^2)      (a_n: tanh's argument)
//             dz = dh (h_{t-1} - n)        da_z = dz z (1 - z)
//             dr = da_n (W_hn h + b_hn)    da_r = dr r (1 - r)
//             dgates_ih[:, t] = [da_r, da_z, da_n]        (dL/d of W_i* x_t + b_i*)
//             dgates_hh[:, t] = [da_r, da_z, da_n r]      (dL/d of W_h* h_{t-1} + b_h*)
//             dL/dh_{t-1} = dh z + dgates_hh[:, t] · W_hh      (a small GEMM per step)
//           then over all steps at once:
//             dx (B T, F)         = dgates_ih (B T, 3H) · W_ih         (written; if not null)
//             dweight_ih (3H, F) += dgates_ih^T · X (B T, F)
//             dweight_hh (3H, H) += dgates_hh^T · H_prev (B T, H),  H_prev[(b, t)] = h_{t-1}
//                                   (y shifted by one step in place, h0 at t = 0)
//             dbias_ih += column sums of dgates_ih, dbias_hh of dgates_hh (rows in order;
//                         r and z: the same sums)
//             dh0 = dL/dh_0 (written; if not null)
//           Weight and bias gradients accumulated, or written (accumulate false: bitwise as if
//           accumulated into +0). dgates_ih and dgates_hh are written (scratch the caller owns,
//           also the gate gradients themselves).
#pragma once

#include <cstdint>

namespace steepest {

struct GruShape {
  int64_t batch, steps, in, hidden;
};

template <class T>
struct GruForward {
  T* y;                // (B, T, H)
  T* gates;            // (B, T, 4H)
  const T* x;          // (B, T, F)
  const T* h0;         // (B, H) or null (zeros)
  const T* weight_ih;  // (3H, F)
  const T* weight_hh;  // (3H, H)
  const T* bias_ih;    // (3H) or null
  const T* bias_hh;    // (3H) or null
  GruShape shape;
};

template <class T>
struct GruBackward {
  T* dx;          // (B, T, F) or null
  T* dh0;         // (B, H) or null
  T* dweight_ih;  // (3H, F)
  T* dweight_hh;  // (3H, H)
  T* dbias_ih;    // (3H) or null
  T* dbias_hh;    // (3H) or null
  T* dgates_ih;   // (B, T, 3H)
  T* dgates_hh;   // (B, T, 3H)
  const T* dy;    // (B, T, H)
  const T* x;     // (B, T, F)
  const T* h0;    // (B, H) or null (zeros)
  const T* y;     // (B, T, H) and gates (B, T, 4H): the forward's
  const T* gates;
  const T* weight_ih;
  const T* weight_hh;
  GruShape shape;
  bool accumulate;  // into the weight and bias gradients, else they are written
};

// Bitwise the same for any thread count (the gemm's guarantee; the element-wise passes and the
// bias sums run in a fixed order). May throw std::bad_alloc (the per-step buffers) before
// anything is written.
template <class T>
using GruForwardKernel = void (*)(const GruForward<T>&);
template <class T>
using GruBackwardKernel = void (*)(const GruBackward<T>&);

}  // namespace steepest
