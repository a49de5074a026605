// The binding of the deterministic per-array sum of squares (the norms LAMB and LARS take
// between their passes, for Python's use: csrc/optim/driver_norms.cc).
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "../optim/driver.h"
#include "check.h"

namespace steepest {
namespace bind {

namespace {

template <class T>
std::vector<double> sum_squares_of(const std::vector<py::array>& arrays) {
  std::vector<const T*> data;
  std::vector<int64_t> sizes;
  for (const py::array& a : arrays) {
    data.push_back(static_cast<const T*>(a.data()));
    sizes.push_back(int64_t(a.size()));
  }
  py::gil_scoped_release nogil;
  return steepest::sum_squares(data, sizes);
}

// sum_squares(arrays) -> [sum of x^2 per array], in double, as a step's norms are computed.
// Every array has the dtype of arrays[0], float32 or float64.
py::list sum_squares(py::list list) {
  std::vector<py::array> arrays;
  bool f64 = false;
  for (size_t k = 0; k < list.size(); ++k) {
    const std::string name = "arrays[" + std::to_string(k) + "]";
    if (k == 0 && py::isinstance<py::array>(list[0])) {
      const auto dtype = py::reinterpret_borrow<py::array>(list[0]).dtype();
      f64 = dtype.equal(py::dtype::of<double>());
      if (!f64 && !dtype.equal(py::dtype::of<float>()))
        throw py::type_error(name + ": expected a float32 or float64 array in native byte order, "
                                    "got " + std::string(py::str(dtype)));
    }
    arrays.push_back(kernel_array(list[k], name,
                                  f64 ? py::dtype::of<double>() : py::dtype::of<float>(), false));
  }
  const std::vector<double> sums =
      f64 ? sum_squares_of<double>(arrays) : sum_squares_of<float>(arrays);
  py::list out;
  for (double s : sums) out.append(s);
  return out;
}

}  // namespace

void register_norms(py::module_& m) {
  m.def("sum_squares", &sum_squares, py::arg("arrays"),
        "Sum of squares of each array, in double; bitwise the same for any thread count.");
}

}  // namespace bind
}  // namespace steepest
