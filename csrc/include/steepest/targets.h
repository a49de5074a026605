// SIMD targets: every kernel source is compiled once per target into namespace
// steepest::<target>, and each target exports one KernelTable. The runtime picks the best table
// the CPU supports at import (or the one STEEPEST_SIMD names).
#pragma once

#include <string>
#include <vector>

#include "steepest/nn/activations.h"
#include "steepest/nn/conv1d.h"
#include "steepest/nn/dense.h"
#include "steepest/nn/dropout.h"
#include "steepest/nn/gemm.h"
#include "steepest/nn/layernorm.h"
#include "steepest/nn/losses.h"
#include "steepest/optim.h"

namespace steepest {

// Reads `reads` arrays over [begin, end) and writes the first `writes` back in place: the memory
// traffic of a step with that pattern, and no more (csrc/bench/pattern.cc).
template <class T>
using PatternKernel = void (*)(T* const* arrays, int reads, int writes, int64_t begin,
                               int64_t end);

template <class T>
struct Kernels {
  SgdKernel<T> sgd;
  AdamKernel<T> adam;
  RmspropKernel<T> rmsprop;
  AdagradKernel<T> adagrad;
  AdadeltaKernel<T> adadelta;
  AdamaxKernel<T> adamax;
  NadamKernel<T> nadam;
  RadamKernel<T> radam;
  RpropKernel<T> rprop;
  AsgdKernel<T> asgd;
  LionKernel<T> lion;
  LambMomentsKernel<T> lamb_moments;
  LambApplyKernel<T> lamb_apply;
  SumSquaresKernel<T> sum_squares;
  NormPartialKernel<T> norm_partial;
  NonfiniteKernel<T> nonfinite;
  ScaleKernel<T> scale;
  ClampKernel<T> clamp_abs;
  AdafactorKernels<T> adafactor;
  PatternKernel<T> pattern;
  GemmKernel<T> gemm;
  DenseForwardKernel<T> dense_forward;
  DenseBackwardKernel<T> dense_backward;
  ActivationForwardKernel<T> activation_forward;
  ActivationBackwardKernel<T> activation_backward;
  ApproxKernel<T> approx;
  LossKernel<T> loss;
  DropoutKernel<T> dropout;
  LayerNormForwardKernel<T> layernorm_forward;
  LayerNormBackwardKernel<T> layernorm_backward;
  Conv1dForwardKernel<T> conv1d_forward;
  Conv1dBackwardKernel<T> conv1d_backward;
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

// Targets compiled into this build, lowest first, and those this CPU can run.
std::vector<std::string> compiled_targets();
std::vector<std::string> supported_targets();
// Selects a target by name; throws std::invalid_argument naming the choices when the name is
// unknown or the CPU cannot run it.
void select_target(const std::string& name);

}  // namespace steepest
