// Element-wise gradient clipping, in place (steepest.optim.clip_grad_norm_ / clip_grad_value_;
// the norms are reduce.h's). Compiled once per SIMD target.
#pragma once

#include <cstdint>

namespace steepest {

// x[i] = factor * x[i] over [begin, end).
template <class T>
using ScaleKernel = void (*)(T* x, int64_t begin, int64_t end, T factor);

// x[i] = min(max(x[i], -bound), bound) over [begin, end); a NaN stays NaN (torch.clamp_).
template <class T>
using ClampKernel = void (*)(T* x, int64_t begin, int64_t end, T bound);

}  // namespace steepest
