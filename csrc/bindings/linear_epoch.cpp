// linear_epoch: a run of mini-batch steps of a linear model in one call
// (steepest/nn/linear_epoch.h), for the estimators' linear models. Every argument is checked
// (dtype by value, shape, C-contiguity, alignment, writeability, indices in range, no overlap
// between an array written and any other) before any array is touched and before the GIL is
// released; a call that raises writes nothing. The rule's hyperparameters come as the
// optimizer's tuple for its <rule>_step (read by the rule's Hyper list), checked by the caller
// with check_<rule>.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <string>

#include "nn_args.h"
#include "step.h"

#include "steepest/nn/linear_epoch.h"
#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

LossFunction loss_of(const std::string& name) {
  if (name == "mse") return LossFunction::mse;
  if (name == "mae") return LossFunction::mae;
  if (name == "huber") return LossFunction::huber;
  if (name == "bce_with_logits") return LossFunction::bce_with_logits;
  if (name == "cross_entropy") return LossFunction::cross_entropy;
  throw py::value_error("linear_epoch: loss must be mse, mae, huber, bce_with_logits or "
                        "cross_entropy, got '" + name + "'");
}

// Indices of `name` (n,) all in [0, bound).
void require_indices(const int64_t* a, int64_t n, int64_t bound, const char* name) {
  for (int64_t i = 0; i < n; ++i)
    if (a[i] < 0 || a[i] >= bound)
      throw py::value_error(std::string("linear_epoch: ") + name + "[" + std::to_string(i) +
                            "] = " + std::to_string(a[i]) + " is not in [0, " +
                            std::to_string(bound) + ")");
}

// TypeError "linear_epoch: <list>[i] must be a <type>, got <h's type>".
[[noreturn]] void wrong_type(py::handle h, const char* list, int i, const char* type) {
  throw py::type_error(std::string("linear_epoch: ") + list + "[" + std::to_string(i) +
                       "] must be a " + type + ", got " +
                       std::string(py::str(h.get_type().attr("__name__"))));
}

template <class T>
double run(py::handle hx, py::handle htargets, py::handle horder, int64_t rows, int64_t first,
           int64_t end, double total, const std::string& loss, double delta, double l1,
           py::handle hw, py::handle hb, py::handle hdw, py::handle hdb, const std::string& rule,
           py::tuple hyper, py::list states, py::list steps) {
  Args<T> args;
  auto w = args.array(hw, "weight", Use::written), x = args.array(hx, "x", Use::read);
  if (w.ndim() != 2 || x.ndim() != 2)
    throw py::value_error("linear_epoch: weight " + shape_string(w) + " and x " +
                          shape_string(x) + " must be 2-d");
  const int64_t n = x.shape(0), F = x.shape(1), K = w.shape(0);
  if (n < 1 || F < 1 || K < 1)
    throw py::value_error("linear_epoch: x " + shape_string(x) + " and weight " +
                          shape_string(w) + " must not be empty");
  require_shape(w, "weight", {K, F});
  LinearEpoch<T> e{};
  e.weight = w.mutable_data();
  e.x = x.data();
  e.bias = args.written(hb, "bias", {K});
  e.dweight = args.written(hdw, "dweight", {K, F});
  e.dbias = args.written(hdb, "dbias", {K});
  if (rows < 1) throw py::value_error("linear_epoch: rows must be >= 1");
  const int64_t batches = (n + rows - 1) / rows;
  if (!(0 <= first && first <= end && end <= batches))
    throw py::value_error("linear_epoch: the batches [" + std::to_string(first) + ", " +
                          std::to_string(end) + ") are not within the " +
                          std::to_string(batches) + " of the data");
  e.n = n;
  e.features = F;
  e.outputs = K;
  e.rows = rows;
  e.first_batch = first;
  e.end_batch = end;
  e.loss = loss_of(loss);
  if (e.loss == LossFunction::huber && !(delta > 0))
    throw py::value_error("linear_epoch: huber's delta must be > 0, got " + std::to_string(delta));
  e.delta = T(delta);
  if (!(l1 >= 0 && l1 < std::numeric_limits<double>::infinity()))
    throw py::value_error("linear_epoch: l1 must be a finite number >= 0, got " +
                          std::to_string(l1));
  e.l1 = l1;
  if (e.loss == LossFunction::cross_entropy) {
    e.labels = args.read_int64(htargets, "targets", {n});
    require_indices(e.labels, n, K, "targets");
  } else {
    e.targets = args.read(htargets, "targets", {n, K});
  }
  if (!horder.is_none()) {
    e.order = args.read_int64(horder, "order", {n});
    require_indices(e.order, n, n, "order");
  }
  // the rule: per tensor its group's hyperparameters, state arrays and step count
  if (rule != "sgd" && rule != "adam")
    throw py::value_error("linear_epoch: rule must be 'sgd' or 'adam', got '" + rule + "'");
  e.rule = rule == "sgd" ? LinearRule::sgd : LinearRule::adam;
  if (hyper.size() != 2 || states.size() != 2 || steps.size() != 2)
    throw py::value_error("linear_epoch: hyper, states and steps must have one entry per "
                          "tensor (weight, bias)");
  static const char* const kState[2][kMaxStates] = {
      {"state[0][0]", "state[0][1]", "state[0][2]", "state[0][3]"},
      {"state[1][0]", "state[1][1]", "state[1][2]", "state[1][3]"}};
  static const char* const kSteps[2] = {"steps[0]", "steps[1]"};
  for (int i = 0; i < 2; ++i) {
    const py::handle hh = hyper[size_t(i)], hl = states[size_t(i)];
    if (!py::isinstance<py::tuple>(hh)) wrong_type(hh, "hyper", i, "tuple");
    if (!py::isinstance<py::list>(hl)) wrong_type(hl, "states", i, "list");
    const auto h = py::reinterpret_borrow<py::tuple>(hh);
    bool used[kMaxStates] = {};
    if (e.rule == LinearRule::sgd) {
      if (h.size() != hyper_count<SgdHyper>())
        throw py::value_error("linear_epoch: hyper[" + std::to_string(i) + "] has " +
                              std::to_string(h.size()) + " values, sgd takes " +
                              std::to_string(hyper_count<SgdHyper>()));
      e.sgd[i] = read_hyper<SgdHyper>(h, 0);
      used[0] = e.sgd[i].momentum != 0.0;
    } else {
      if (h.size() != hyper_count<AdamHyper>())
        throw py::value_error("linear_epoch: hyper[" + std::to_string(i) + "] has " +
                              std::to_string(h.size()) + " values, adam takes " +
                              std::to_string(hyper_count<AdamHyper>()));
      e.adam[i] = read_hyper<AdamHyper>(h, 0);
      used[0] = used[1] = true;
      used[2] = e.adam[i].amsgrad;
    }
    const auto list = py::reinterpret_borrow<py::list>(hl);
    if (list.size() > size_t(kMaxStates))
      throw py::value_error("linear_epoch: too many state arrays");
    for (size_t s = 0; s < size_t(kMaxStates); ++s) {
      const py::handle a = s < list.size() ? py::handle(list[s]) : py::handle(Py_None);
      if (!used[s]) continue;
      if (a.is_none())
        throw py::value_error(std::string("linear_epoch: ") + kState[i][s] +
                              " is missing: the optimizer's first step creates its state");
      e.state[i][s] = args.written(a, kState[i][s], i == 0 ? Shape{K, F} : Shape{K});
    }
    const py::handle hs = steps[size_t(i)];
    if (e.rule == LinearRule::adam) {
      e.steps[i] = args.written_int64(hs, kSteps[i], {});
      const int64_t count = *e.steps[i];
      if (count < 0 || count > std::numeric_limits<int64_t>::max() - (end - first))
        throw py::value_error(std::string("linear_epoch: ") + kSteps[i] + " = " +
                              std::to_string(count) + " cannot advance by " +
                              std::to_string(end - first));
    } else if (!hs.is_none()) {
      throw py::value_error(std::string("linear_epoch: ") + kSteps[i] + " must be None for sgd");
    }
  }
  args.check_no_overlap();
  py::gil_scoped_release nogil;
  return linear_epoch(e, total);
}

double linear_epoch_any(py::handle x, py::handle targets, py::handle order, int64_t rows,
                        int64_t first, int64_t end, double total, const std::string& loss,
                        double delta, double l1, py::handle weight, py::handle bias,
                        py::handle dweight, py::handle dbias, const std::string& rule,
                        py::tuple hyper, py::list states, py::list steps) {
  if (is_double(weight))
    return run<double>(x, targets, order, rows, first, end, total, loss, delta, l1, weight, bias,
                       dweight, dbias, rule, hyper, states, steps);
  return run<float>(x, targets, order, rows, first, end, total, loss, delta, l1, weight, bias,
                    dweight, dbias, rule, hyper, states, steps);
}

}  // namespace

void register_linear_epoch(py::module_& m) {
  m.def("linear_epoch", &linear_epoch_any, py::arg("x"), py::arg("targets"), py::arg("order"),
        py::arg("rows"), py::arg("first"), py::arg("end"), py::arg("total"), py::arg("loss"),
        py::arg("delta"), py::arg("l1"), py::arg("weight"), py::arg("bias"), py::arg("dweight"),
        py::arg("dbias"), py::arg("rule"), py::arg("hyper"), py::arg("states"), py::arg("steps"),
        "Batches [first, end) of mini-batch gradient descent on a linear model "
        "(steepest/nn/linear_epoch.h); returns total + sum of value * rows.");
}

}  // namespace bind
}  // namespace steepest
