// The nn area: the matrix product behind the dense layers, and the layers' forward/backward
// kernels (dense, activations, losses, dropout). Every argument is checked (dtype by value in
// native byte order, shape, C-contiguity, alignment, writeability, no overlap between an array
// written and any other) before any array is touched and before the GIL is released; a call that
// raises writes nothing.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "../runtime/parallel.h"
#include "nn_args.h"

#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

// A 2-d array argument whose shape the binding checks itself (its sizes are the call's).
template <class T>
py::array_t<T> matrix(Args<T>& args, py::handle h, const char* name, Use use) {
  auto a = args.array(h, name, use);
  if (a.ndim() != 2)
    throw py::value_error(std::string(name) + " must be 2-d, got " + shape_string(a));
  return a;
}

Activation epilogue(const std::string& activation, const char* where) {
  if (activation == "none") return Activation::none;
  if (activation == "relu") return Activation::relu;
  throw py::value_error(std::string(where) + ": activation must be 'none' or 'relu', got '" +
                        activation + "'");
}

template <class T>
void gemm_typed(py::handle ha, py::handle hb, py::handle hc, bool trans_a, bool trans_b,
                bool accumulate, py::handle hbias, Activation activation) {
  Args<T> args;
  auto a = matrix(args, ha, "a", Use::read), b = matrix(args, hb, "b", Use::read);
  const int64_t m = trans_a ? a.shape(1) : a.shape(0), k = trans_a ? a.shape(0) : a.shape(1);
  const int64_t kb = trans_b ? b.shape(1) : b.shape(0), n = trans_b ? b.shape(0) : b.shape(1);
  if (kb != k)
    throw py::value_error("gemm: op(a) is (" + std::to_string(m) + ", " + std::to_string(k) +
                          ") but op(b) is (" + std::to_string(kb) + ", " + std::to_string(n) + ")");
  T* c = args.written(hc, "c", {m, n});
  const T* bias = args.optional_read(hbias, "bias", {n});
  args.check_no_overlap();
  const Gemm<T> g{m, n, k, a.data(), a.shape(1), trans_a, b.data(), b.shape(1), trans_b,
                  c, n, accumulate, bias, activation};
  const auto kernel = kernels<T>().gemm;
  py::gil_scoped_release nogil;
  kernel(g);
}

void gemm(py::handle a, py::handle b, py::handle c, bool trans_a, bool trans_b, bool accumulate,
          py::handle bias, const std::string& activation) {
  const Activation act = epilogue(activation, "gemm");
  if (is_double(c))
    gemm_typed<double>(a, b, c, trans_a, trans_b, accumulate, bias, act);
  else
    gemm_typed<float>(a, b, c, trans_a, trans_b, accumulate, bias, act);
}

template <class T>
void dense_forward_typed(py::handle hy, py::handle hx, py::handle hw, py::handle hb,
                         Activation activation) {
  Args<T> args;
  auto x = matrix(args, hx, "x", Use::read), w = matrix(args, hw, "weight", Use::read);
  const int64_t batch = x.shape(0), in = x.shape(1), out = w.shape(0);
  if (batch < 1 || in < 1 || out < 1)
    throw py::value_error("dense_forward: x " + shape_string(x) + " and weight " + shape_string(w) +
                          " must not be empty");
  require_shape(w, "weight", {out, in});
  T* y = args.written(hy, "out", {batch, out});
  const T* bias = args.optional_read(hb, "bias", {out});
  args.check_no_overlap();
  const DenseForward<T> d{y, x.data(), w.data(), bias, batch, in, out, activation};
  const auto kernel = kernels<T>().dense_forward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void dense_forward(py::handle y, py::handle x, py::handle weight, py::handle bias,
                   const std::string& activation) {
  const Activation a = epilogue(activation, "dense_forward");
  if (is_double(x)) dense_forward_typed<double>(y, x, weight, bias, a);
  else dense_forward_typed<float>(y, x, weight, bias, a);
}

template <class T>
void dense_backward_typed(py::handle hdx, py::handle hdw, py::handle hdb, py::handle hdy,
                          py::handle hx, py::handle hw, bool accumulate,
                          py::handle hrelu, bool accumulate_dx) {
  Args<T> args;
  auto x = matrix(args, hx, "x", Use::read), w = matrix(args, hw, "weight", Use::read);
  const int64_t batch = x.shape(0), in = x.shape(1), out = w.shape(0);
  if (batch < 1 || in < 1 || out < 1)
    throw py::value_error("dense_backward: x " + shape_string(x) + " and weight " + shape_string(w) +
                          " must not be empty");
  require_shape(w, "weight", {out, in});
  const T* dy = args.read(hdy, "dy", {batch, out});
  T* dw = args.written(hdw, "dweight", {out, in});
  T* dx = args.optional_written(hdx, "dx", {batch, in});
  if (!hrelu.is_none() && !dx)
    throw py::value_error("dense_backward: relu_output given without dx");
  if (accumulate_dx && (!dx || !hrelu.is_none()))
    throw py::value_error("dense_backward: accumulate_dx needs dx and no relu_output");
  const T* relu_output = args.optional_read(hrelu, "relu_output", {batch, in});
  T* db = args.optional_written(hdb, "dbias", {out});
  args.check_no_overlap();
  const DenseBackward<T> d{dx, dw, db, dy, x.data(), w.data(), batch, in, out, accumulate,
                           relu_output, accumulate_dx};
  const auto kernel = kernels<T>().dense_backward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void dense_backward(py::handle dx, py::handle dweight, py::handle dbias, py::handle dy,
                    py::handle x, py::handle weight, bool accumulate, py::handle relu_output,
                    bool accumulate_dx) {
  if (is_double(x))
    dense_backward_typed<double>(dx, dweight, dbias, dy, x, weight, accumulate, relu_output,
                                 accumulate_dx);
  else
    dense_backward_typed<float>(dx, dweight, dbias, dy, x, weight, accumulate, relu_output,
                                accumulate_dx);
}

ActivationFunction activation_function(const std::string& name) {
  if (name == "relu") return ActivationFunction::relu;
  if (name == "leaky_relu") return ActivationFunction::leaky_relu;
  if (name == "tanh") return ActivationFunction::tanh;
  if (name == "sigmoid") return ActivationFunction::sigmoid;
  if (name == "gelu") return ActivationFunction::gelu;
  if (name == "gelu_tanh") return ActivationFunction::gelu_tanh;
  throw py::value_error("unknown activation '" + name +
                        "'; choose relu, leaky_relu, tanh, sigmoid, gelu or gelu_tanh");
}

// Runs kernel(begin, end) over the n elements on the pool (one thread below
// kParallelMinElements); element-wise, so bitwise the same for any thread count.
template <class F>
void elementwise(int64_t n, F&& kernel) {
  py::gil_scoped_release nogil;
  for_each_range({n}, [&](int64_t, int64_t begin, int64_t end) { kernel(begin, end); });
}

template <class T>
void activation_forward_typed(ActivationFunction f, py::handle hy, py::handle hx, double slope,
                              py::handle hadd) {
  Args<T> args;
  auto x = args.array(hx, "x", Use::read);
  const T* addend = args.optional_read(hadd, "addend", shape_of(x, "x"));
  T* y = args.written(hy, "out", shape_of(x, "x"));
  args.check_no_overlap();
  const ActivationForward<T> a{y, x.data(), f, T(slope), addend};
  const auto kernel = kernels<T>().activation_forward;
  elementwise(x.size(), [&](int64_t b, int64_t e) { kernel(a, b, e); });
}

void activation_forward(const std::string& name, py::handle y, py::handle x, double slope,
                        py::handle addend) {
  const ActivationFunction f = activation_function(name);
  if (is_double(x)) activation_forward_typed<double>(f, y, x, slope, addend);
  else activation_forward_typed<float>(f, y, x, slope, addend);
}

template <class T>
void activation_backward_typed(ActivationFunction f, py::handle hdx, py::handle hdy,
                               py::handle hs, double slope) {
  Args<T> args;
  auto dy = args.array(hdy, "dy", Use::read);
  const T* s = args.read(hs, "saved", shape_of(dy, "dy"));
  T* dx = args.written(hdx, "dx", shape_of(dy, "dy"));
  args.check_no_overlap();
  const ActivationBackward<T> a{dx, dy.data(), s, f, T(slope)};
  const auto kernel = kernels<T>().activation_backward;
  elementwise(dy.size(), [&](int64_t b, int64_t e) { kernel(a, b, e); });
}

void activation_backward(const std::string& name, py::handle dx, py::handle dy, py::handle saved,
                         double slope) {
  const ActivationFunction f = activation_function(name);
  if (is_double(dy)) activation_backward_typed<double>(f, dx, dy, saved, slope);
  else activation_backward_typed<float>(f, dx, dy, saved, slope);
}

template <class T>
void approx_typed(ApproxFunction f, py::handle hy, py::handle hx) {
  Args<T> args;
  auto x = args.array(hx, "x", Use::read);
  T* y = args.written(hy, "out", shape_of(x, "x"));
  args.check_no_overlap();
  const auto kernel = kernels<T>().approx;
  const T* xp = x.data();
  elementwise(x.size(), [&](int64_t b, int64_t e) { kernel(f, y, xp, b, e); });
}

void approx(const std::string& name, py::handle y, py::handle x) {
  ApproxFunction f;
  if (name == "exp") f = ApproxFunction::exp;
  else if (name == "tanh") f = ApproxFunction::tanh;
  else if (name == "erf") f = ApproxFunction::erf;
  else throw py::value_error("approx: function must be 'exp', 'tanh' or 'erf', got '" + name + "'");
  if (is_double(x)) approx_typed<double>(f, y, x);
  else approx_typed<float>(f, y, x);
}

LossFunction loss_function(const std::string& name) {
  if (name == "mse") return LossFunction::mse;
  if (name == "mae") return LossFunction::mae;
  if (name == "huber") return LossFunction::huber;
  if (name == "bce_with_logits") return LossFunction::bce_with_logits;
  if (name == "cross_entropy") return LossFunction::cross_entropy;
  throw py::value_error("unknown loss '" + name +
                        "'; choose mse, mae, huber, bce_with_logits or cross_entropy");
}

template <class T>
double loss_typed(LossFunction f, py::handle hg, py::handle hp, py::handle ht, double delta) {
  Args<T> args;
  auto pred = args.array(hp, "pred", Use::read);
  if (pred.size() == 0) throw py::value_error("pred must not be empty");
  Loss<T> l{nullptr, pred.data(), nullptr, nullptr, 1, f, T(delta), T(0)};
  int64_t count = pred.size();  // elements, or rows for cross_entropy
  if (f == LossFunction::cross_entropy) {
    if (pred.ndim() != 2)
      throw py::value_error("cross_entropy: pred must be 2-d (batch, classes), got " +
                            shape_string(pred));
    count = pred.shape(0);
    l.cols = pred.shape(1);
    l.labels = args.read_int64(ht, "target", {count});
    for (int64_t i = 0; i < count; ++i)
      if (l.labels[i] < 0 || l.labels[i] >= l.cols)
        throw py::value_error("target[" + std::to_string(i) + "] = " +
                              std::to_string(l.labels[i]) + " is not a class index in [0, " +
                              std::to_string(l.cols) + ")");
  } else {
    l.target = args.read(ht, "target", shape_of(pred, "pred"));
  }
  if (f == LossFunction::huber && !(delta > 0))
    throw py::value_error("huber: delta must be > 0, got " + std::to_string(delta));
  l.grad = args.optional_written(hg, "grad", shape_of(pred, "pred"));
  args.check_no_overlap();
  const double n = double(count);
  l.scale = T(1.0 / n);
  const auto kernel = kernels<T>().loss;
  py::gil_scoped_release nogil;
  const auto sums = reduce_per_tensor<1>(
      {count}, [&](int64_t, int64_t b, int64_t e, double* out) { out[0] = kernel(l, b, e); });
  return sums[0][0] / n;
}

double loss(const std::string& name, py::handle grad, py::handle pred, py::handle target,
            double delta) {
  const LossFunction f = loss_function(name);
  if (is_double(pred)) return loss_typed<double>(f, grad, pred, target, delta);
  return loss_typed<float>(f, grad, pred, target, delta);
}

template <class T>
void dropout_typed(py::handle hy, py::handle hx, double p, uint64_t seed) {
  Args<T> args;
  auto x = args.array(hx, "x", Use::read);
  T* y = args.written(hy, "out", shape_of(x, "x"));
  args.check_no_overlap();
  const Dropout<T> d{y, x.data(), seed, uint32_t(std::lround(p * 16777216.0)),
                     p < 1 ? T(1) / T(1 - p) : T(0)};
  const auto kernel = kernels<T>().dropout;
  elementwise(x.size(), [&](int64_t b, int64_t e) { kernel(d, b, e); });
}

void dropout(py::handle y, py::handle x, double p, uint64_t seed) {
  if (!(p >= 0 && p <= 1))
    throw py::value_error("dropout probability has to be between 0 and 1, but got " +
                          std::to_string(p));
  if (is_double(x)) dropout_typed<double>(y, x, p, seed);
  else dropout_typed<float>(y, x, p, seed);
}

template <class T>
void layernorm_forward_typed(py::handle hy, py::handle hmean, py::handle hrstd, py::handle hx,
                             py::handle hw, py::handle hb, double eps) {
  Args<T> args;
  auto x = matrix(args, hx, "x", Use::read);
  const int64_t rows = x.shape(0), cols = x.shape(1);
  T* y = args.written(hy, "out", {rows, cols});
  if (rows < 1 || cols < 1)
    throw py::value_error("layernorm_forward: x " + shape_string(x) + " must not be empty");
  if (!(eps > 0)) throw py::value_error("layernorm_forward: eps must be > 0");
  if (hmean.is_none() != hrstd.is_none())
    throw py::value_error("layernorm_forward: give both mean and rstd, or neither");
  if (hb.is_none() == false && hw.is_none())
    throw py::value_error("layernorm_forward: bias given without weight");
  T* mean = args.optional_written(hmean, "mean", {rows});
  T* rstd = args.optional_written(hrstd, "rstd", {rows});
  const T* w = args.optional_read(hw, "weight", {cols});
  const T* b = args.optional_read(hb, "bias", {cols});
  args.check_no_overlap();
  const LayerNormForward<T> d{y, mean, rstd, x.data(), w, b, rows, cols, eps};
  const auto kernel = kernels<T>().layernorm_forward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void layernorm_forward(py::handle y, py::handle mean, py::handle rstd, py::handle x,
                       py::handle weight, py::handle bias, double eps) {
  if (is_double(x)) layernorm_forward_typed<double>(y, mean, rstd, x, weight, bias, eps);
  else layernorm_forward_typed<float>(y, mean, rstd, x, weight, bias, eps);
}

template <class T>
void layernorm_backward_typed(py::handle hdx, py::handle hdw, py::handle hdb, py::handle hdy,
                              py::handle hx, py::handle hmean, py::handle hrstd, py::handle hw,
                              bool accumulate) {
  Args<T> args;
  auto x = matrix(args, hx, "x", Use::read);
  const int64_t rows = x.shape(0), cols = x.shape(1);
  if (rows < 1 || cols < 1)
    throw py::value_error("layernorm_backward: x " + shape_string(x) + " must not be empty");
  const T* dy = args.read(hdy, "dy", {rows, cols});
  const T* mean = args.read(hmean, "mean", {rows});
  const T* rstd = args.read(hrstd, "rstd", {rows});
  const T* w = args.optional_read(hw, "weight", {cols});
  if (!hdw.is_none() && !w)
    throw py::value_error("layernorm_backward: dweight given without weight");
  T* dx = args.optional_written(hdx, "dx", {rows, cols});
  T* dw = args.optional_written(hdw, "dweight", {cols});
  T* db = args.optional_written(hdb, "dbias", {cols});
  args.check_no_overlap();
  const LayerNormBackward<T> d{dx, dw, db, dy, x.data(), mean, rstd, w, rows, cols, accumulate};
  const auto kernel = kernels<T>().layernorm_backward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void layernorm_backward(py::handle dx, py::handle dweight, py::handle dbias, py::handle dy,
                        py::handle x, py::handle mean, py::handle rstd, py::handle weight,
                        bool accumulate) {
  if (is_double(x))
    layernorm_backward_typed<double>(dx, dweight, dbias, dy, x, mean, rstd, weight, accumulate);
  else layernorm_backward_typed<float>(dx, dweight, dbias, dy, x, mean, rstd, weight, accumulate);
}

}  // namespace

void register_nn(py::module_& m) {
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("accumulate") = false, py::arg("bias") = py::none(),
        py::arg("activation") = "none",
        "c = op(a) @ op(b) (+ c if accumulate) (+ bias), then the activation; in place.");
  m.def("dense_forward", &dense_forward, py::arg("out"), py::arg("x"), py::arg("weight"),
        py::arg("bias"), py::arg("activation"),
        "out (B, out) = x (B, in) @ weight (out, in).T + bias, then 'none' or 'relu'.");
  m.def("dense_backward", &dense_backward, py::arg("dx"), py::arg("dweight"), py::arg("dbias"),
        py::arg("dy"), py::arg("x"), py::arg("weight"), py::arg("accumulate") = true,
        py::arg("relu_output") = py::none(), py::arg("accumulate_dx") = false,
        "dx = dy @ weight (if not None; dx += with accumulate_dx); dweight += dy.T @ x; dbias\n"
        "+= dy.sum(0) (if not None); with accumulate=False dweight and dbias are written (=)\n"
        "instead; with relu_output (x's shape) dx is 0 where relu_output is not > 0 (a ReLU's\n"
        "backward, fused).");
  m.def("activation_forward", &activation_forward, py::arg("name"), py::arg("out"), py::arg("x"),
        py::arg("negative_slope"), py::arg("addend") = py::none(),
        "out = f(x), or f(x + addend) (x's shape), element-wise.");
  m.def("activation_backward", &activation_backward, py::arg("name"), py::arg("dx"),
        py::arg("dy"), py::arg("saved"), py::arg("negative_slope"),
        "dx = dy * f'(x), from the saved x (y for tanh and sigmoid).");
  m.def("approx", &approx, py::arg("name"), py::arg("out"), py::arg("x"),
        "out = exp, tanh or erf of x by the kernels' own approximations (float32) or libm.");
  m.def("loss", &loss, py::arg("name"), py::arg("grad"), py::arg("pred"), py::arg("target"),
        py::arg("delta"), "The mean loss; writes d loss / d pred into grad unless it is None.");
  m.def("dropout", &dropout, py::arg("out"), py::arg("x"), py::arg("p"), py::arg("seed"),
        "out = x * keep(seed, i) / (1 - p), keep from a counter-based hash.");
  m.def("layernorm_forward", &layernorm_forward, py::arg("out"), py::arg("mean"), py::arg("rstd"),
        py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("eps"),
        "out (rows, C) = (x - mean) * rstd * weight + bias per row; mean, rstd (rows) saved\n"
        "unless None; weight, bias (C) or None.");
  m.def("layernorm_backward", &layernorm_backward, py::arg("dx"), py::arg("dweight"),
        py::arg("dbias"), py::arg("dy"), py::arg("x"), py::arg("mean"), py::arg("rstd"),
        py::arg("weight"), py::arg("accumulate") = true,
        "dx (rows, C) written unless None; dweight, dbias (C) added to (written with\n"
        "accumulate=False) unless None; from the forward's mean and rstd.");
}

}  // namespace bind
}  // namespace steepest
