// Update rules: check every array of a parameter group, release the GIL, run one fused kernel per
// tensor range in one parallel region.
#include <pybind11/pybind11.h>

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

void check_lengths(const char* rule, size_t count, std::initializer_list<size_t> lengths) {
  for (size_t n : lengths)
    if (n != count)
      throw py::value_error(std::string(rule) + ": the per-tensor lists must all have " +
                            std::to_string(count) + " entries, one has " + std::to_string(n));
}

void sgd_step(py::list params, py::list grads, py::list momentum_buffers, py::list first,
              py::list indices, bool check_only, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize) {
  const size_t count = params.size();
  const bool has_momentum = momentum != 0.0;
  check_lengths("sgd_step", count,
                {grads.size(), indices.size(), has_momentum ? momentum_buffers.size() : count,
                 has_momentum ? first.size() : count});
  const SgdHyper h{lr, momentum, dampening, weight_decay, nesterov, maximize};
  Batch<SgdTensor, SgdScalars, float> f32;
  Batch<SgdTensor, SgdScalars, double> f64;
  StepArrays arrays(indices);
  for (size_t k = 0; k < count; ++k) {
    const Array p = arrays.param(params[k], k);
    const Array g = arrays.grad(grads[k], k);
    Array b{nullptr, 0, p.dtype};
    bool is_first = false;
    if (has_momentum) {
      b = arrays.state(momentum_buffers[k], "momentum_buffer", k);
      is_first = first[k].cast<bool>();
    }
    if (p.dtype == Dtype::f32)
      f32.add({ptr<float>(p), ptr<float>(g), ptr<float>(b), is_first}, sgd_scalars<float>(h), p.size);
    else
      f64.add({ptr<double>(p), ptr<double>(g), ptr<double>(b), is_first}, sgd_scalars<double>(h),
              p.size);
  }
  arrays.check_no_overlap();
  if (check_only) return;
  py::gil_scoped_release nogil;
  f32.run(kernels<float>().sgd);
  f64.run(kernels<double>().sgd);
}

void adam_step(py::list params, py::list grads, py::list exp_avgs, py::list exp_avg_sqs,
               py::list max_exp_avg_sqs, py::list steps, py::list indices, bool check_only, double lr,
               double beta1, double beta2, double eps, double weight_decay,
               bool decoupled_weight_decay, bool amsgrad, bool maximize) {
  const size_t count = params.size();
  check_lengths("adam_step", count,
                {grads.size(), exp_avgs.size(), exp_avg_sqs.size(), steps.size(), indices.size(),
                 amsgrad ? max_exp_avg_sqs.size() : count});
  const AdamHyper h{lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize};
  Batch<AdamTensor, AdamScalars, float> f32;
  Batch<AdamTensor, AdamScalars, double> f64;
  StepArrays arrays(indices);
  for (size_t k = 0; k < count; ++k) {
    const Array p = arrays.param(params[k], k);
    const Array g = arrays.grad(grads[k], k);
    const Array m = arrays.state(exp_avgs[k], "exp_avg", k);
    const Array v = arrays.state(exp_avg_sqs[k], "exp_avg_sq", k);
    const Array vmax =
        amsgrad ? arrays.state(max_exp_avg_sqs[k], "max_exp_avg_sq", k) : Array{nullptr, 0, p.dtype};
    const auto step = steps[k].cast<int64_t>();
    if (step < 1)
      throw py::value_error("state[" + std::string(py::str(indices[k])) +
                            "]['step']: the step taken must be >= 1, got " + std::to_string(step));
    if (p.dtype == Dtype::f32)
      f32.add({ptr<float>(p), ptr<float>(g), ptr<float>(m), ptr<float>(v), ptr<float>(vmax), step},
              adam_scalars<float>(h, step), p.size);
    else
      f64.add({ptr<double>(p), ptr<double>(g), ptr<double>(m), ptr<double>(v), ptr<double>(vmax),
               step},
              adam_scalars<double>(h, step), p.size);
  }
  arrays.check_no_overlap();
  if (check_only) return;
  py::gil_scoped_release nogil;
  f32.run(kernels<float>().adam);
  f64.run(kernels<double>().adam);
}

}  // namespace

void register_optim(py::module_& m) {
  m.def("sgd_step", &sgd_step, py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"),
        py::arg("first"), py::arg("indices"), py::kw_only(), py::arg("check_only"), py::arg("lr"), py::arg("momentum"),
        py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"), py::arg("maximize"),
        "One SGD step over a parameter group, in place (see steepest.optim.SGD).");
  m.def("adam_step", &adam_step, py::arg("params"), py::arg("grads"), py::arg("exp_avgs"),
        py::arg("exp_avg_sqs"), py::arg("max_exp_avg_sqs"), py::arg("steps"), py::arg("indices"),
        py::kw_only(), py::arg("check_only"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("decoupled_weight_decay"), py::arg("amsgrad"),
        py::arg("maximize"),
        "One Adam/AdamW step over a parameter group, in place (see steepest.optim.Adam).");
}

}  // namespace bind
}  // namespace steepest
