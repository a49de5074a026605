// One layer of a long short-term memory network (Hochreiter & Schmidhuber 1997) over a whole
// sequence, torch.nn.LSTM's equations, parameter layouts and gate order i, f, g, o.
// Shapes: x (B, T, F), y (B, T, H), weight_ih (4H, F), weight_hh (4H, H), bias_ih, bias_hh (4H),
// h0, c0 (B, H) (zeros when null). Per step t, h_{-1} = h0, c_{-1} = c0:
//   z_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh                        (B, 4H) = [zi zf zg zo]
//   i = σ(zi), f = σ(zf), g = tanh(zg), o = σ(zo)
//   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t),  y[:, t] = h_t
// Forward, as GEMMs (gemm.h):
//   Z (B T, 4H) = X (B T, F) · W_ih^T + (b_ih + b_hh)         all T steps' input projection at once
//   per step: Z_t (B, 4H) += h_{t-1} (B, H) · W_hh^T            Z_t, h_{t-1}: strided rows of Z, y
//             then the gates and the cell update on the (B, 4H) block just written (a second pass
//             over it while it is in L1), gates saved post-activation in place of Z_t.
// Backward through time (dy (B, T, H) the gradient of y; the final states' gradients are zero),
// t = T-1 .. 0, dh_T = dc_T = 0:
//   dh = dy[:, t] + dh_{t+1}  (dh_{t+1} = dZ_{t+1} W_hh, from the step before)
//   do = dh tanh(c_t),  dc = dc_{t+1} + dh o (1 - tanh²(c_t))
//   di = dc g,  df = dc c_{t-1},  dg = dc i,  dc_t := dc f        (the dc the step t-1 receives)
//   dZ_t = [di i(1-i), df f(1-f), dg (1-g²), do o(1-o)]           written to dgates (B, T, 4H)
//   dh_t := dZ_t (B, 4H) · W_hh (4H, H)                            one small GEMM per step
// then over all steps at once:
//   dW_ih (4H, F) (+)= dZ^T (4H, B T) · X (B T, F)
//   dW_hh (4H, H) (+)= dZ^T (4H, B T) · H_prev (B T, H),  H_prev[(b, t)] = h_{t-1} (a Shifted y)
//   dX (B T, F) = dZ (B T, 4H) · W_ih (4H, F)                      (skipped if dx is null)
//   db_ih = db_hh (+)= the sum of dZ's B T rows, in row order
// Written instead of accumulated (accumulate false) is bitwise the same as accumulated into +0.
#pragma once

#include <cstdint>

namespace steepest {

struct LstmShape {
  int64_t batch, steps, in, hidden;
};

template <class T>
struct LstmForward {
  T* y;                 // (B, T, H): h_t
  T* c;                 // (B, T, H): c_t
  T* gates;             // (B, T, 4H): i, f, g, o after their activations (what backward reads)
  const T* x;           // (B, T, F)
  const T* h0;          // (B, H) or null
  const T* c0;          // (B, H) or null
  const T* weight_ih;   // (4H, F)
  const T* weight_hh;   // (4H, H)
  const T* bias_ih;     // (4H) or null
  const T* bias_hh;     // (4H) or null
  LstmShape shape;
};

template <class T>
struct LstmBackward {
  T* dx;                // (B, T, F) or null
  T* dweight_ih;        // (4H, F)
  T* dweight_hh;        // (4H, H)
  T* dbias_ih;          // (4H) or null
  T* dbias_hh;          // (4H) or null
  T* dgates;            // (B, T, 4H) workspace: dZ
  const T* dy;          // (B, T, H)
  const T* x;           // (B, T, F)
  const T* h0;          // (B, H) or null
  const T* c0;          // (B, H) or null
  const T* y;           // (B, T, H), c (B, T, H), gates (B, T, 4H): the forward's
  const T* c;
  const T* gates;
  const T* weight_ih;
  const T* weight_hh;
  LstmShape shape;
  bool accumulate;      // into dweight_* and dbias_*, else they are written
};

// Bitwise the same for any thread count (the gemm's guarantee; the rest runs on one thread in a
// fixed order). May throw std::bad_alloc (the kernel's own arrays, allocated first, or a GEMM's
// packing space when it grows): then the written arrays are unspecified, the others untouched.
template <class T>
using LstmForwardKernel = void (*)(const LstmForward<T>&);
template <class T>
using LstmBackwardKernel = void (*)(const LstmBackward<T>&);

}  // namespace steepest
