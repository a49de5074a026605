// The trading losses (steepest/nn/trading_losses.h): arguments checked as the nn area's are
// (nn_args.h: dtype by value, C-contiguity, alignment, writeability, shapes, no overlap of grad
// with an input) before anything is written.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "nn_args.h"
#include "steepest/nn/trading_losses.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

template <class T>
double ratio_typed(RatioKind kind, py::handle hg, py::handle hp, py::handle hr, double cost,
                   double periods_per_year, double eps) {
  const char* name = kind == RatioKind::sharpe ? "sharpe" : "sortino";
  Args<T> args;
  auto p = args.array(hp, "pred", Use::read), r = args.array(hr, "target", Use::read);
  if (p.size() != r.size())
    throw py::value_error(std::string(name) + ": pred has " + std::to_string(p.size()) +
                          " positions but target " + std::to_string(r.size()) + " returns");
  if (p.size() < 2)
    throw py::value_error(std::string(name) + ": a batch needs at least 2 rows (a ratio of "
                          "one return has no deviation), got " + std::to_string(p.size()));
  if (!(cost >= 0) || !std::isfinite(cost))
    throw py::value_error(std::string(name) + ": cost must be a finite number >= 0");
  if (!(periods_per_year > 0) || !std::isfinite(periods_per_year))
    throw py::value_error(std::string(name) + ": periods_per_year must be a finite number > 0");
  if (!(eps > 0) || !std::isfinite(eps))
    throw py::value_error(std::string(name) + ": eps must be a finite number > 0");
  T* grad = args.optional_written(hg, "grad", shape_of(p, "pred"));
  args.check_no_overlap();
  const RatioLoss<T> l{grad, p.data(), r.data(), p.size(), cost, std::sqrt(periods_per_year), eps,
                       kind};
  py::gil_scoped_release nogil;
  return ratio_loss(l);
}

double ratio(const std::string& kind, py::handle grad, py::handle pred, py::handle target,
             double cost, double periods_per_year, double eps) {
  RatioKind k;
  if (kind == "sharpe") k = RatioKind::sharpe;
  else if (kind == "sortino") k = RatioKind::sortino;
  else throw py::value_error("ratio_loss: kind must be 'sharpe' or 'sortino', got '" + kind + "'");
  if (is_double(pred)) return ratio_typed<double>(k, grad, pred, target, cost, periods_per_year, eps);
  return ratio_typed<float>(k, grad, pred, target, cost, periods_per_year, eps);
}

template <class T>
double reinforce_typed(py::handle hg, py::handle hz, py::handle ht) {
  Args<T> args;
  auto z = args.array(hz, "pred", Use::read), t = args.array(ht, "target", Use::read);
  if (z.ndim() != 2 || z.shape(0) == 0 || z.shape(1) == 0)
    throw py::value_error("reinforce: pred must be the policy's logits (batch, actions), "
                          "not empty");
  const int64_t n = z.shape(0), A = z.shape(1);
  if (t.ndim() != 2 || t.shape(0) != n || t.shape(1) != 2)
    throw py::value_error("reinforce: target must be (" + std::to_string(n) +
                          ", 2): each row's action index and its advantage");
  const T* taken = t.data();
  for (int64_t i = 0; i < n; ++i) {
    const T a = taken[2 * i];
    if (!(a >= 0 && a < T(A)) || a != std::floor(a))
      throw py::value_error("reinforce: target[" + std::to_string(i) +
                            ", 0] must be an action index in [0, " + std::to_string(A) + ")");
  }
  T* grad = args.optional_written(hg, "grad", shape_of(z, "pred"));
  args.check_no_overlap();
  const Reinforce<T> l{grad, z.data(), taken, n, A};
  py::gil_scoped_release nogil;
  return reinforce_loss(l);
}

double reinforce(py::handle grad, py::handle pred, py::handle target) {
  if (is_double(pred)) return reinforce_typed<double>(grad, pred, target);
  return reinforce_typed<float>(grad, pred, target);
}

}  // namespace

void register_trading(py::module_& m) {
  m.def("ratio_loss", &ratio, py::arg("kind"), py::arg("grad"), py::arg("pred"),
        py::arg("target"), py::arg("cost"), py::arg("periods_per_year"), py::arg("eps"),
        "The negative annualized Sharpe ('sharpe') or Sortino ('sortino') ratio of the returns "
        "pred * target (less costs) over the batch; writes dL/dpred into grad unless None.");
  m.def("reinforce_loss", &reinforce, py::arg("grad"), py::arg("pred"), py::arg("target"),
        "REINFORCE's loss of a softmax policy (pred: logits (n, A); target (n, 2): the action "
        "taken and its advantage); writes dL/dpred into grad unless None.");
}

}  // namespace bind
}  // namespace steepest
