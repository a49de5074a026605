// The block driver of 16-bit storage (steepest/optim/precision.h): any one-pass rule's float32
// kernel, unchanged, over tensors whose params, grads or state are stored in 16 bits (and LAMB's
// and LARS's passes: driver_norms.cc). Each block of kBlock elements is widened into float32
// scratch on the stack (L1-resident), the rule's kernel runs on the block (indices 0..len of a
// StepTensor<float> pointing at the scratch, or at the real float32 arrays), and what it wrote is
// narrowed back. Memory sees the 16-bit bytes only; the conversions are vectorized per target
// (csrc/optim/convert.cc) and the calls cost a few per block. Element-wise, so any cut of a tensor
// into chunks and blocks gives the same bits, stochastic rounding included (its draws depend on the
// element's index).
//
// Modes, per tensor:
//   state_as bf16/f16:    every state array of the rule is bfloat16 or float16 (rounded to
//                         nearest even);
//   state_as q8:          every state array is blockwise 8-bit (a block of the driver is
//                         whole blocks of the quantization: ranges begin at multiples of
//                         kBlock, a multiple of kQuantBlock);
//   param_as bf16/f16:    params and grads in 16 bits; with `master` (a float32 copy of the
//                         params, in the state) the kernel updates the master in place and the
//                         param is the master rounded to nearest even; without, the param is
//                         widened, updated and rounded back (nearest, or stochastically).
// Built once (not per SIMD target): it calls the active target's kernels (targets.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../runtime/parallel.h"
#include "steepest/targets.h"

namespace steepest {

// One tensor of a step with some array stored in 16 bits.
struct LowTensor {
  void* param;                // param_as
  const void* grad;           // param_as
  Storage param_as;
  void* state[kMaxStates];    // state_as; null where the rule does not use the state
  Storage state_as;
  float* absmax[kMaxStates];  // state_as q8: the blocks' absmax (the bytes are at state[i])
  unsigned signed_states;     // state_as q8: bit i set when state i takes the signed map
  float* master;              // the float32 master copy of a 16-bit param, or null
  bool master_fresh;          // the master was created for this step: set it from the param first
  int64_t step;
  bool fresh;                 // the rule's state was created for this step (StepTensor::fresh)
  Rounding rounding;          // of the param, when it has no master
  uint32_t key;               // stochastic_key(seed, step, k), for stochastic rounding

  // The param has a master copy (master is still null while a new one waits to be created).
  bool has_master() const { return master || master_fresh; }
  // The param is narrowed stochastically, by the draws of `key`.
  bool stochastic() const { return !has_master() && rounding == Rounding::stochastic; }
};

// The 16-bit tensors of one step, with their per-tensor scalars.
template <class Scalars>
struct LowBatch {
  static constexpr int64_t kBlock = 512;
  static_assert(kBlock % kQuantBlock == 0, "a block of the driver is whole blocks of 8-bit state");
  struct Item {
    LowTensor tensor;
    Scalars scalars;
  };
  std::vector<Item> items;
  std::vector<int64_t> sizes;
  std::vector<int> ndims;  // the params' dimensions (LARS treats 1-d tensors apart)
  int64_t parallel_min = 0;

  // One pass of the rule's float32 `kernel` over every element of every item.
  template <class Kernel>
  void run(Kernel kernel) const {
    if (items.empty()) return;
    for_each_range(
        sizes,
        [&](int64_t t, int64_t begin, int64_t end) {
          const Item& item = items[size_t(t)];
          for (int64_t b = begin; b < end; b += kBlock)
            block(kernel, item.tensor, item.scalars, b, std::min(end, b + kBlock));
        },
        parallel_min, kBlock);
  }

  // Elements [b, e) of tensor t: widen, step, narrow.
  template <class Kernel>
  static void block(Kernel kernel, const LowTensor& t, const Scalars& s, int64_t b, int64_t e) {
    Widened w;
    w.widen(t, b, e, States::in_place);
    kernel(w.block, s, 0, e - b);
    w.narrow(t, b, e);
  }

  // Elements [b, e) of tensor t widened, its state arrays copied (with_state) or left out
  // (null): kernel(block, s, 0, e - b) reads them and may write the copies, which are dropped;
  // it must not write the param (a float32 param or master copy is the array itself). The first
  // pass of a two-pass rule (LAMB's moments and norms, LARS's norms): the second computes the
  // same state again from the same stored values. (A fresh master copy is set from the param
  // here already, as block() would.)
  template <class Kernel>
  static void read(Kernel kernel, const LowTensor& t, const Scalars& s, int64_t b, int64_t e,
                   bool with_state) {
    Widened w;
    w.widen(t, b, e, with_state ? States::copied : States::none);
    kernel(w.block, s, 0, e - b);
  }

 private:
  // How a block's float32 state arrays are given to the kernel: the arrays themselves, copies,
  // or not at all (every state pointer null).
  enum class States { in_place, copied, none };

  // A block's arrays in float32: scratch on the stack (L1-resident), or the float32 arrays
  // themselves.
  struct Widened {
    alignas(64) float param[kBlock], grad[kBlock], state[kMaxStates][kBlock];
    StepTensor<float> block;

    void widen(const LowTensor& t, int64_t b, int64_t e, States states) {
      const Kernels<float>& k = kernels<float>();
      const int64_t n = e - b;
      block = StepTensor<float>{nullptr, nullptr, {}, t.step, t.fresh};
      const auto bits = [b](const void* a) { return static_cast<const uint16_t*>(a) + b; };
      if (t.param_as == Storage::f32) {
        block.param = static_cast<float*>(t.param) + b;
        block.grad = static_cast<const float*>(t.grad) + b;
      } else {
        k.widen(t.param_as, bits(t.grad), grad, n);
        block.grad = grad;
        if (t.master) {
          block.param = t.master + b;
          if (t.master_fresh) k.widen(t.param_as, bits(t.param), block.param, n);
        } else {
          k.widen(t.param_as, bits(t.param), param, n);
          block.param = param;
        }
      }
      for (int i = 0; i < kMaxStates && states != States::none; ++i) {
        if (!t.state[i]) continue;
        if (t.state_as == Storage::f32) {
          float* x = static_cast<float*>(t.state[i]) + b;
          if (states == States::copied) std::copy(x, x + n, state[i]);
          block.state[i] = states == States::copied ? state[i] : x;
        } else if (t.state_as == Storage::q8) {
          k.dequantize(codes(t.state[i], b), t.absmax[i] + b / kQuantBlock, is_signed(t, i),
                       state[i], n);
          block.state[i] = state[i];
        } else {
          k.widen(t.state_as, bits(t.state[i]), state[i], n);
          block.state[i] = state[i];
        }
      }
    }

    // What the kernel wrote back to t's storage: 16-bit and 8-bit state, 16-bit params.
    void narrow(const LowTensor& t, int64_t b, int64_t e) {
      const Kernels<float>& k = kernels<float>();
      const int64_t n = e - b;
      for (int i = 0; i < kMaxStates; ++i) {
        if (!t.state[i] || t.state_as == Storage::f32) continue;
        if (t.state_as == Storage::q8)
          k.quantize(state[i], n, is_signed(t, i), codes(t.state[i], b),
                     t.absmax[i] + b / kQuantBlock);
        else
          k.narrow(t.state_as, state[i], static_cast<uint16_t*>(t.state[i]) + b, n, nullptr);
      }
      if (t.param_as != Storage::f32) {
        const Stochastic draw{t.key, b};
        k.narrow(t.param_as, block.param, static_cast<uint16_t*>(t.param) + b, n,
                 t.stochastic() ? &draw : nullptr);
      }
    }

    static uint8_t* codes(void* a, int64_t b) { return static_cast<uint8_t*>(a) + b; }
    static bool is_signed(const LowTensor& t, int i) { return ((t.signed_states >> i) & 1u) != 0; }
  };
};

}  // namespace steepest
