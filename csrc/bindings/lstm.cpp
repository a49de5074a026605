// The LSTM layer kernels (steepest/nn/lstm.h). Every argument is checked (dtype by value in
// native byte order, shape, C-contiguity, alignment, writeability, no overlap between an array
// written and any other) before any array is touched and before the GIL is released; a call that
// raises writes nothing.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "nn_args.h"

#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

// x (B, T, F), weight_ih (4H, F) and weight_hh (4H, H), checked: the layer's sizes.
template <class T>
LstmShape lstm_shape(const char* where, const py::array_t<T>& x, const py::array_t<T>& w_ih,
                     const py::array_t<T>& w_hh) {
  if (x.ndim() != 3)
    throw py::value_error(std::string(where) + ": x must be 3-d (batch, steps, features), got " +
                          shape_string(x));
  if (w_hh.ndim() != 2 || w_hh.shape(1) < 1 || w_hh.shape(0) != 4 * w_hh.shape(1))
    throw py::value_error(std::string(where) +
                          ": weight_hh must have shape (4 hidden, hidden), hidden >= 1, got " +
                          shape_string(w_hh));
  const LstmShape s{x.shape(0), x.shape(1), x.shape(2), w_hh.shape(1)};
  if (s.batch < 1 || s.steps < 1 || s.in < 1)
    throw py::value_error(std::string(where) + ": x " + shape_string(x) + " must not be empty");
  require_shape(w_ih, "weight_ih", {4 * s.hidden, s.in});
  return s;
}

// An optional array (None: null) of the given shape, read or written, recorded in arrays.
template <class T>
T* optional(py::handle h, const char* name, bool written, const std::vector<py::ssize_t>& shape,
            Arrays& arrays) {
  if (h.is_none()) return nullptr;
  auto a = checked<T>(h, name, written);
  require_shape(a, name, shape);
  (written ? arrays.written : arrays.read).push_back({name, a});
  return written ? a.mutable_data() : const_cast<T*>(a.data());
}

template <class T>
void forward_typed(py::handle hy, py::handle hc, py::handle hgates, py::handle hx, py::handle hh0,
                   py::handle hc0, py::handle hw_ih, py::handle hw_hh, py::handle hb_ih,
                   py::handle hb_hh) {
  auto x = checked<T>(hx, "x", false), w_ih = checked<T>(hw_ih, "weight_ih", false),
       w_hh = checked<T>(hw_hh, "weight_hh", false);
  auto y = checked<T>(hy, "out", true), c = checked<T>(hc, "c", true),
       gates = checked<T>(hgates, "gates", true);
  const LstmShape s = lstm_shape("lstm_forward", x, w_ih, w_hh);
  const int64_t B = s.batch, H = s.hidden;
  require_shape(y, "out", {B, s.steps, H});
  require_shape(c, "c", {B, s.steps, H});
  require_shape(gates, "gates", {B, s.steps, 4 * H});
  Arrays arrays{{{"out", y}, {"c", c}, {"gates", gates}},
                {{"x", x}, {"weight_ih", w_ih}, {"weight_hh", w_hh}}};
  const T* h0 = optional<T>(hh0, "h0", false, {B, H}, arrays);
  const T* c0 = optional<T>(hc0, "c0", false, {B, H}, arrays);
  const T* b_ih = optional<T>(hb_ih, "bias_ih", false, {4 * H}, arrays);
  const T* b_hh = optional<T>(hb_hh, "bias_hh", false, {4 * H}, arrays);
  arrays.check_no_overlap();
  const LstmForward<T> f{y.mutable_data(), c.mutable_data(), gates.mutable_data(), x.data(), h0,
                         c0, w_ih.data(), w_hh.data(), b_ih, b_hh, s};
  const auto kernel = kernels<T>().lstm_forward;
  py::gil_scoped_release nogil;
  kernel(f);
}

void forward(py::handle y, py::handle c, py::handle gates, py::handle x, py::handle h0,
             py::handle c0, py::handle w_ih, py::handle w_hh, py::handle b_ih, py::handle b_hh) {
  if (is_double(x)) forward_typed<double>(y, c, gates, x, h0, c0, w_ih, w_hh, b_ih, b_hh);
  else forward_typed<float>(y, c, gates, x, h0, c0, w_ih, w_hh, b_ih, b_hh);
}

template <class T>
void backward_typed(py::handle hdx, py::handle hdw_ih, py::handle hdw_hh, py::handle hdb_ih,
                    py::handle hdb_hh, py::handle hdgates, py::handle hdy, py::handle hx,
                    py::handle hh0, py::handle hc0, py::handle hy, py::handle hc,
                    py::handle hgates, py::handle hw_ih, py::handle hw_hh, bool accumulate) {
  auto x = checked<T>(hx, "x", false), w_ih = checked<T>(hw_ih, "weight_ih", false),
       w_hh = checked<T>(hw_hh, "weight_hh", false);
  const LstmShape s = lstm_shape("lstm_backward", x, w_ih, w_hh);
  const int64_t B = s.batch, steps = s.steps, F = s.in, H = s.hidden;
  auto dy = checked<T>(hdy, "dy", false), y = checked<T>(hy, "y", false),
       c = checked<T>(hc, "c", false), gates = checked<T>(hgates, "gates", false);
  auto dw_ih = checked<T>(hdw_ih, "dweight_ih", true),
       dw_hh = checked<T>(hdw_hh, "dweight_hh", true), dgates = checked<T>(hdgates, "dgates", true);
  require_shape(dy, "dy", {B, steps, H});
  require_shape(y, "y", {B, steps, H});
  require_shape(c, "c", {B, steps, H});
  require_shape(gates, "gates", {B, steps, 4 * H});
  require_shape(dw_ih, "dweight_ih", {4 * H, F});
  require_shape(dw_hh, "dweight_hh", {4 * H, H});
  require_shape(dgates, "dgates", {B, steps, 4 * H});
  Arrays arrays{{{"dweight_ih", dw_ih}, {"dweight_hh", dw_hh}, {"dgates", dgates}},
                {{"dy", dy}, {"x", x}, {"y", y}, {"c", c}, {"gates", gates},
                 {"weight_ih", w_ih}, {"weight_hh", w_hh}}};
  T* dx = optional<T>(hdx, "dx", true, {B, steps, F}, arrays);
  T* db_ih = optional<T>(hdb_ih, "dbias_ih", true, {4 * H}, arrays);
  T* db_hh = optional<T>(hdb_hh, "dbias_hh", true, {4 * H}, arrays);
  const T* h0 = optional<T>(hh0, "h0", false, {B, H}, arrays);
  const T* c0 = optional<T>(hc0, "c0", false, {B, H}, arrays);
  arrays.check_no_overlap();
  const LstmBackward<T> d{dx, dw_ih.mutable_data(), dw_hh.mutable_data(), db_ih, db_hh,
                          dgates.mutable_data(), dy.data(), x.data(), h0, c0, y.data(), c.data(),
                          gates.data(), w_ih.data(), w_hh.data(), s, accumulate};
  const auto kernel = kernels<T>().lstm_backward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void backward(py::handle dx, py::handle dw_ih, py::handle dw_hh, py::handle db_ih,
              py::handle db_hh, py::handle dgates, py::handle dy, py::handle x, py::handle h0,
              py::handle c0, py::handle y, py::handle c, py::handle gates, py::handle w_ih,
              py::handle w_hh, bool accumulate) {
  if (is_double(x))
    backward_typed<double>(dx, dw_ih, dw_hh, db_ih, db_hh, dgates, dy, x, h0, c0, y, c, gates,
                           w_ih, w_hh, accumulate);
  else
    backward_typed<float>(dx, dw_ih, dw_hh, db_ih, db_hh, dgates, dy, x, h0, c0, y, c, gates,
                          w_ih, w_hh, accumulate);
}

}  // namespace

void register_lstm(py::module_& m) {
  m.def("lstm_forward", &forward, py::arg("out"), py::arg("c"), py::arg("gates"), py::arg("x"),
        py::arg("h0"), py::arg("c0"), py::arg("weight_ih"), py::arg("weight_hh"),
        py::arg("bias_ih"), py::arg("bias_hh"),
        "One LSTM layer over x (B, T, F): out (B, T, H) = h_t, c (B, T, H) = c_t and gates\n"
        "(B, T, 4H) = i, f, g, o (torch's order) after their activations, written; h0, c0\n"
        "(B, H) or None (zeros), bias_ih, bias_hh (4H,) or None.");
  m.def("lstm_backward", &backward, py::arg("dx"), py::arg("dweight_ih"), py::arg("dweight_hh"),
        py::arg("dbias_ih"), py::arg("dbias_hh"), py::arg("dgates"), py::arg("dy"), py::arg("x"),
        py::arg("h0"), py::arg("c0"), py::arg("y"), py::arg("c"), py::arg("gates"),
        py::arg("weight_ih"), py::arg("weight_hh"), py::arg("accumulate") = true,
        "Backward through time of lstm_forward from dy (B, T, H): dx (B, T, F) written (if not\n"
        "None), dgates (B, T, 4H) written (the pre-activation gradients), dweight_* and dbias_*\n"
        "accumulated (+=), or written with accumulate=False.");
}

}  // namespace bind
}  // namespace steepest
