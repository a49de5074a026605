// SIMD targets: every kernel source is compiled once per target into namespace
// steepest::<target>, and each target exports one KernelTable. The runtime picks the best table
// the CPU supports at import (or the one STEEPEST_SIMD names).
#pragma once

#include <string>
#include <vector>

#include "steepest/nn/activations.h"
#include "steepest/nn/attention.h"
#include "steepest/nn/conv1d.h"
#include "steepest/nn/dense.h"
#include "steepest/nn/dropout.h"
#include "steepest/nn/gemm.h"
#include "steepest/nn/gru.h"
#include "steepest/nn/layernorm.h"
#include "steepest/nn/losses.h"
#include "steepest/nn/lstm.h"
#include "steepest/optim.h"
#include "steepest/rules.h"  // generated: the rules listed by their headers (optim/rule.h)

namespace steepest {

// Reads `reads` arrays over [begin, end) and writes the first `writes` back in place: the memory
// traffic of a step with that pattern, and no more (csrc/bench/pattern.cc).
template <class T>
using PatternKernel = void (*)(T* const* arrays, int reads, int writes, int64_t begin,
                               int64_t end);

// Every kernel a SIMD target compiles: X(name, pointer type), the rules listed by their headers
// (steepest/optim/rule.h) first. The one list from which come the
// fields of Kernels<T>, the entries each kernel's source defines (STEEPEST_KERNEL_ENTRY) and
// each target's table (runtime/dispatch.cc), all by name: a kernel cannot land in another's
// field, even one of the same type (scale and clamp_abs).
#define STEEPEST_KERNELS(X)                               \
  STEEPEST_HEADER_RULE_KERNELS(X)                         \
  X(lamb_moments, LambMomentsKernel)                      \
  X(lamb_apply, LambApplyKernel)                          \
  X(adafactor_sums, AdafactorSumsKernel)                  \
  X(adafactor_finish_batch, AdafactorBatchKernel)         \
  X(adafactor_norm, AdafactorNormKernel)                  \
  X(adafactor_apply, AdafactorApplyKernel)                \
  X(sum_squares, SumSquaresKernel)                        \
  X(norm_partial, NormPartialKernel)                      \
  X(nonfinite, NonfiniteKernel)                           \
  X(scale, ScaleKernel)                                   \
  X(clamp_abs, ClampKernel)                               \
  X(pattern, PatternKernel)                               \
  X(gemm, GemmKernel)                                     \
  X(dense_forward, DenseForwardKernel)                    \
  X(dense_backward, DenseBackwardKernel)                  \
  X(activation_forward, ActivationForwardKernel)          \
  X(activation_backward, ActivationBackwardKernel)        \
  X(approx, ApproxKernel)                                 \
  X(loss, LossKernel)                                     \
  X(dropout, DropoutKernel)                               \
  X(layernorm_forward, LayerNormForwardKernel)            \
  X(layernorm_backward, LayerNormBackwardKernel)          \
  X(conv1d_forward, Conv1dForwardKernel)                  \
  X(conv1d_backward, Conv1dBackwardKernel)                \
  X(attention_forward, AttentionForwardKernel)            \
  X(attention_backward, AttentionBackwardKernel)          \
  X(lstm_forward, LstmForwardKernel)                      \
  X(lstm_backward, LstmBackwardKernel)                    \
  X(gru_forward, GruForwardKernel)                        \
  X(gru_backward, GruBackwardKernel)                      \
  X(widen, WidenKernel)                                   \
  X(narrow, NarrowKernel)                                 \
  X(quantize, QuantizeKernel)                             \
  X(dequantize, DequantizeKernel)                         \
  X(conversions, ConversionsKernel)

template <class T>
struct Kernels {
#define STEEPEST_KERNEL_FIELD(name, Type) Type<T> name;
  STEEPEST_KERNELS(STEEPEST_KERNEL_FIELD)
#undef STEEPEST_KERNEL_FIELD
};

struct KernelTable {
  const char* name;
  Kernels<float> f32;
  Kernels<double> f64;
};

// The table in use; selected at import.
const KernelTable& active_kernels();
template <class T>
const Kernels<T>& kernels();
template <>
inline const Kernels<float>& kernels<float>() { return active_kernels().f32; }
template <>
inline const Kernels<double>& kernels<double>() { return active_kernels().f64; }

// Whether the CPU has AVX-512 BF16 besides the avx512 target's features: that target's
// bfloat16 narrowing then uses vcvtneps2bf16 (csrc/optim/convert.cc).
bool cpu_has_avx512_bf16();
// Whether the CPU has AVX-512 VBMI besides the avx512 target's features: that target's 8-bit
// state then restores by byte permutes (csrc/optim/quantize.cc). allow_avx512_vbmi(false)
// makes it answer false (tests: the other way on the same CPU).
bool cpu_has_avx512_vbmi();
void allow_avx512_vbmi(bool allowed);

// Targets compiled into this build, lowest first, and those this CPU can run.
std::vector<std::string> compiled_targets();
std::vector<std::string> supported_targets();
// Selects a target by name; throws std::invalid_argument naming the choices when the name is
// unknown or the CPU cannot run it.
void select_target(const std::string& name);

#ifdef STEEPEST_TARGET
// In the sources compiled per target: STEEPEST_KERNEL_ENTRY(name) defines the kernel's entries
// in this target's table, <name>_f32 and <name>_f64 (it instantiates the kernel, and fails to
// compile unless the kernel has its field's type); runtime/dispatch.cc builds the tables from
// them.
#define STEEPEST_KERNEL_ENTRY(name)                                       \
  extern const decltype(Kernels<float>::name) name##_f32 = &name<float>; \
  extern const decltype(Kernels<double>::name) name##_f64 = &name<double>;
#endif

}  // namespace steepest
