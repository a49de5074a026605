// The GRU kernels (steepest/nn/gru.h). Every argument is checked (dtype by value in native byte
// order, shape, C-contiguity, alignment, writeability, no overlap between an array written and
// any other) before any array is touched and before the GIL is released; a call that raises
// writes nothing.
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

// x (B, T, F), weight_ih (3H, F) and weight_hh (3H, H), checked: the layer's sizes.
GruShape gru_shape(const char* where, const py::array& x, const py::array& w_ih,
                   const py::array& w_hh) {
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

template <class T>
void forward_typed(py::handle hy, py::handle hgates, py::handle hx, py::handle hh0,
                   py::handle hw_ih, py::handle hw_hh, py::handle hb_ih, py::handle hb_hh) {
  Args<T> args;
  auto x = args.array(hx, "x", Use::read), w_ih = args.array(hw_ih, "weight_ih", Use::read),
       w_hh = args.array(hw_hh, "weight_hh", Use::read);
  const GruShape s = gru_shape("gru_forward", x, w_ih, w_hh);
  const int64_t B = s.batch, steps = s.steps, H = s.hidden;
  T* y = args.written(hy, "out", {B, steps, H});
  T* gates = args.written(hgates, "gates", {B, steps, 4 * H});
  const T* h0 = args.optional_read(hh0, "h0", {B, H});
  const T* b_ih = args.optional_read(hb_ih, "bias_ih", {3 * H});
  const T* b_hh = args.optional_read(hb_hh, "bias_hh", {3 * H});
  args.check_no_overlap();
  const GruForward<T> f{y, gates, x.data(), h0, w_ih.data(), w_hh.data(), b_ih, b_hh, s};
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
  Args<T> args;
  auto x = args.array(hx, "x", Use::read), w_ih = args.array(hw_ih, "weight_ih", Use::read),
       w_hh = args.array(hw_hh, "weight_hh", Use::read);
  const GruShape s = gru_shape("gru_backward", x, w_ih, w_hh);
  const int64_t B = s.batch, steps = s.steps, F = s.in, H = s.hidden;
  const T* dy = args.read(hdy, "dy", {B, steps, H});
  const T* y = args.read(hy, "y", {B, steps, H});
  const T* gates = args.read(hgates, "gates", {B, steps, 4 * H});
  const T* h0 = args.optional_read(hh0, "h0", {B, H});
  T* dw_ih = args.written(hdw_ih, "dweight_ih", {3 * H, F});
  T* dw_hh = args.written(hdw_hh, "dweight_hh", {3 * H, H});
  T* dg_ih = args.written(hdg_ih, "dgates_ih", {B, steps, 3 * H});
  T* dg_hh = args.written(hdg_hh, "dgates_hh", {B, steps, 3 * H});
  T* dx = args.optional_written(hdx, "dx", {B, steps, F});
  T* dh0 = args.optional_written(hdh0, "dh0", {B, H});
  T* db_ih = args.optional_written(hdb_ih, "dbias_ih", {3 * H});
  T* db_hh = args.optional_written(hdb_hh, "dbias_hh", {3 * H});
  args.check_no_overlap();
  const GruBackward<T> d{dx, dh0, dw_ih, dw_hh, db_ih, db_hh, dg_ih, dg_hh, dy, x.data(), h0, y,
                         gates, w_ih.data(), w_hh.data(), s, accumulate};
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
