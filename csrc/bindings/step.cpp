#include "step.h"

#include <limits>
#include <stdexcept>

namespace steepest {

void require(bool ok, const char* what, double value) {
  if (!ok)
    throw std::invalid_argument(std::string(what) + ": " +
                                std::string(pybind11::repr(pybind11::float_(value))));
}

void require(bool ok, const char* what, double a, double b) {
  if (!ok)
    throw std::invalid_argument(std::string(what) + ": " +
                                std::string(pybind11::repr(pybind11::float_(a))) + ", " +
                                std::string(pybind11::repr(pybind11::float_(b))));
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

Precision read_precision(py::handle precision) {
  Precision prec;
  if (precision.is_none()) return prec;
  const auto t = py::reinterpret_borrow<py::tuple>(precision);
  if (t.size() != 5) throw std::logic_error("internal: a precision tuple of the wrong size");
  const int state = t[0].cast<int>(), rounding = t[1].cast<int>();
  if (state < 0 || state > 3 || rounding < 0 || rounding > 1)
    throw std::logic_error("internal: an unknown state_dtype or rounding code");
  prec.state_bf16 = state == 1;
  prec.state_like_param = state == 2;
  prec.state_q8 = state == 3;
  prec.rounding = rounding == 1 ? Rounding::stochastic : Rounding::nearest;
  prec.seed = t[2].cast<uint64_t>();
  prec.counter = t[3].cast<int64_t>();
  prec.masters = t[4];
  return prec;
}

void check_precision(const Precision& prec, Dtype dtype, size_t k) {
  const bool half = dtype == Dtype::bf16 || dtype == Dtype::f16;
  if (!prec.masters.is_none() && !half)
    throw py::value_error(arg_name("params", nullptr, k) + ": master_weights=True keeps float32 "
                          "copies of bfloat16 or float16 params, got a " +
                          (dtype == Dtype::f32 ? "float32" : "float64") + " param");
  if ((prec.state_bf16 || prec.state_q8) && dtype == Dtype::f64)
    throw py::value_error(arg_name("params", nullptr, k) + ": state_dtype='" +
                          (prec.state_q8 ? "int8" : "bfloat16") + "' takes float32, bfloat16 "
                          "or float16 params, got a float64 param");
}

}  // namespace bind
}  // namespace steepest
