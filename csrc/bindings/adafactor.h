// Adafactor's checks and gather (adafactor.cpp); its rule is in optim.cpp, its driver in
// csrc/optim/driver_adafactor.cc.
#pragma once

#include <pybind11/pybind11.h>

#include "../optim/driver.h"
#include "nonfinite.h"

namespace steepest {
namespace bind {

// The checked tensors of one step, by dtype, and the number of state arrays created (kSkipped
// for a skipped step).
struct AdafactorGathered {
  AdafactorStep<float> f32;
  AdafactorStep<double> f64;
  int created = 0;
};

// torch.optim.Adafactor's checks and messages.
void check_adafactor(const AdafactorHyper& h);

// As gather_step (step.h) for Adafactor: checks every array of every group, creating missing
// state (row_var (..., R, 1) and col_var (..., 1, C) for 2+ dims, variance for fewer), applies
// the non-finite guard, prepares the driver (allocating its scratch) and advances the step
// counts; with the GIL held, and throwing before any array is touched.
AdafactorGathered gather_adafactor(py::list groups, py::list grads, Nonfinite policy,
                                   StepCache* cache);

}  // namespace bind
}  // namespace steepest
