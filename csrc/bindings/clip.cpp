// Gradient clipping (steepest.optim.clip_grad_norm_ / clip_grad_value_): one call over every
// gradient. Every array is checked first, with the GIL held; then, with it released, the
// passes of csrc/optim/driver_clip.cc: the norm and the in-place scale or clamp.
//
//   clip_grad_norm(grads, max_norm, norm_type, error_if_nonfinite) -> total norm
//   clip_grad_value(grads, clip_value)
//   grads: float32/float64 C-contiguous writable arrays, None entries skipped; grads[k] in
//          messages is the entry's index. Dtypes may differ from array to array.
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "../optim/driver.h"
#include "check.h"

namespace steepest {
namespace bind {

namespace {

struct Grads {
  std::vector<AnyArray> arrays;
  std::vector<int64_t> sizes;
};

// The arrays of `list`, checked: writable, no two sharing memory.
Grads checked(const py::list& list) {
  Grads g;
  StepArrays arrays;
  for (size_t k = 0; k < list.size(); ++k) {
    if (list[k].is_none()) continue;
    const Array a = arrays.standalone(list[k], "grads", k, true);
    g.arrays.push_back({a.data, a.dtype == Dtype::f64});
    g.sizes.push_back(a.size);
  }
  arrays.check_no_overlap();
  return g;
}

std::string repr(double x) { return py::repr(py::float_(x)); }

double clip_grad_norm(py::list list, double max_norm, double norm_type, bool error_if_nonfinite) {
  if (!(max_norm >= 0.0))
    throw py::value_error("max_norm: expected a number >= 0, got " + repr(max_norm));
  if (!(norm_type > 0.0))
    throw py::value_error("norm_type: expected a number > 0 or inf, got " + repr(norm_type));
  const Grads g = checked(list);
  double total;
  {
    py::gil_scoped_release nogil;
    total = total_norm(g.arrays, g.sizes, norm_type);
  }
  if (error_if_nonfinite && !std::isfinite(total))  // torch's message
    throw std::runtime_error(
        "The total norm of order " + repr(norm_type) + " for gradients from `parameters` is "
        "non-finite, so it cannot be clipped. To disable this error and scale the gradients by "
        "the non-finite norm anyway, set `error_if_nonfinite=False`");
  // torch: coef = max_norm / (total + 1e-6), clamped to at most 1 (a NaN stays NaN), and every
  // gradient multiplied by it. Multiplying by 1 changes nothing, so that pass is left out.
  const double coef = max_norm / (total + 1e-6);
  const double clamped = (coef < 1.0 || coef != coef) ? coef : 1.0;
  if (clamped != 1.0) {
    py::gil_scoped_release nogil;
    scale_arrays(g.arrays, g.sizes, clamped);
  }
  return total;
}

void clip_grad_value(py::list list, double clip_value) {
  if (!(clip_value >= 0.0))
    throw py::value_error("clip_value: expected a number >= 0, got " + repr(clip_value));
  const Grads g = checked(list);
  py::gil_scoped_release nogil;
  clamp_arrays(g.arrays, g.sizes, clip_value);
}

}  // namespace

void register_clip(py::module_& m) {
  m.def("clip_grad_norm", &clip_grad_norm, py::arg("grads"), py::arg("max_norm"),
        py::arg("norm_type"), py::arg("error_if_nonfinite"));
  m.def("clip_grad_value", &clip_grad_value, py::arg("grads"), py::arg("clip_value"));
}

}  // namespace bind
}  // namespace steepest
