// Update rules: one call per optimizer step, over every parameter group. Every array of every
// group is checked (and missing state created) with the GIL held; then the GIL is released and
// each dtype's tensors run in one parallel region.
//
// Arguments are positional tuples: pybind11 matches keyword arguments by building and hashing
// their names on every call, which costs more than a small step.
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "../runtime/parallel.h"
#include "check.h"
#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace {

template <class T>
T* ptr(const Array& a) { return static_cast<T*>(a.data); }

// The tensors of one dtype in a step, with their per-tensor scalars and sizes.
template <template <class> class Tensor, template <class> class Scalars, class T>
struct Batch {
  struct Item {
    Tensor<T> tensor;
    Scalars<T> scalars;
  };
  std::vector<Item> items;
  std::vector<int64_t> sizes;

  void add(const Tensor<T>& t, const Scalars<T>& s, int64_t size) {
    items.push_back({t, s});
    sizes.push_back(size);
  }
  template <class Kernel>
  void run(Kernel kernel) const {
    for_each_range(sizes, [&](int64_t t, int64_t begin, int64_t end) {
      kernel(items[t].tensor, items[t].scalars, begin, end);
    });
  }
};

// Both dtypes' batches of a rule.
template <template <class> class Tensor, template <class> class Scalars>
struct Batches {
  Batch<Tensor, Scalars, float> f32;
  Batch<Tensor, Scalars, double> f64;
};

// Hyperparameter checks, with torch.optim's messages.
void require(bool ok, const char* what, double value) {
  if (!ok) throw std::invalid_argument(std::string(what) + ": " + std::string(py::repr(py::float_(value))));
}
bool finite_nonnegative(double x) { return 0.0 <= x && x < INFINITY; }
bool in_unit_interval(double x) { return 0.0 <= x && x < 1.0; }

// Entry i of a group tuple, named `name` in the error when it is not a number / a bool.
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

// The per-group lists of a step, and the flat index of the group's first parameter.
struct Group {
  py::tuple args;
  py::list params;
  size_t first;
};

// Splits `groups` (a list of per-group tuples whose first entry is the list of params) and checks
// that `grads` has one entry per parameter.
std::vector<Group> split_groups(py::list groups, py::list grads, size_t tuple_size) {
  std::vector<Group> out;
  size_t first = 0;
  for (py::handle g : groups) {
    auto args = py::reinterpret_borrow<py::tuple>(g);
    if (args.size() != tuple_size) throw std::logic_error("internal: a group tuple of the wrong size");
    auto params = args[0].cast<py::list>();
    out.push_back({args, params, first});
    first += params.size();
  }
  if (grads.size() != first)
    throw py::value_error("step: expected " + std::to_string(first) +
                          " grads, one per parameter, got " + std::to_string(grads.size()));
  return out;
}

// ---- SGD --------------------------------------------------------------------------------------

void check_hyper(const SgdHyper& h) {
  require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
  require(finite_nonnegative(h.momentum), "Invalid momentum value", h.momentum);
  require(std::isfinite(h.dampening), "Invalid dampening value", h.dampening);
  require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
  if (h.nesterov && !(h.momentum > 0 && h.dampening == 0))
    throw std::invalid_argument("Nesterov momentum requires a momentum and zero dampening");
}

SgdHyper sgd_hyper(const py::tuple& t) {
  // (params, momentum_buffers, lr, momentum, dampening, weight_decay, nesterov, maximize)
  return {number(t, 2, "lr"), number(t, 3, "momentum"), number(t, 4, "dampening"),
          number(t, 5, "weight_decay"), flag(t, 6, "nesterov"), flag(t, 7, "maximize")};
}

// Returns the number of state arrays created.
int sgd_step(py::list groups, py::list grads) {
  Batches<SgdTensor, SgdScalars> batches;
  StepArrays arrays;
  int created = 0;
  for (const Group& group : split_groups(groups, grads, 8)) {
    const SgdHyper h = sgd_hyper(group.args);
    check_hyper(h);
    const bool has_momentum = h.momentum != 0.0;
    py::list buffers = has_momentum ? group.args[1].cast<py::list>() : py::list();
    if (has_momentum && buffers.size() != group.params.size())
      throw std::logic_error("internal: momentum_buffers of the wrong length");
    for (size_t i = 0; i < group.params.size(); ++i) {
      const size_t k = group.first + i;
      if (grads[k].is_none()) continue;
      const Array p = arrays.param(group.params[i], k);
      const Array g = arrays.grad(grads[k], k);
      Array b{nullptr, 0, p.dtype};
      bool first = false;  // no buffer yet: this step sets it to the gradient
      if (has_momentum) b = arrays.state(buffers, i, "momentum_buffer", k, false, first);
      created += first;
      if (p.dtype == Dtype::f32)
        batches.f32.add({ptr<float>(p), ptr<float>(g), ptr<float>(b), first},
                        sgd_scalars<float>(h), p.size);
      else
        batches.f64.add({ptr<double>(p), ptr<double>(g), ptr<double>(b), first},
                        sgd_scalars<double>(h), p.size);
    }
  }
  arrays.check_no_overlap();
  py::gil_scoped_release nogil;
  batches.f32.run(kernels<float>().sgd);
  batches.f64.run(kernels<double>().sgd);
  return created;
}

// ---- Adam / AdamW -----------------------------------------------------------------------------

void check_hyper(const AdamHyper& h) {
  require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
  require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
  require(in_unit_interval(h.beta1), "Invalid beta parameter at index 0", h.beta1);
  require(in_unit_interval(h.beta2), "Invalid beta parameter at index 1", h.beta2);
  require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
}

AdamHyper adam_hyper(const py::tuple& t, bool decoupled) {
  // (params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
  //  lr, beta1, beta2, eps, weight_decay, amsgrad, maximize)
  return {number(t, 5, "lr"), number(t, 6, "betas[0]"), number(t, 7, "betas[1]"),
          number(t, 8, "eps"), number(t, 9, "weight_decay"), decoupled, flag(t, 10, "amsgrad"),
          flag(t, 11, "maximize")};
}

int adam_step(py::list groups, py::list grads, bool decoupled_weight_decay) {
  Batches<AdamTensor, AdamScalars> batches;
  StepArrays arrays;
  std::vector<int64_t*> stepped;  // the step counts to advance once every check has passed
  int created = 0;
  for (const Group& group : split_groups(groups, grads, 12)) {
    const AdamHyper h = adam_hyper(group.args, decoupled_weight_decay);
    check_hyper(h);
    const size_t n = group.params.size();
    auto exp_avgs = group.args[1].cast<py::list>();
    auto exp_avg_sqs = group.args[2].cast<py::list>();
    py::list max_sqs = h.amsgrad ? group.args[3].cast<py::list>() : py::list();
    if (exp_avgs.size() != n || exp_avg_sqs.size() != n || (h.amsgrad && max_sqs.size() != n))
      throw std::logic_error("internal: state lists of the wrong length");
    int64_t* steps = step_counts(group.args[4], n, group.first);
    for (size_t i = 0; i < n; ++i) {
      const size_t k = group.first + i;
      if (grads[k].is_none()) continue;
      if (steps[i] < 0)
        throw py::value_error(arg_name("state", "step", k) + ": expected a count >= 0, got " +
                              std::to_string(steps[i]));
      const Array p = arrays.param(group.params[i], k);
      const Array g = arrays.grad(grads[k], k);
      bool fresh = false;
      const Array m = arrays.state(exp_avgs, i, "exp_avg", k, true, fresh);
      const Array v = arrays.state(exp_avg_sqs, i, "exp_avg_sq", k, true, fresh);
      Array vmax{nullptr, 0, p.dtype};
      if (h.amsgrad) vmax = arrays.state(max_sqs, i, "max_exp_avg_sq", k, true, fresh);
      created += fresh;
      const int64_t step = steps[i] + 1;
      stepped.push_back(&steps[i]);
      if (p.dtype == Dtype::f32)
        batches.f32.add({ptr<float>(p), ptr<float>(g), ptr<float>(m), ptr<float>(v),
                         ptr<float>(vmax), step},
                        adam_scalars<float>(h, step), p.size);
      else
        batches.f64.add({ptr<double>(p), ptr<double>(g), ptr<double>(m), ptr<double>(v),
                         ptr<double>(vmax), step},
                        adam_scalars<double>(h, step), p.size);
    }
  }
  arrays.check_no_overlap();
  for (int64_t* s : stepped) ++*s;
  py::gil_scoped_release nogil;
  batches.f32.run(kernels<float>().adam);
  batches.f64.run(kernels<double>().adam);
  return created;
}

}  // namespace

void register_optim(py::module_& m) {
  m.def("sgd_step", &sgd_step, py::arg("groups"), py::arg("grads"),
        "One SGD step over every group (see steepest.optim.SGD); returns the number of state "
        "arrays created.");
  m.def("adam_step", &adam_step, py::arg("groups"), py::arg("grads"),
        py::arg("decoupled_weight_decay"),
        "One Adam/AdamW step over every group (see steepest.optim.Adam); returns the number of "
        "state arrays created.");
  m.def("check_sgd", [](double lr, double momentum, double dampening, double weight_decay,
                        bool nesterov) {
    check_hyper(SgdHyper{lr, momentum, dampening, weight_decay, nesterov, false});
  });
  m.def("check_adam", [](double lr, double beta1, double beta2, double eps, double weight_decay) {
    check_hyper(AdamHyper{lr, beta1, beta2, eps, weight_decay, false, false, false});
  });
}

}  // namespace bind
}  // namespace steepest
