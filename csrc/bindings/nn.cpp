// The nn area: the matrix product behind the dense layers.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

// A C-contiguous 2-d array of dtype T (no conversion: a wrong dtype is an error).
template <class T>
py::array_t<T> matrix(py::handle h, const char* name, bool written) {
  if (!py::isinstance<py::array>(h))
    throw py::type_error(std::string(name) + " must be a numpy array");
  auto a = py::reinterpret_borrow<py::array>(h);
  if (!a.dtype().is(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + " must have dtype " +
                         std::string(py::str(py::dtype::of<T>())) + ", got " +
                         std::string(py::str(a.dtype())));
  if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be 2-d");
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be C-contiguous");
  if (written && !a.writeable()) throw py::value_error(std::string(name) + " is read-only");
  return py::reinterpret_borrow<py::array_t<T>>(a);
}

bool overlap(const py::array& x, const py::array& y) {
  const auto* xl = static_cast<const char*>(x.data());
  const auto* yl = static_cast<const char*>(y.data());
  return xl < yl + y.nbytes() && yl < xl + x.nbytes() && x.nbytes() > 0 && y.nbytes() > 0;
}

template <class T>
void gemm_typed(py::handle ha, py::handle hb, py::handle hc, bool trans_a, bool trans_b,
                bool accumulate, py::handle hbias, Activation activation) {
  auto a = matrix<T>(ha, "a", false), b = matrix<T>(hb, "b", false);
  auto c = matrix<T>(hc, "c", true);
  const int64_t m = trans_a ? a.shape(1) : a.shape(0), k = trans_a ? a.shape(0) : a.shape(1);
  const int64_t kb = trans_b ? b.shape(1) : b.shape(0), n = trans_b ? b.shape(0) : b.shape(1);
  if (kb != k)
    throw py::value_error("gemm: op(a) is (" + std::to_string(m) + ", " + std::to_string(k) +
                          ") but op(b) is (" + std::to_string(kb) + ", " + std::to_string(n) + ")");
  if (c.shape(0) != m || c.shape(1) != n)
    throw py::value_error("gemm: c must be (" + std::to_string(m) + ", " + std::to_string(n) +
                          ")");
  const T* bias = nullptr;
  if (!hbias.is_none()) {
    auto v = py::reinterpret_borrow<py::array>(hbias);
    if (!py::isinstance<py::array>(hbias) || !v.dtype().is(py::dtype::of<T>()) || v.ndim() != 1 ||
        v.shape(0) != n || !(v.flags() & py::array::c_style))
      throw py::value_error("gemm: bias must be a C-contiguous 1-d array of c's dtype and " +
                            std::to_string(n) + " elements");
    if (overlap(v, c)) throw py::value_error("gemm: c overlaps bias");
    bias = static_cast<const T*>(v.data());
  }
  if (overlap(a, c)) throw py::value_error("gemm: c overlaps a");
  if (overlap(b, c)) throw py::value_error("gemm: c overlaps b");
  const Gemm<T> g{m, n, k, a.data(), a.shape(1), trans_a, b.data(), b.shape(1), trans_b,
                  c.mutable_data(), n, accumulate, bias, activation};
  const auto kernel = kernels<T>().gemm;
  py::gil_scoped_release nogil;
  kernel(g);
}

void gemm(py::handle a, py::handle b, py::handle c, bool trans_a, bool trans_b, bool accumulate,
          py::handle bias, const std::string& activation) {
  Activation act;
  if (activation == "none") act = Activation::none;
  else if (activation == "relu") act = Activation::relu;
  else throw py::value_error("gemm: activation must be 'none' or 'relu', got '" + activation + "'");
  if (py::isinstance<py::array>(c) &&
      py::reinterpret_borrow<py::array>(c).dtype().is(py::dtype::of<double>()))
    gemm_typed<double>(a, b, c, trans_a, trans_b, accumulate, bias, act);
  else
    gemm_typed<float>(a, b, c, trans_a, trans_b, accumulate, bias, act);
}

}  // namespace

void register_nn(py::module_& m) {
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("accumulate") = false, py::arg("bias") = py::none(),
        py::arg("activation") = "none",
        "c = op(a) @ op(b) (+ c if accumulate) (+ bias), then the activation; in place.");
}

}  // namespace bind
}  // namespace steepest
