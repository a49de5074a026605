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

namespace {

// A 16-bit gradient (bfloat16, float16) holds a NaN or an infinity where all its exponent bits
// are set: 1.0 if some element of [begin, end) does, else 0.0.
double nonfinite_16(const GradRef& g, int64_t begin, int64_t end) {
  const uint16_t mask = g.dtype == Dtype::f16 ? 0x7C00 : 0x7F80;
  const uint16_t* x = static_cast<const uint16_t*>(g.data);
  unsigned any = 0;
  for (int64_t i = begin; i < end; ++i) any |= (x[i] & mask) == mask;
  return any ? 1.0 : 0.0;
}

}  // namespace

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
      else if (g.dtype == Dtype::f64) f64(static_cast<const double*>(g.data), begin, end, out);
      else out[0] = nonfinite_16(g, begin, end);
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
