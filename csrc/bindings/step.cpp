#include "step.h"

#include <stdexcept>

namespace steepest {
namespace bind {

void require(bool ok, const char* what, double value) {
  if (!ok)
    throw std::invalid_argument(std::string(what) + ": " +
                                std::string(py::repr(py::float_(value))));
}

double number(const py::tuple& t, size_t i, const char* name) {
  PyObject* o = t[i].ptr();
  const double x = PyFloat_AsDouble(o);
  if (x == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + ": expected a number, got " +
                         std::string(py::str(py::type::handle_of(o).attr("__name__"))));
  }
  return x;
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
