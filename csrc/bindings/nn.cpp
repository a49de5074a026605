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
#include <utility>
#include <vector>

#include "../runtime/parallel.h"
#include "nn_args.h"

#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

// A C-contiguous 2-d array of dtype T.
template <class T>
py::array_t<T> matrix(py::handle h, const char* name, bool written) {
  auto a = checked<T>(h, name, written);
  if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be 2-d");
  return a;
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
    auto v = checked<T>(hbias, "bias", false);
    if (v.ndim() != 1 || v.shape(0) != n)
      throw py::value_error("gemm: bias must be a 1-d array of " + std::to_string(n) +
                            " elements");
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
  if (is_double(c))
    gemm_typed<double>(a, b, c, trans_a, trans_b, accumulate, bias, act);
  else
    gemm_typed<float>(a, b, c, trans_a, trans_b, accumulate, bias, act);
}

bool same_shape(const py::array& a, const py::array& b) {
  if (a.ndim() != b.ndim()) return false;
  for (py::ssize_t d = 0; d < a.ndim(); ++d)
    if (a.shape(d) != b.shape(d)) return false;
  return true;
}

Activation epilogue(const std::string& activation, const char* where) {
  if (activation == "none") return Activation::none;
  if (activation == "relu") return Activation::relu;
  throw py::value_error(std::string(where) + ": activation must be 'none' or 'relu', got '" +
                        activation + "'");
}

template <class T>
void dense_forward_typed(py::handle hy, py::handle hx, py::handle hw, py::handle hb,
                         Activation activation) {
  auto x = matrix<T>(hx, "x", false), w = matrix<T>(hw, "weight", false);
  auto y = matrix<T>(hy, "out", true);
  const int64_t batch = x.shape(0), in = x.shape(1), out = w.shape(0);
  if (batch < 1 || in < 1 || out < 1)
    throw py::value_error("dense_forward: x " + shape_string(x) + " and weight " + shape_string(w) +
                          " must not be empty");
  require_shape(w, "weight", {out, in});
  require_shape(y, "out", {batch, out});
  Arrays arrays{{{"out", y}}, {{"x", x}, {"weight", w}}};
  const T* bias = nullptr;
  if (!hb.is_none()) {
    auto b = checked<T>(hb, "bias", false);
    require_shape(b, "bias", {out});
    arrays.read.push_back({"bias", b});
    bias = b.data();
  }
  arrays.check_no_overlap();
  const DenseForward<T> d{y.mutable_data(), x.data(), w.data(), bias, batch, in, out, activation};
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
                          py::handle hrelu) {
  auto dy = matrix<T>(hdy, "dy", false), x = matrix<T>(hx, "x", false);
  auto w = matrix<T>(hw, "weight", false), dw = matrix<T>(hdw, "dweight", true);
  const int64_t batch = x.shape(0), in = x.shape(1), out = w.shape(0);
  if (batch < 1 || in < 1 || out < 1)
    throw py::value_error("dense_backward: x " + shape_string(x) + " and weight " + shape_string(w) +
                          " must not be empty");
  require_shape(w, "weight", {out, in});
  require_shape(dy, "dy", {batch, out});
  require_shape(dw, "dweight", {out, in});
  Arrays arrays{{{"dweight", dw}}, {{"dy", dy}, {"x", x}, {"weight", w}}};
  T *dx = nullptr, *db = nullptr;
  if (!hdx.is_none()) {
    auto a = checked<T>(hdx, "dx", true);
    require_shape(a, "dx", {batch, in});
    arrays.written.push_back({"dx", a});
    dx = a.mutable_data();
  }
  const T* relu_output = nullptr;
  if (!hrelu.is_none()) {
    if (!dx) throw py::value_error("dense_backward: relu_output given without dx");
    auto a = checked<T>(hrelu, "relu_output", false);
    require_shape(a, "relu_output", {batch, in});
    arrays.read.push_back({"relu_output", a});
    relu_output = a.data();
  }
  if (!hdb.is_none()) {
    auto a = checked<T>(hdb, "dbias", true);
    require_shape(a, "dbias", {out});
    arrays.written.push_back({"dbias", a});
    db = a.mutable_data();
  }
  arrays.check_no_overlap();
  const DenseBackward<T> d{dx, dw.mutable_data(), db, dy.data(), x.data(), w.data(),
                           batch, in, out, accumulate, relu_output};
  const auto kernel = kernels<T>().dense_backward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void dense_backward(py::handle dx, py::handle dweight, py::handle dbias, py::handle dy,
                    py::handle x, py::handle weight, bool accumulate, py::handle relu_output) {
  if (is_double(x))
    dense_backward_typed<double>(dx, dweight, dbias, dy, x, weight, accumulate, relu_output);
  else dense_backward_typed<float>(dx, dweight, dbias, dy, x, weight, accumulate, relu_output);
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
void activation_forward_typed(ActivationFunction f, py::handle hy, py::handle hx, double slope) {
  auto x = checked<T>(hx, "x", false), y = checked<T>(hy, "out", true);
  if (!same_shape(x, y))
    throw py::value_error("out must have x's shape " + shape_string(x) + ", got " + shape_string(y));
  Arrays{{{"out", y}}, {{"x", x}}}.check_no_overlap();
  const ActivationForward<T> a{y.mutable_data(), x.data(), f, T(slope)};
  const auto kernel = kernels<T>().activation_forward;
  elementwise(x.size(), [&](int64_t b, int64_t e) { kernel(a, b, e); });
}

void activation_forward(const std::string& name, py::handle y, py::handle x, double slope) {
  const ActivationFunction f = activation_function(name);
  if (is_double(x)) activation_forward_typed<double>(f, y, x, slope);
  else activation_forward_typed<float>(f, y, x, slope);
}

template <class T>
void activation_backward_typed(ActivationFunction f, py::handle hdx, py::handle hdy,
                               py::handle hs, double slope) {
  auto dy = checked<T>(hdy, "dy", false), s = checked<T>(hs, "saved", false);
  auto dx = checked<T>(hdx, "dx", true);
  if (!same_shape(dy, s))
    throw py::value_error("saved must have dy's shape " + shape_string(dy) + ", got " + shape_string(s));
  if (!same_shape(dy, dx))
    throw py::value_error("dx must have dy's shape " + shape_string(dy) + ", got " + shape_string(dx));
  Arrays{{{"dx", dx}}, {{"dy", dy}, {"saved", s}}}.check_no_overlap();
  const ActivationBackward<T> a{dx.mutable_data(), dy.data(), s.data(), f, T(slope)};
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
  auto x = checked<T>(hx, "x", false), y = checked<T>(hy, "out", true);
  if (!same_shape(x, y))
    throw py::value_error("out must have x's shape " + shape_string(x) + ", got " + shape_string(y));
  Arrays{{{"out", y}}, {{"x", x}}}.check_no_overlap();
  const auto kernel = kernels<T>().approx;
  T* yp = y.mutable_data();
  const T* xp = x.data();
  elementwise(x.size(), [&](int64_t b, int64_t e) { kernel(f, yp, xp, b, e); });
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
  auto pred = checked<T>(hp, "pred", false);
  if (pred.size() == 0) throw py::value_error("pred must not be empty");
  Arrays arrays{{}, {{"pred", pred}}};
  Loss<T> l{nullptr, pred.data(), nullptr, nullptr, 1, f, T(delta), T(0)};
  int64_t count = pred.size();  // elements, or rows for cross_entropy
  if (f == LossFunction::cross_entropy) {
    if (pred.ndim() != 2)
      throw py::value_error("cross_entropy: pred must be 2-d (batch, classes), got " +
                            shape_string(pred));
    auto labels = checked<int64_t>(ht, "target", false);
    require_shape(labels, "target", {pred.shape(0)});
    count = pred.shape(0);
    l.cols = pred.shape(1);
    const int64_t* lab = labels.data();
    for (int64_t i = 0; i < count; ++i)
      if (lab[i] < 0 || lab[i] >= l.cols)
        throw py::value_error("target[" + std::to_string(i) + "] = " + std::to_string(lab[i]) +
                              " is not a class index in [0, " + std::to_string(l.cols) + ")");
    arrays.read.push_back({"target", labels});
    l.labels = lab;
  } else {
    auto target = checked<T>(ht, "target", false);
    if (!same_shape(pred, target))
      throw py::value_error("target must have pred's shape " + shape_string(pred) + ", got " +
                            shape_string(target));
    arrays.read.push_back({"target", target});
    l.target = target.data();
  }
  if (f == LossFunction::huber && !(delta > 0))
    throw py::value_error("huber: delta must be > 0, got " + std::to_string(delta));
  if (!hg.is_none()) {
    auto g = checked<T>(hg, "grad", true);
    if (!same_shape(pred, g))
      throw py::value_error("grad must have pred's shape " + shape_string(pred) + ", got " +
                            shape_string(g));
    arrays.written.push_back({"grad", g});
    l.grad = g.mutable_data();
  }
  arrays.check_no_overlap();
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
  auto x = checked<T>(hx, "x", false), y = checked<T>(hy, "out", true);
  if (!same_shape(x, y))
    throw py::value_error("out must have x's shape " + shape_string(x) + ", got " + shape_string(y));
  Arrays{{{"out", y}}, {{"x", x}}}.check_no_overlap();
  const Dropout<T> d{y.mutable_data(), x.data(), seed, uint32_t(std::lround(p * 16777216.0)),
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

// An optional array of `shape` (None gives null), recorded as written or read.
template <class T>
T* optional(py::handle h, const char* name, const std::vector<py::ssize_t>& shape, bool written,
            Arrays& arrays) {
  if (h.is_none()) return nullptr;
  auto a = checked<T>(h, name, written);
  require_shape(a, name, shape);
  (written ? arrays.written : arrays.read).push_back({name, a});
  return written ? a.mutable_data() : const_cast<T*>(a.data());  // read ones stay const below
}

template <class T>
void layernorm_forward_typed(py::handle hy, py::handle hmean, py::handle hrstd, py::handle hx,
                             py::handle hw, py::handle hb, double eps) {
  auto x = matrix<T>(hx, "x", false), y = matrix<T>(hy, "out", true);
  const int64_t rows = x.shape(0), cols = x.shape(1);
  if (rows < 1 || cols < 1)
    throw py::value_error("layernorm_forward: x " + shape_string(x) + " must not be empty");
  if (!(eps > 0)) throw py::value_error("layernorm_forward: eps must be > 0");
  require_shape(y, "out", {rows, cols});
  if (hmean.is_none() != hrstd.is_none())
    throw py::value_error("layernorm_forward: give both mean and rstd, or neither");
  if (hb.is_none() == false && hw.is_none())
    throw py::value_error("layernorm_forward: bias given without weight");
  Arrays arrays{{{"out", y}}, {{"x", x}}};
  T* mean = optional<T>(hmean, "mean", {rows}, true, arrays);
  T* rstd = optional<T>(hrstd, "rstd", {rows}, true, arrays);
  const T* w = optional<T>(hw, "weight", {cols}, false, arrays);
  const T* b = optional<T>(hb, "bias", {cols}, false, arrays);
  arrays.check_no_overlap();
  const LayerNormForward<T> d{y.mutable_data(), mean, rstd, x.data(), w, b, rows, cols, eps};
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
  auto dy = matrix<T>(hdy, "dy", false), x = matrix<T>(hx, "x", false);
  const int64_t rows = x.shape(0), cols = x.shape(1);
  if (rows < 1 || cols < 1)
    throw py::value_error("layernorm_backward: x " + shape_string(x) + " must not be empty");
  require_shape(dy, "dy", {rows, cols});
  auto mean = checked<T>(hmean, "mean", false), rstd = checked<T>(hrstd, "rstd", false);
  require_shape(mean, "mean", {rows});
  require_shape(rstd, "rstd", {rows});
  Arrays arrays{{}, {{"dy", dy}, {"x", x}, {"mean", mean}, {"rstd", rstd}}};
  const T* w = optional<T>(hw, "weight", {cols}, false, arrays);
  if (!hdw.is_none() && !w)
    throw py::value_error("layernorm_backward: dweight given without weight");
  T* dx = optional<T>(hdx, "dx", {rows, cols}, true, arrays);
  T* dw = optional<T>(hdw, "dweight", {cols}, true, arrays);
  T* db = optional<T>(hdb, "dbias", {cols}, true, arrays);
  arrays.check_no_overlap();
  const LayerNormBackward<T> d{dx, dw, db, dy.data(), x.data(), mean.data(), rstd.data(), w,
                               rows, cols, accumulate};
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
        py::arg("relu_output") = py::none(),
        "dx = dy @ weight (if not None); dweight += dy.T @ x; dbias += dy.sum(0) (if not None);\n"
        "with accumulate=False dweight and dbias are written (=) instead; with relu_output\n"
        "(x's shape) dx is 0 where relu_output is not > 0 (a ReLU's backward, fused).");
  m.def("activation_forward", &activation_forward, py::arg("name"), py::arg("out"), py::arg("x"),
        py::arg("negative_slope"), "out = f(x), element-wise.");
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
