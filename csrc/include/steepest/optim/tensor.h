// What an update kernel gets for one tensor. A step of a rule over its tensors is two layers:
//   1. per tensor, the scalars that do not depend on the element (bias corrections, lr x decay)
//      are computed once, in double, from the hyperparameters and the tensor's step count
//      (each rule's `scalars<T>(hyper, step)`);
//   2. a kernel compiled once per SIMD target makes one fused pass over [begin, end) of it.
// No pybind11 here: these headers are shared by the kernels and the binding.
#pragma once

#include <cstdint>

namespace steepest {

constexpr int kMaxStates = 4;

template <class T>
struct StepTensor {
  T* param;
  const T* grad;
  T* state[kMaxStates];  // the rule's state arrays, in the order of its state keys; null if unused
  int64_t step;          // the step being taken: 1 on the first
  bool fresh;            // the state was created for this step (SGD: the buffer starts as g)
};

template <class T, class Scalars>
using RuleKernel = void (*)(const StepTensor<T>& t, const Scalars& s, int64_t begin, int64_t end);

}  // namespace steepest
