// The bindings of the rules that need per-tensor norms between two passes (LAMB, LARS), and of the
// deterministic sum of squares itself. A step is one call: every check (gather_step, as for the
// one-pass rules), then with the GIL released: pass 1 with its per-tensor sums
// (reduce_per_tensor: bitwise the same for any thread count), the per-tensor scalars, pass 2.
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "step.h"

namespace steepest {
namespace bind {

namespace {

// Python: (params, [exp_avg], [exp_avg_sq], steps, None, lr, beta1, beta2, eps, weight_decay,
// max_weight_norm (inf for None), bias_correction, maximize)
struct Lamb {
  using Hyper = LambHyper;
  template <class T>
  using Scalars = LambScalars<T>;
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq"};
  static constexpr bool kCountsSteps = true;
  static constexpr bool kZeroState = true;
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 8;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "betas[0]"), number(t, i + 2, "betas[1]"),
            number(t, i + 3, "eps"), number(t, i + 4, "weight_decay"),
            number(t, i + 5, "max_weight_norm"), flag(t, i + 6, "bias_correction"),
            flag(t, i + 7, "maximize")};
  }
  static void check(const Hyper& h) {
    check_adam_family(h);
    require(h.max_weight_norm > 0.0, "Invalid max_weight_norm value", h.max_weight_norm);
  }
  static bool uses_state(const Hyper&, int) { return true; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinElements; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return lamb_scalars<T>(h, step);
  }
};

template <class T, class Batch>
void lamb_passes(Batch& batch) {
  if (batch.items.empty()) return;
  const Kernels<T>& k = kernels<T>();
  const auto sums = reduce_per_tensor<2>(
      batch.sizes, [&](int64_t t, int64_t begin, int64_t end, double* out) {
        k.lamb_moments(batch.items[t].tensor, batch.items[t].scalars, begin, end, out);
      },
      std::plus<double>(), batch.parallel_min);
  for (size_t t = 0; t < batch.items.size(); ++t) {
    auto& s = batch.items[t].scalars;
    s.neg_lr_trust = T(-s.lr * lamb_trust(s.max_weight_norm, sums[t][0], sums[t][1]));
  }
  batch.run(k.lamb_apply);
}

// Python: (params, [momentum_buffer], None, None, lr, momentum, weight_decay, trust_coefficient, eps,
// nesterov, exclude_1d, maximize)
struct Lars {
  using Hyper = LarsHyper;
  template <class T>
  using Scalars = LarsScalars<T>;
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"momentum_buffer"};
  static constexpr bool kCountsSteps = false;
  static constexpr bool kZeroState = false;  // the first step sets b = g'
  static constexpr size_t kScalarStates = 0;
  static constexpr size_t kHyperCount = 8;

  static Hyper hyper(const py::tuple& t, size_t i) {
    return {number(t, i, "lr"), number(t, i + 1, "momentum"), number(t, i + 2, "weight_decay"),
            number(t, i + 3, "trust_coefficient"), number(t, i + 4, "eps"),
            flag(t, i + 5, "nesterov"), flag(t, i + 6, "exclude_1d"), flag(t, i + 7, "maximize")};
  }
  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Invalid learning rate", h.lr);
    require(finite_nonnegative(h.momentum), "Invalid momentum value", h.momentum);
    require(finite_nonnegative(h.weight_decay), "Invalid weight_decay value", h.weight_decay);
    require(finite_nonnegative(h.trust_coefficient) && h.trust_coefficient > 0.0,
            "Invalid trust_coefficient value", h.trust_coefficient);
    require(finite_nonnegative(h.eps), "Invalid epsilon value", h.eps);
    if (h.nesterov && !(h.momentum > 0))
      throw std::invalid_argument("Nesterov momentum requires a momentum");
  }
  static bool uses_state(const Hyper& h, int) { return h.momentum != 0.0; }
  static int64_t parallel_min(const Hyper&) { return kParallelMinLight; }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t, double*) { return {h, {}}; }
};

template <class T, class Batch>
void lars_passes(Batch& batch) {
  if (batch.items.empty()) return;
  const Kernels<T>& k = kernels<T>();
  auto adapts = [&](size_t t) {
    return !batch.items[t].scalars.hyper.exclude_1d || batch.ndims[t] > 1;
  };
  const auto sums = reduce_per_tensor<2>(
      batch.sizes, [&](int64_t t, int64_t begin, int64_t end, double* out) {
        if (adapts(size_t(t))) {
          k.sum_squares(batch.items[t].tensor.param, batch.items[t].tensor.grad, begin, end, out);
        } else {
          out[0] = out[1] = 0.0;
        }
      },
      std::plus<double>(), batch.parallel_min);
  for (size_t t = 0; t < batch.items.size(); ++t) {
    auto& s = batch.items[t].scalars;
    const bool adapt = adapts(t);
    const double l =
        adapt ? lars_local_lr(s.hyper, s.hyper.weight_decay, sums[t][0], sums[t][1]) : 1.0;
    s.sgd = lars_sgd_scalars<T>(s.hyper, adapt, l);
  }
  const auto sgd = k.sgd;
  batch.run([sgd](const StepTensor<T>& t, const LarsScalars<T>& s, int64_t begin, int64_t end) {
    sgd(t, s.sgd, begin, end);
  });
}

int lars_step(py::list groups, py::list grads, int nonfinite, py::handle counts) {
  const StepCounter counter(counts);
  Gathered<Lars> step = gather_step<Lars>(groups, grads, nonfinite_policy(nonfinite));
  if (step.created == kSkipped) {
    counter.skipped();
    return kSkipped;
  }
  {
    py::gil_scoped_release nogil;
    lars_passes<float>(step.f32);
    lars_passes<double>(step.f64);
  }
  counter.applied();
  return step.created;
}

int lamb_step(py::list groups, py::list grads, int nonfinite, py::handle counts) {
  const StepCounter counter(counts);
  Gathered<Lamb> step = gather_step<Lamb>(groups, grads, nonfinite_policy(nonfinite));
  if (step.created == kSkipped) {
    counter.skipped();
    return kSkipped;
  }
  {
    py::gil_scoped_release nogil;
    lamb_passes<float>(step.f32);
    lamb_passes<double>(step.f64);
  }
  counter.applied();
  return step.created;
}

template <class T>
std::vector<double> sum_squares_of(const std::vector<py::array>& arrays) {
  std::vector<const T*> data;
  std::vector<int64_t> sizes;
  for (const py::array& a : arrays) {
    data.push_back(static_cast<const T*>(a.data()));
    sizes.push_back(int64_t(a.size()));
  }
  std::vector<double> out(arrays.size());
  {
    py::gil_scoped_release nogil;
    const auto kernel = kernels<T>().sum_squares;
    const auto sums = reduce_per_tensor<2>(
        sizes, [&](int64_t t, int64_t begin, int64_t end, double* partial) {
          kernel(data[t], data[t], begin, end, partial);
        });
    for (size_t t = 0; t < sums.size(); ++t) out[t] = sums[t][0];
  }
  return out;
}

// sum_squares(arrays) -> [sum of x^2 per array], in double, as a step's norms are computed.
// Every array has the dtype of arrays[0], float32 or float64.
py::list sum_squares(py::list list) {
  std::vector<py::array> arrays;
  bool f64 = false;
  for (size_t k = 0; k < list.size(); ++k) {
    const std::string name = "arrays[" + std::to_string(k) + "]";
    if (k == 0 && py::isinstance<py::array>(list[0])) {
      const auto dtype = py::reinterpret_borrow<py::array>(list[0]).dtype();
      f64 = dtype.equal(py::dtype::of<double>());
      if (!f64 && !dtype.equal(py::dtype::of<float>()))
        throw py::type_error(name + ": expected a float32 or float64 array in native byte order, "
                                    "got " + std::string(py::str(dtype)));
    }
    arrays.push_back(kernel_array(list[k], name,
                                  f64 ? py::dtype::of<double>() : py::dtype::of<float>(), false));
  }
  const std::vector<double> sums =
      f64 ? sum_squares_of<double>(arrays) : sum_squares_of<float>(arrays);
  py::list out;
  for (double s : sums) out.append(s);
  return out;
}

}  // namespace

void register_norms(py::module_& m) {
  def_step(m, "lamb_step", &lamb_step);
  m.def("check_lamb", &check_only<Lamb>);
  def_step(m, "lars_step", &lars_step);
  m.def("check_lars", &check_only<Lars>);
  m.def("sum_squares", &sum_squares, py::arg("arrays"),
        "Sum of squares of each array, in double; bitwise the same for any thread count.");
}

}  // namespace bind
}  // namespace steepest
