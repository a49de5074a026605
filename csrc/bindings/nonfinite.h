// The non-finite guard of a step (optimizers' `nonfinite=` policy): after every input check and
// before anything is written, one threaded pass over the step's gradients finds the first
// grads[k] holding a NaN or an infinity.
//   propagate: no pass; the update runs and NaN/Inf flow into the parameters (torch's behaviour)
//   skip:      the step changes nothing (its caller reports it skipped)
//   raise:     FloatingPointError naming grads[k]; nothing changed
#pragma once

#include <cstdint>
#include <vector>

#include "check.h"

namespace steepest {
namespace bind {

enum class Nonfinite { propagate = 0, skip = 1, raise = 2 };

// The policy from its code (Python passes 0, 1, 2); throws ValueError otherwise.
Nonfinite nonfinite_policy(int code);

// A gradient of the step, and its flat index k (for the message).
struct GradRef {
  const void* data;
  int64_t size;
  Dtype dtype;
  size_t k;
};

// For skip and raise: scans `grads` (in parameter order) with the GIL released. Returns true
// when the step must be skipped (policy skip, a non-finite value found); throws
// FloatingPointError (policy raise). Returns false without a pass for propagate.
bool skip_nonfinite(const std::vector<GradRef>& grads, Nonfinite policy);

}  // namespace bind
}  // namespace steepest
