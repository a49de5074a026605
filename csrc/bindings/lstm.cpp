// The LSTM layer kernels (steepest/nn/lstm.h). Every argument is checked (dtype by value in
// native byte order, shape, C-contiguity, alignment, writeability, no overlap between an array
// written and any other) before any array is touched and before the GIL is released; a call that
// raises writes nothing.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "nn_args.h"

#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

// x (B, T, F), weight_ih (4H, F) and weight_hh (4H, H), checked: the layer's sizes.
LstmShape lstm_shape(const char* where, const py::array& x, const py::array& w_ih,
                     const py::array& w_hh) {
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

template <class T>
void forward_typed(py::handle hy, py::handle hc, py::handle hgates, py::handle hx, py::handle hh0,
                   py::handle hc0, py::handle hw_ih, py::handle hw_hh, py::handle hb_ih,
                   py::handle hb_hh) {
  Args<T> args;
  auto x = args.array(hx, "x", Use::read), w_ih = args.array(hw_ih, "weight_ih", Use::read),
       w_hh = args.array(hw_hh, "weight_hh", Use::read);
  const LstmShape s = lstm_shape("lstm_forward", x, w_ih, w_hh);
  const int64_t B = s.batch, steps = s.steps, H = s.hidden;
  T* y = args.written(hy, "out", {B, steps, H});
  T* c = args.written(hc, "c", {B, steps, H});
  T* gates = args.written(hgates, "gates", {B, steps, 4 * H});
  const T* h0 = args.optional_read(hh0, "h0", {B, H});
  const T* c0 = args.optional_read(hc0, "c0", {B, H});
  const T* b_ih = args.optional_read(hb_ih, "bias_ih", {4 * H});
  const T* b_hh = args.optional_read(hb_hh, "bias_hh", {4 * H});
  args.check_no_overlap();
  const LstmForward<T> f{y, c, gates, x.data(), h0, c0, w_ih.data(), w_hh.data(), b_ih, b_hh, s};
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
  Args<T> args;
  auto x = args.array(hx, "x", Use::read), w_ih = args.array(hw_ih, "weight_ih", Use::read),
       w_hh = args.array(hw_hh, "weight_hh", Use::read);
  const LstmShape s = lstm_shape("lstm_backward", x, w_ih, w_hh);
  const int64_t B = s.batch, steps = s.steps, F = s.in, H = s.hidden;
  const T* dy = args.read(hdy, "dy", {B, steps, H});
  const T* y = args.read(hy, "y", {B, steps, H});
  const T* c = args.read(hc, "c", {B, steps, H});
  const T* gates = args.read(hgates, "gates", {B, steps, 4 * H});
  const T* h0 = args.optional_read(hh0, "h0", {B, H});
  const T* c0 = args.optional_read(hc0, "c0", {B, H});
  T* dw_ih = args.written(hdw_ih, "dweight_ih", {4 * H, F});
  T* dw_hh = args.written(hdw_hh, "dweight_hh", {4 * H, H});
  T* dgates = args.written(hdgates, "dgates", {B, steps, 4 * H});
  T* dx = args.optional_written(hdx, "dx", {B, steps, F});
  T* db_ih = args.optional_written(hdb_ih, "dbias_ih", {4 * H});
  T* db_hh = args.optional_written(hdb_hh, "dbias_hh", {4 * H});
  args.check_no_overlap();
  const LstmBackward<T> d{dx, dw_ih, dw_hh, db_ih, db_hh, dgates, dy, x.data(), h0, c0, y, c,
                          gates, w_ih.data(), w_hh.data(), s, accumulate};
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
