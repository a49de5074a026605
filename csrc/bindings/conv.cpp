// The convolution kernels (steepest/nn/conv1d.h). Every argument is checked (dtype by value in
// native byte order, shape, C-contiguity, alignment, writeability, no overlap between an array
// written and any other, sizes that give at least one output step) before any array is touched
// and before the GIL is released; a call that raises writes nothing.
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

// Above this a stride, dilation or padding is refused (every index then fits in int64).
constexpr int64_t kMaxGeometry = int64_t(1) << 31;

// x (B, T, in) and weight (out, in, K), checked, with the stride, dilation and padding: the
// convolution's sizes, at least one output step.
Conv1dShape conv_shape(const char* where, const py::array& x, const py::array& w,
                       int64_t stride, int64_t dilation, int64_t pad_left, int64_t pad_right) {
  if (x.ndim() != 3)
    throw py::value_error(std::string(where) + ": x must be 3-d (batch, steps, in_channels), got " +
                          shape_string(x));
  if (w.ndim() != 3)
    throw py::value_error(std::string(where) +
                          ": weight must be 3-d (out_channels, in_channels, kernel_size), got " +
                          shape_string(w));
  const Conv1dShape s{x.shape(0), x.shape(1), x.shape(2), w.shape(0), w.shape(2),
                      stride,     dilation,   pad_left,   pad_right};
  if (s.batch < 1 || s.steps < 1 || s.in < 1 || s.out < 1 || s.taps < 1)
    throw py::value_error(std::string(where) + ": x " + shape_string(x) +
                          " and weight " + shape_string(w) + " must not be empty");
  require_shape(w, "weight", {s.out, s.in, s.taps});
  if (stride < 1 || stride > kMaxGeometry)
    throw py::value_error(std::string(where) + ": stride must be in [1, 2**31], got " +
                          std::to_string(stride));
  if (dilation < 1 || dilation > kMaxGeometry)
    throw py::value_error(std::string(where) + ": dilation must be in [1, 2**31], got " +
                          std::to_string(dilation));
  if (pad_left < 0 || pad_left > kMaxGeometry || pad_right < 0 || pad_right > kMaxGeometry)
    throw py::value_error(std::string(where) + ": padding must be in [0, 2**31], got (" +
                          std::to_string(pad_left) + ", " + std::to_string(pad_right) + ")");
  const int64_t span = s.dilation * (s.taps - 1) + 1;
  if (s.steps + s.pad_left + s.pad_right < span)
    throw py::value_error(std::string(where) + ": x has " + std::to_string(s.steps) +
                          " steps, padded " + std::to_string(s.steps + s.pad_left + s.pad_right) +
                          ", fewer than the kernel's span " + std::to_string(span) +
                          " (kernel_size " + std::to_string(s.taps) + ", dilation " +
                          std::to_string(s.dilation) + ")");
  return s;
}

Activation epilogue(const std::string& activation) {
  if (activation == "none") return Activation::none;
  if (activation == "relu") return Activation::relu;
  throw py::value_error("conv1d_forward: activation must be 'none' or 'relu', got '" + activation +
                        "'");
}

template <class T>
void forward_typed(py::handle hy, py::handle hx, py::handle hw, py::handle hb, int64_t stride,
                   int64_t dilation, int64_t pad_left, int64_t pad_right, Activation activation) {
  Args<T> args;
  auto x = args.array(hx, "x", Use::read), w = args.array(hw, "weight", Use::read);
  const Conv1dShape s = conv_shape("conv1d_forward", x, w, stride, dilation, pad_left, pad_right);
  T* y = args.written(hy, "out", {s.batch, s.steps_out(), s.out});
  const T* bias = args.optional_read(hb, "bias", {s.out});
  args.check_no_overlap();
  const Conv1dForward<T> f{y, x.data(), w.data(), bias, s, activation};
  const auto kernel = kernels<T>().conv1d_forward;
  py::gil_scoped_release nogil;
  kernel(f);
}

void forward(py::handle y, py::handle x, py::handle weight, py::handle bias, int64_t stride,
             int64_t dilation, int64_t pad_left, int64_t pad_right,
             const std::string& activation) {
  const Activation a = epilogue(activation);
  if (is_double(x)) forward_typed<double>(y, x, weight, bias, stride, dilation, pad_left, pad_right, a);
  else forward_typed<float>(y, x, weight, bias, stride, dilation, pad_left, pad_right, a);
}

template <class T>
void backward_typed(py::handle hdx, py::handle hdw, py::handle hdb, py::handle hdy, py::handle hx,
                    py::handle hw, int64_t stride, int64_t dilation, int64_t pad_left,
                    int64_t pad_right, bool accumulate, py::handle hrelu, bool accumulate_dx) {
  Args<T> args;
  auto x = args.array(hx, "x", Use::read), w = args.array(hw, "weight", Use::read);
  const Conv1dShape s = conv_shape("conv1d_backward", x, w, stride, dilation, pad_left, pad_right);
  const T* dy = args.read(hdy, "dy", {s.batch, s.steps_out(), s.out});
  T* dw = args.written(hdw, "dweight", {s.out, s.in, s.taps});
  T* dx = args.optional_written(hdx, "dx", {s.batch, s.steps, s.in});
  if (!hrelu.is_none() && !dx)
    throw py::value_error("conv1d_backward: relu_output given without dx");
  if (accumulate_dx && (!dx || !hrelu.is_none()))
    throw py::value_error("conv1d_backward: accumulate_dx needs dx and no relu_output");
  const T* relu_output = args.optional_read(hrelu, "relu_output", {s.batch, s.steps, s.in});
  T* db = args.optional_written(hdb, "dbias", {s.out});
  args.check_no_overlap();
  const Conv1dBackward<T> d{dx, dw, db, dy, x.data(), w.data(), s, accumulate, relu_output,
                            accumulate_dx};
  const auto kernel = kernels<T>().conv1d_backward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void backward(py::handle dx, py::handle dweight, py::handle dbias, py::handle dy, py::handle x,
              py::handle weight, int64_t stride, int64_t dilation, int64_t pad_left,
              int64_t pad_right, bool accumulate, py::handle relu_output, bool accumulate_dx) {
  if (is_double(x))
    backward_typed<double>(dx, dweight, dbias, dy, x, weight, stride, dilation, pad_left,
                           pad_right, accumulate, relu_output, accumulate_dx);
  else
    backward_typed<float>(dx, dweight, dbias, dy, x, weight, stride, dilation, pad_left,
                          pad_right, accumulate, relu_output, accumulate_dx);
}

}  // namespace

void register_conv(py::module_& m) {
  m.def("conv1d_forward", &forward, py::arg("out"), py::arg("x"), py::arg("weight"),
        py::arg("bias"), py::arg("stride"), py::arg("dilation"), py::arg("pad_left"),
        py::arg("pad_right"), py::arg("activation"),
        "out (B, T_out, out) = conv1d of x (B, T, in) with weight (out, in, K) + bias, then\n"
        "'none' or 'relu'; channels last, x zero-padded by pad_left / pad_right steps.");
  m.def("conv1d_backward", &backward, py::arg("dx"), py::arg("dweight"), py::arg("dbias"),
        py::arg("dy"), py::arg("x"), py::arg("weight"), py::arg("stride"), py::arg("dilation"),
        py::arg("pad_left"), py::arg("pad_right"), py::arg("accumulate") = true,
        py::arg("relu_output") = py::none(), py::arg("accumulate_dx") = false,
        "dx (B, T, in) written (if not None; 0 where relu_output is not > 0), or accumulated\n"
        "(+=) with accumulate_dx; dweight and dbias accumulated, or written with\n"
        "accumulate=False.");
}

}  // namespace bind
}  // namespace steepest
