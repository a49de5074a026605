// The GRU kernels (steepest/nn/gru.h). Every argument is checked (dtype by value in native byte
// order, shape, C-contiguity, alignment, writeability, no overlap between an array written and
// any other) before any array is touched and before the GIL is released; a call that raises
// writes nothing.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nn_args.h"

#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

// x (B, T, F), weight_ih (3H, F) and weight_hh (3H, H), checked: the layer's sizes.
template <class T>
GruShape gru_shape(const char* where, const py::array_t<T>& x, const py::array_t<T>& w_ih,
                   const py::array_t<T>& w_hh) {
  if (x.ndim() != 3)
    throw py::value_error(std::string(where) + ": x must be 3-d (batch, steps, features), got " +
                          shape_string(x));
  if (w_ih.ndim() != 2 || w_ih.shape(0) % 3 != 0 || w_ih.shape(0) == 0)
    throw py::value_error(std::string(where) +
                          ": weight_ih must be 2-d (3 * hidden_size, input_size), got " +
                          shape_string(w_ih));
  const GruShape s{x.shape(0), x.shape(1), x.shape(2), w_ih.shape(0) / 3};
  if (s.batch < 1 || s.steps < 1 || s.in < 1)
    throw py::value_error(std::string(where) + ": x " + shape_string(x) +
                          " must not be empty");
  require_shape(w_ih, "weight_ih", {3 * s.hidden, s.in});
  require_shape(w_hh, "weight_hh", {3 * s.hidden, s.hidden});
  return s;
}

// An optional array (None: null) of the given shape, checked and added to the arrays read or
// written.
template <class T>
const T* optional_read(py::handle h, const char* name, const std::vector<py::ssize_t>& shape,
                       Arrays& arrays) {
  if (h.is_none()) return nullptr;
  auto a = checked<T>(h, name, false);
  require_shape(a, name, shape);
  arrays.read.push_back({name, a});
  return a.data();
}

template <class T>
T* optional_written(py::handle h, const char* name, const std::vector<py::ssize_t>& shape,
                    Arrays& arrays) {
  if (h.is_none()) return nullptr;
  auto a = checked<T>(h, name, true);
  require_shape(a, name, shape);
  arrays.written.push_back({name, a});
  return a.mutable_data();
}

template <class T>
void forward_typed(py::handle hy, py::handle hgates, py::handle hx, py::handle hh0,
                   py::handle hw_ih, py::handle hw_hh, py::handle hb_ih, py::handle hb_hh) {
  auto x = checked<T>(hx, "x", false), w_ih = checked<T>(hw_ih, "weight_ih", false);
  auto w_hh = checked<T>(hw_hh, "weight_hh", false);
  auto y = checked<T>(hy, "out", true), gates = checked<T>(hgates, "gates", true);
  const GruShape s = gru_shape("gru_forward", x, w_ih, w_hh);
  require_shape(y, "out", {s.batch, s.steps, s.hidden});
  require_shape(gates, "gates", {s.batch, s.steps, 4 * s.hidden});
  Arrays arrays{{{"out", y}, {"gates", gates}},
                {{"x", x}, {"weight_ih", w_ih}, {"weight_hh", w_hh}}};
  const T* h0 = optional_read<T>(hh0, "h0", {s.batch, s.hidden}, arrays);
  const T* b_ih = optional_read<T>(hb_ih, "bias_ih", {3 * s.hidden}, arrays);
  const T* b_hh = optional_read<T>(hb_hh, "bias_hh", {3 * s.hidden}, arrays);
  arrays.check_no_overlap();
  const GruForward<T> f{y.mutable_data(), gates.mutable_data(), x.data(), h0, w_ih.data(),
                        w_hh.data(), b_ih, b_hh, s};
  const auto kernel = kernels<T>().gru_forward;
  py::gil_scoped_release nogil;
  kernel(f);
}

void forward(py::handle y, py::handle gates, py::handle x, py::handle h0, py::handle w_ih,
             py::handle w_hh, py::handle b_ih, py::handle b_hh) {
  if (is_double(x)) forward_typed<double>(y, gates, x, h0, w_ih, w_hh, b_ih, b_hh);
  else forward_typed<float>(y, gates, x, h0, w_ih, w_hh, b_ih, b_hh);
}

template <class T>
void backward_typed(py::handle hdx, py::handle hdh0, py::handle hdw_ih, py::handle hdw_hh,
                    py::handle hdb_ih, py::handle hdb_hh, py::handle hdg_ih, py::handle hdg_hh,
                    py::handle hdy, py::handle hx, py::handle hh0, py::handle hy,
                    py::handle hgates, py::handle hw_ih, py::handle hw_hh, bool accumulate) {
  auto dy = checked<T>(hdy, "dy", false), x = checked<T>(hx, "x", false);
  auto y = checked<T>(hy, "y", false), gates = checked<T>(hgates, "gates", false);
  auto w_ih = checked<T>(hw_ih, "weight_ih", false), w_hh = checked<T>(hw_hh, "weight_hh", false);
  auto dw_ih = checked<T>(hdw_ih, "dweight_ih", true);
  auto dw_hh = checked<T>(hdw_hh, "dweight_hh", true);
  auto dg_ih = checked<T>(hdg_ih, "dgates_ih", true), dg_hh = checked<T>(hdg_hh, "dgates_hh", true);
  const GruShape s = gru_shape("gru_backward", x, w_ih, w_hh);
  require_shape(dy, "dy", {s.batch, s.steps, s.hidden});
  require_shape(y, "y", {s.batch, s.steps, s.hidden});
  require_shape(gates, "gates", {s.batch, s.steps, 4 * s.hidden});
  require_shape(dw_ih, "dweight_ih", {3 * s.hidden, s.in});
  require_shape(dw_hh, "dweight_hh", {3 * s.hidden, s.hidden});
  require_shape(dg_ih, "dgates_ih", {s.batch, s.steps, 3 * s.hidden});
  require_shape(dg_hh, "dgates_hh", {s.batch, s.steps, 3 * s.hidden});
  Arrays arrays{{{"dweight_ih", dw_ih}, {"dweight_hh", dw_hh}, {"dgates_ih", dg_ih},
                 {"dgates_hh", dg_hh}},
                {{"dy", dy}, {"x", x}, {"y", y}, {"gates", gates}, {"weight_ih", w_ih},
                 {"weight_hh", w_hh}}};
  T* dx = optional_written<T>(hdx, "dx", {s.batch, s.steps, s.in}, arrays);
  T* dh0 = optional_written<T>(hdh0, "dh0", {s.batch, s.hidden}, arrays);
  T* db_ih = optional_written<T>(hdb_ih, "dbias_ih", {3 * s.hidden}, arrays);
  T* db_hh = optional_written<T>(hdb_hh, "dbias_hh", {3 * s.hidden}, arrays);
  const T* h0 = optional_read<T>(hh0, "h0", {s.batch, s.hidden}, arrays);
  arrays.check_no_overlap();
  const GruBackward<T> d{dx, dh0, dw_ih.mutable_data(), dw_hh.mutable_data(), db_ih, db_hh,
                         dg_ih.mutable_data(), dg_hh.mutable_data(), dy.data(), x.data(), h0,
                         y.data(), gates.data(), w_ih.data(), w_hh.data(), s, accumulate};
  const auto kernel = kernels<T>().gru_backward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void backward(py::handle dx, py::handle dh0, py::handle dw_ih, py::handle dw_hh, py::handle db_ih,
              py::handle db_hh, py::handle dg_ih, py::handle dg_hh, py::handle dy, py::handle x,
              py::handle h0, py::handle y, py::handle gates, py::handle w_ih, py::handle w_hh,
              bool accumulate) {
  if (is_double(x))
    backward_typed<double>(dx, dh0, dw_ih, dw_hh, db_ih, db_hh, dg_ih, dg_hh, dy, x, h0, y, gates,
                           w_ih, w_hh, accumulate);
  else
    backward_typed<float>(dx, dh0, dw_ih, dw_hh, db_ih, db_hh, dg_ih, dg_hh, dy, x, h0, y, gates,
                          w_ih, w_hh, accumulate);
}

}  // namespace

void register_gru(py::module_& m) {
  m.def("gru_forward", &forward, py::arg("out"), py::arg("gates"), py::arg("x"), py::arg("h0"),
        py::arg("weight_ih"), py::arg("weight_hh"), py::arg("bias_ih"), py::arg("bias_hh"),
        "One GRU layer over x (B, T, F) from h0 (B, H) (None: zeros), torch.nn.GRU's gates:\n"
        "out (B, T, H) = h_1..h_T; gates (B, T, 4H) = r, z, n, W_hn h + b_hn per step (for\n"
        "backward). weight_ih (3H, F), weight_hh (3H, H), biases (3H,) or None.");
  m.def("gru_backward", &backward, py::arg("dx"), py::arg("dh0"), py::arg("dweight_ih"),
        py::arg("dweight_hh"), py::arg("dbias_ih"), py::arg("dbias_hh"), py::arg("dgates_ih"),
        py::arg("dgates_hh"), py::arg("dy"), py::arg("x"), py::arg("h0"), py::arg("y"),
        py::arg("gates"), py::arg("weight_ih"), py::arg("weight_hh"),
        py::arg("accumulate") = true,
        "Backward through time from dy (B, T, H): dx (B, T, F) and dh0 (B, H) written (if not\n"
        "None); weight and bias gradients accumulated (+=), or written with accumulate=False;\n"
        "dgates_ih, dgates_hh (B, T, 3H) written (the gates' gradients, scratch).");
}

}  // namespace bind
}  // namespace steepest
