// The update rules' bindings: each rule's hyperparameters as they come from Python, their checks
// (torch.optim's messages) and its state. The step itself is rule_step (step.h).
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>

#include "step.h"

namespace steepest {
namespace bind {

namespace {

// Python: (params, [momentum_buffer], None, None, lr, momentum, dampening, weight_decay, nesterov,
// maximize)
struct Sgd {
  using Hyper = SgdHyper;
  template <class T>
  using Scalars = SgdScalars<T>;
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"momentum_buffer"};
  static constexpr bool kCountsSteps = false;
  static constexpr bool kZeroState = false;  // the first step sets b = g
  static constexpr size_t kScalarStates = 0;
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
  static int64_t parallel_min(const Hyper& h) {
    return h.momentum != 0.0 ? kParallelMinLight : kParallelMinBare;
  }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) { return sgd_scalars<T>(h, step); }
  template <class T>
  static SgdKernel<T> kernel() { return kernels<T>().sgd; }
};

// Python: (params, [exp_avg], [exp_avg_sq], [max_exp_avg_sq], steps, None, lr, beta1, beta2, eps,
// weight_decay, amsgrad, maximize, decoupled_weight_decay)
struct Adam {
  using Hyper = AdamHyper;
  template <class T>
  using Scalars = AdamScalars<T>;
  static constexpr int kStates = 3;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 8;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "betas[0]"), number(t, i + 2, "betas[1]"),
            number(t, i + 3, "eps"), number(t, i + 4, "weight_decay"), flag(t, i + 5, "amsgrad"),
            flag(t, i + 6, "maximize"), flag(t, i + 7, "decoupled_weight_decay")};
  }
  static void check(const Hyper& h) {
    check_adam_family(h);
  }
  static bool uses_state(const Hyper& h, int s) { return s < 2 || h.amsgrad; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinElements; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) { return adam_scalars<T>(h, step); }
  template <class T>
  static AdamKernel<T> kernel() { return kernels<T>().adam; }
};

// Python: (params, [square_avg], [momentum_buffer], [grad_avg], steps, None, lr, alpha, eps,
// weight_decay, momentum, centered, maximize)
struct Rmsprop {
  using Hyper = RmspropHyper;
  template <class T>
  using Scalars = RmspropScalars<T>;
  static constexpr int kStates = 3;
  static constexpr const char* kStateKeys[] = {"square_avg", "momentum_buffer", "grad_avg"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 7;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "alpha"), number(t, i + 2, "eps"),
            number(t, i + 3, "weight_decay"), number(t, i + 4, "momentum"),
            flag(t, i + 5, "centered"), flag(t, i + 6, "maximize")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
    require(finite_nonnegative(h.momentum), "Invalid momentum value", h.momentum);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    require(finite_nonnegative(h.alpha), "Invalid alpha value", h.alpha);
  }
  static bool uses_state(const Hyper& h, int s) {
    return s == 0 || (s == 1 && h.momentum > 0.0) || (s == 2 && h.centered);
  }
  static int64_t parallel_min(const Hyper&) { return kParallelMinElements; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return rmsprop_scalars<T>(h, step);
  }
  template <class T>
  static RmspropKernel<T> kernel() { return kernels<T>().rmsprop; }
};

// Python: (params, [sum], steps, None, lr, lr_decay, weight_decay, initial_accumulator_value,
// eps, maximize)
struct Adagrad {
  using Hyper = AdagradHyper;
  template <class T>
  using Scalars = AdagradScalars<T>;
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"sum"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = false;  // the first step starts s at initial_accumulator_value
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 6;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "lr_decay"), number(t, i + 2, "weight_decay"),
            number(t, i + 3, "initial_accumulator_value"), number(t, i + 4, "eps"),
            flag(t, i + 5, "maximize")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.lr_decay), "Invalid lr_decay value", h.lr_decay);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    require(finite_nonnegative(h.initial_accumulator_value),
            "Invalid initial_accumulator_value value", h.initial_accumulator_value);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinElements; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return adagrad_scalars<T>(h, step);
  }
  template <class T>
  static AdagradKernel<T> kernel() { return kernels<T>().adagrad; }
};

// Python: (params, [square_avg], [acc_delta], steps, None, lr, rho, eps, weight_decay, maximize)
struct Adadelta {
  using Hyper = AdadeltaHyper;
  template <class T>
  using Scalars = AdadeltaScalars<T>;
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"square_avg", "acc_delta"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 5;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "rho"), number(t, i + 2, "eps"),
            number(t, i + 3, "weight_decay"), flag(t, i + 4, "maximize")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(0.0 <= h.rho && h.rho <= 1.0, "Invalid rho value", h.rho);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinElements; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return adadelta_scalars<T>(h, step);
  }
  template <class T>
  static AdadeltaKernel<T> kernel() { return kernels<T>().adadelta; }
};

// Python: (params, [exp_avg], [exp_inf], steps, None, lr, beta1, beta2, eps, weight_decay,
// maximize)
struct Adamax {
  using Hyper = AdamaxHyper;
  template <class T>
  using Scalars = AdamaxScalars<T>;
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_inf"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 6;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "betas[0]"), number(t, i + 2, "betas[1]"),
            number(t, i + 3, "eps"), number(t, i + 4, "weight_decay"), flag(t, i + 5, "maximize")};
  }
  static void check(const Hyper& h) {
    check_adam_family(h);
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return adamax_scalars<T>(h, step);
  }
  template <class T>
  static AdamaxKernel<T> kernel() { return kernels<T>().adamax; }
};

// Python: (params, [exp_avg], [exp_avg_sq], steps, mu_products (n, 1), lr, beta1, beta2, eps,
// weight_decay, momentum_decay, decoupled_weight_decay, maximize)
struct Nadam {
  using Hyper = NadamHyper;
  template <class T>
  using Scalars = NadamScalars<T>;
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 1;  // mu_product
  static constexpr size_t kHyperCount = 8;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "betas[0]"), number(t, i + 2, "betas[1]"),
            number(t, i + 3, "eps"), number(t, i + 4, "weight_decay"),
            number(t, i + 5, "momentum_decay"), flag(t, i + 6, "decoupled_weight_decay"),
            flag(t, i + 7, "maximize")};
  }
  static void check(const Hyper& h) {
    check_adam_family(h);
    require(finite_nonnegative(h.momentum_decay), "Invalid momentum_decay value",
            h.momentum_decay);
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinElements; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double* mu_product) {
    return nadam_scalars<T>(h, step, *mu_product);
  }
  template <class T>
  static NadamKernel<T> kernel() { return kernels<T>().nadam; }
};

// Python: (params, [exp_avg], [exp_avg_sq], steps, None, lr, beta1, beta2, eps, weight_decay,
// decoupled_weight_decay, maximize)
struct Radam {
  using Hyper = RadamHyper;
  template <class T>
  using Scalars = RadamScalars<T>;
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 7;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "betas[0]"), number(t, i + 2, "betas[1]"),
            number(t, i + 3, "eps"), number(t, i + 4, "weight_decay"),
            flag(t, i + 5, "decoupled_weight_decay"), flag(t, i + 6, "maximize")};
  }
  static void check(const Hyper& h) {
    check_adam_family(h);
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinElements; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return radam_scalars<T>(h, step);
  }
  template <class T>
  static RadamKernel<T> kernel() { return kernels<T>().radam; }
};

// Python: (params, [prev], [step_size], steps, None, lr, etaminus, etaplus, step_size_min,
// step_size_max, maximize)
struct Rprop {
  using Hyper = RpropHyper;
  template <class T>
  using Scalars = RpropScalars<T>;
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"prev", "step_size"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = false;  // the first step starts prev at 0, step_size at lr
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 6;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "etas[0]"), number(t, i + 2, "etas[1]"),
            number(t, i + 3, "step_sizes[0]"), number(t, i + 4, "step_sizes[1]"),
            flag(t, i + 5, "maximize")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    if (!(0.0 < h.etaminus && h.etaminus < 1.0 && 1.0 < h.etaplus))
      throw std::invalid_argument("Invalid eta values: " +
                                  std::string(py::repr(py::float_(h.etaminus))) + ", " +
                                  std::string(py::repr(py::float_(h.etaplus))));
    if (!(h.step_size_min <= h.step_size_max))
      throw std::invalid_argument("Invalid step_sizes: " +
                                  std::string(py::repr(py::float_(h.step_size_min))) + ", " +
                                  std::string(py::repr(py::float_(h.step_size_max))));
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return rprop_scalars<T>(h, step);
  }
  template <class T>
  static RpropKernel<T> kernel() { return kernels<T>().rprop; }
};

// Python: (params, [ax], steps, None, lr, lambd, alpha, t0, weight_decay, maximize)
struct Asgd {
  using Hyper = AsgdHyper;
  template <class T>
  using Scalars = AsgdScalars<T>;
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"ax"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 2;  // eta, mu
  static constexpr size_t kHyperCount = 6;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "lambd"), number(t, i + 2, "alpha"),
            number(t, i + 3, "t0"), number(t, i + 4, "weight_decay"), flag(t, i + 5, "maximize")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    require(std::isfinite(h.lambd), "Invalid lambd value", h.lambd);
    require(std::isfinite(h.alpha), "Invalid alpha value", h.alpha);
    require(!std::isnan(h.t0), "Invalid t0 value", h.t0);
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double* eta_mu) {
    return asgd_scalars<T>(h, step, eta_mu);
  }
  template <class T>
  static AsgdKernel<T> kernel() { return kernels<T>().asgd; }
};

// Python: (params, [exp_avg], None, None, lr, beta1, beta2, weight_decay, maximize)
struct Lion {
  using Hyper = LionHyper;
  template <class T>
  using Scalars = LionScalars<T>;
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"exp_avg"};
  static constexpr bool kCountsSteps = false;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 5;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "betas[0]"), number(t, i + 2, "betas[1]"),
            number(t, i + 3, "weight_decay"), flag(t, i + 4, "maximize")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(0.0 <= h.beta1 && h.beta1 <= 1.0, "Invalid beta parameter at index 0", h.beta1);
    require(0.0 <= h.beta2 && h.beta2 <= 1.0, "Invalid beta parameter at index 1", h.beta2);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return lion_scalars<T>(h, step);
  }
  template <class T>
  static LionKernel<T> kernel() { return kernels<T>().lion; }
};

}  // namespace

void register_optim(py::module_& m) {
  def_step(m, "sgd_step", &rule_step<Sgd>);
  def_step(m, "adam_step", &rule_step<Adam>);
  m.def("check_sgd", &check_only<Sgd>);
  m.def("check_adam", &check_only<Adam>);
  def_step(m, "rmsprop_step", &rule_step<Rmsprop>);
  m.def("check_rmsprop", &check_only<Rmsprop>);
  def_step(m, "adagrad_step", &rule_step<Adagrad>);
  m.def("check_adagrad", &check_only<Adagrad>);
  def_step(m, "adadelta_step", &rule_step<Adadelta>);
  m.def("check_adadelta", &check_only<Adadelta>);
  def_step(m, "adamax_step", &rule_step<Adamax>);
  m.def("check_adamax", &check_only<Adamax>);
  def_step(m, "nadam_step", &rule_step<Nadam>);
  m.def("check_nadam", &check_only<Nadam>);
  def_step(m, "radam_step", &rule_step<Radam>);
  m.def("check_radam", &check_only<Radam>);
  def_step(m, "rprop_step", &rule_step<Rprop>);
  m.def("check_rprop", &check_only<Rprop>);
  def_step(m, "asgd_step", &rule_step<Asgd>);
  m.def("check_asgd", &check_only<Asgd>);
  def_step(m, "lion_step", &rule_step<Lion>);
  m.def("check_lion", &check_only<Lion>);
}

}  // namespace bind
}  // namespace steepest
