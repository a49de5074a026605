// The update rules' bindings: each rule's hyperparameters as they come from Python, their checks
// (torch.optim's messages) and its state. The step itself is rule_step (step.h).
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>

#include "step.h"

namespace steepest {
namespace bind {

namespace {

// Python: (params, [momentum_buffer], None, lr, momentum, dampening, weight_decay, nesterov,
// maximize)
struct Sgd {
  using Hyper = SgdHyper;
  template <class T>
  using Scalars = SgdScalars<T>;
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"momentum_buffer"};
  static constexpr bool kCountsSteps = false;
  static constexpr bool kZeroState = false;  // the first step sets b = g
  static constexpr size_t kHyperCount = 6;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "momentum"), number(t, i + 2, "dampening"),
            number(t, i + 3, "weight_decay"), flag(t, i + 4, "nesterov"),
            flag(t, i + 5, "maximize")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.momentum), "Invalid momentum value", h.momentum);
    require(std::isfinite(h.dampening), "Invalid dampening value", h.dampening);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    if (h.nesterov && !(h.momentum > 0 && h.dampening == 0))
      throw std::invalid_argument("Nesterov momentum requires a momentum and zero dampening");
  }
  static bool uses_state(const Hyper& h, int) { return h.momentum != 0.0; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step) { return sgd_scalars<T>(h, step); }
  template <class T>
  static SgdKernel<T> kernel() { return kernels<T>().sgd; }
};

// Python: (params, [exp_avg], [exp_avg_sq], [max_exp_avg_sq], steps, lr, beta1, beta2, eps,
// weight_decay, amsgrad, maximize, decoupled_weight_decay)
struct Adam {
  using Hyper = AdamHyper;
  template <class T>
  using Scalars = AdamScalars<T>;
  static constexpr int kStates = 3;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kHyperCount = 8;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "betas[0]"), number(t, i + 2, "betas[1]"),
            number(t, i + 3, "eps"), number(t, i + 4, "weight_decay"), flag(t, i + 5, "amsgrad"),
            flag(t, i + 6, "maximize"), flag(t, i + 7, "decoupled_weight_decay")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
    require(in_unit_interval(h.beta1), "Invalid beta parameter at index 0", h.beta1);
    require(in_unit_interval(h.beta2), "Invalid beta parameter at index 1", h.beta2);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
  }
  static bool uses_state(const Hyper& h, int s) { return s < 2 || h.amsgrad; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step) { return adam_scalars<T>(h, step); }
  template <class T>
  static AdamKernel<T> kernel() { return kernels<T>().adam; }
};

}  // namespace

void register_optim(py::module_& m) {
  m.def("sgd_step", &rule_step<Sgd>, py::arg("groups"), py::arg("grads"));
  m.def("adam_step", &rule_step<Adam>, py::arg("groups"), py::arg("grads"));
  m.def("check_sgd", &check_only<Sgd>);
  m.def("check_adam", &check_only<Adam>);
}

}  // namespace bind
}  // namespace steepest
