// What a fused one-pass rule declares besides its equations: one struct in its header (no
// pybind11), which bindings/step.h's gather_step and rule_step read. A rule whose header also
// has a line
//   // rule: <name> <Struct>
// needs no other C++ file: CMakeLists.txt reads these lines into the generated steepest/rules.h,
// which gives the rule its kernel source (csrc/optim/<name>.cc, ending in
// STEEPEST_KERNEL_ENTRY(<name>)), its field in the kernel tables (targets.h) and its binding
// (<name>_step, check_<name>, _core.rules[name]: bindings/optim.cpp).
//
// The struct provides: Hyper (STEEPEST_HYPER_STRUCT), Scalars<T>, Kernel<T>, kStates,
// kStateKeys (in the order of StepTensor::state), kCountsSteps, kZeroState (new state is zeroed,
// or left for the kernel to set because `fresh` tells it), kScalarStates, check(hyper) (throws
// std::invalid_argument, torch.optim's words), uses_state(hyper, i), parallel_min(hyper) and
// scalars<T>(hyper, step, scalar_state) (bindings/step.h says more). It derives from
// RuleDefaults<Hyper, Scalars> (below), which gives the first three and the common values of
// the rest, and restates only what differs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "steepest/optim/tensor.h"

namespace steepest {

// A step's parallel_min: below this many elements one thread does all the work. Entering a
// parallel region costs about as much as a worker's round trip between cores, so a second
// thread pays off only once one thread's share of the work takes longer than that: the lighter
// the work per element, the more elements it takes. Each update rule names its threshold
// (Rule::parallel_min): kParallelMinElements for rules with a square root or a division per
// element, kParallelMinLight for lighter ones, kParallelMinBare for a bare p -= lr g
// (benchmarks/parallel_threshold.py measures them); element-wise nn kernels and clipping use
// kParallelMinElements.
constexpr int64_t kParallelMinElements = int64_t(1) << 14;
constexpr int64_t kParallelMinLight = int64_t(1) << 15;
constexpr int64_t kParallelMinBare = int64_t(1) << 16;

// Throws std::invalid_argument (ValueError) "<what>: <value>", value as Python's repr gives it
// (torch.optim's wording), unless ok. Defined with the bindings (bindings/step.cpp).
void require(bool ok, const char* what, double value);
// The same for a pair: "<what>: <a>, <b>" (Rprop's "Invalid eta values: 0.5, 1.2").
void require(bool ok, const char* what, double a, double b);
inline bool finite_nonnegative(double x) { return 0.0 <= x && x < 1.0 / 0.0; }
inline bool in_unit_interval(double x) { return 0.0 <= x && x < 1.0; }
// The checks every Adam-family rule shares, in torch.optim's order and wording: lr, eps,
// betas in [0, 1), weight_decay.
template <class Hyper>
void check_adam_family(const Hyper& h) {
  require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
  require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
  require(in_unit_interval(h.beta1), "Invalid beta parameter at index 0", h.beta1);
  require(in_unit_interval(h.beta2), "Invalid beta parameter at index 1", h.beta2);
  require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
}

// A rule's Hyper, Scalars<T> and Kernel<T> from its hyperparameter struct and scalars template,
// and the common case of its declarations: it counts steps, its new state starts at zero, it
// keeps no per-tensor scalar state, every state is in use, and its work per element has a
// square root or a division.
template <class H, template <class> class S>
struct RuleDefaults {
  using Hyper = H;
  template <class T>
  using Scalars = S<T>;
  template <class T>
  using Kernel = RuleKernel<T, S<T>>;

  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 0;
  // Blockwise 8-bit state (state_dtype="int8", csrc/optim/precision.h): whether the rule takes
  // it, and the bits of its states that are never negative (second moments: the unsigned map;
  // the others take the signed map).
  static constexpr bool kTakesInt8 = false;
  static constexpr unsigned kNonNegativeStates = 0;
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinElements; }
};

}  // namespace steepest
