#include "step.h"

#include <limits>
#include <stdexcept>

namespace steepest {

void require(bool ok, const char* what, double value) {
  if (!ok)
    throw std::invalid_argument(std::string(what) + ": " +
                                std::string(pybind11::repr(pybind11::float_(value))));
}

namespace bind {

double number(const py::tuple& t, size_t i, const char* name) {
  PyObject* o = t[i].ptr();
  const double x = PyFloat_AsDouble(o);
  if (x == -1.0 && PyErr_Occurred()) {
    // An int beyond the float range (10**400) raises OverflowError: a number, but not one a
    // float holds.
    const bool too_large = PyErr_ExceptionMatches(PyExc_OverflowError);
    PyErr_Clear();
    if (too_large)
      throw py::value_error(std::string(name) + ": expected a finite number, got an int too "
                            "large for a float");
    throw py::type_error(std::string(name) + ": expected a number, got " +
                         std::string(py::str(py::type::handle_of(o).attr("__name__"))));
  }
  return x;
}

StepCounter::StepCounter(py::handle counts) {
  if (counts.is_none()) return;
  using api = py::detail::npy_api;
  const auto* a = py::isinstance<py::array>(counts) ? py::detail::array_proxy(counts.ptr()) : nullptr;
  const auto flag = [a](int f) { return (a->flags & f) == f; };
  if (!(a && py::reinterpret_borrow<py::dtype>(a->descr).equal(py::dtype::of<int64_t>()) &&
        a->nd == 1 && a->dimensions[0] == 2 && flag(api::NPY_ARRAY_C_CONTIGUOUS_) &&
        flag(api::NPY_ARRAY_WRITEABLE_) && flag(api::NPY_ARRAY_ALIGNED_)))
    throw py::type_error("counts: expected a writable int64 array of 2 (applied, skipped)");
  counts_ = reinterpret_cast<int64_t*>(a->data);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (counts_[0] == kMax || counts_[1] == kMax)
    throw py::value_error("applied_steps and skipped_steps cannot advance past 2**63 - 1");
}

StepCache* step_cache(py::handle cache) {
  if (cache.is_none()) return nullptr;
  if (!py::isinstance<StepCache>(cache))
    throw py::type_error("cache: expected a StepCache or None");
  return &cache.cast<StepCache&>();
}

void check_step_count(int64_t count, size_t k) {
  if (count < 0)
    throw py::value_error(arg_name("state", "step", k) + ": expected a count >= 0, got " +
                          std::to_string(count));
  if (count == std::numeric_limits<int64_t>::max())
    throw py::value_error(arg_name("state", "step", k) + ": the step count is at its limit "
                          "(2**63 - 1) and cannot advance");
}

bool flag(const py::tuple& t, size_t i, const char* name) {
  const int b = PyObject_IsTrue(t[i].ptr());
  if (b < 0) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + ": expected a bool");
  }
  return b != 0;
}

size_t check_grads_length(const py::list& groups, const py::list& grads) {
  size_t total = 0;
  for (py::handle g : groups) total += py::len(py::reinterpret_borrow<py::tuple>(g)[0]);
  if (grads.size() != total)
    throw py::value_error("step: expected " + std::to_string(total) +
                          " grads, one per parameter, got " + std::to_string(grads.size()));
  return total;
}

}  // namespace bind
}  // namespace steepest
