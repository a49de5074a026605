// Inverted dropout: y_i = x_i · (keep_i ? 1 / (1 - p) : 0) (torch's form: a dropped NaN or inf
// gives NaN). keep_i depends only on (seed, i): a
// counter-based hash (dropout.cc), so the mask is the same for any thread count and SIMD target
// and the backward (the same kernel on dy) regenerates it instead of storing it.
#pragma once

#include <cstdint>

namespace steepest {

template <class T>
struct Dropout {
  T* y;
  const T* x;
  uint64_t seed;
  uint32_t threshold;  // keep_i = hash24(seed, i) >= threshold; threshold = round(p · 2^24)
  T scale;             // 1 / (1 - p), 0 when p == 1
};

template <class T>
using DropoutKernel = void (*)(const Dropout<T>&, int64_t, int64_t);

}  // namespace steepest
