#include "nonfinite.h"

#include <pybind11/pybind11.h>

#include <string>

#include "../runtime/parallel.h"
#include "steepest/targets.h"

namespace steepest {
namespace bind {

Nonfinite nonfinite_policy(int code) {
  if (code < 0 || code > 2)
    throw py::value_error("internal: nonfinite policy code " + std::to_string(code));
  return Nonfinite(code);
}

bool skip_nonfinite(const std::vector<GradRef>& grads, Nonfinite policy) {
  if (policy == Nonfinite::propagate || grads.empty()) return false;
  std::vector<int64_t> sizes;
  sizes.reserve(grads.size());
  for (const GradRef& g : grads) sizes.push_back(g.size);
  std::vector<std::array<double, 1>> found;
  {
    py::gil_scoped_release nogil;
    const auto f32 = kernels<float>().nonfinite;
    const auto f64 = kernels<double>().nonfinite;
    found = reduce_per_tensor<1>(sizes, [&](int64_t t, int64_t begin, int64_t end, double* out) {
      const GradRef& g = grads[size_t(t)];
      if (g.dtype == Dtype::f32) f32(static_cast<const float*>(g.data), begin, end, out);
      else f64(static_cast<const double*>(g.data), begin, end, out);
    });
  }
  for (size_t t = 0; t < grads.size(); ++t) {
    if (found[t][0] == 0.0) continue;
    if (policy == Nonfinite::skip) return true;
    PyErr_SetString(PyExc_FloatingPointError,
                    ("step: grads[" + std::to_string(grads[t].k) +
                     "] holds a NaN or an infinity (nonfinite='raise'); no parameter or state "
                     "was changed")
                        .c_str());
    throw py::error_already_set();
  }
  return false;
}

}  // namespace bind
}  // namespace steepest
