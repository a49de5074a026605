// The update rules' bindings: every rule listed by its header (steepest/optim/rule.h) as it is,
// and here the rules of several passes (LAMB, LARS, Adafactor): their checks of the
// hyperparameters (torch.optim's messages), their state and how their step runs. The step
// itself is rule_step (step.h); the hyperparameters are read by their Hyper's list
// (steepest/optim/hyper.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "step.h"

namespace steepest {
namespace bind {

namespace {

// LAMB and LARS: the checks of gather_step, then the passes of csrc/optim/driver_norms.cc.
struct Lamb : Gathers<Lamb>, RuleDefaults<LambHyper, LambScalars> {
  static constexpr int kStates = 2;
  static constexpr const char* kStateKeys[] = {"exp_avg", "exp_avg_sq"};

  static void check(const Hyper& h) {
    check_adam_family(h);
    require(h.max_weight_norm > 0.0, "Invalid max_weight_norm value", h.max_weight_norm);
  }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return lamb_scalars<T>(h, step);
  }
  static constexpr bool kTakes16Bit = true;  // also on 16-bit storage
  static void run(Gathered<Lamb>& step) {
    lamb_passes(step.f32);
    lamb_passes(step.f64);
    lamb_passes(step.low);
  }
};

struct Lars : Gathers<Lars>, RuleDefaults<LarsHyper, LarsScalars> {
  static constexpr int kStates = 1;
  static constexpr const char* kStateKeys[] = {"momentum_buffer"};
  static constexpr bool kCountsSteps = false;
  static constexpr bool kZeroState = false;  // the first step sets b = g'

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
  static constexpr bool kTakes16Bit = true;  // also on 16-bit storage
  static void run(Gathered<Lars>& step) {
    lars_passes(step.f32);
    lars_passes(step.f64);
    lars_passes(step.low);
  }
};

// Adafactor: the checks of gather_step, with its state shapes, then the driver of
// csrc/optim/driver_adafactor.cc. A param of 2+ dims, (..., R, C), has row_var (..., R, 1) and
// col_var (..., 1, C); one of fewer has variance, of its shape. Also on 16-bit storage
// (AdafactorLowStep: whole tensors widened).
struct Adafactor : Gathers<Adafactor>, RuleDefaults<AdafactorHyper, AdafactorScalars> {
  template <class T>
  using Tensors = AdafactorStep<T>;
  template <class = void>
  using LowTensors = AdafactorLowStep;
  static constexpr bool kTakes16Bit = true;
  static constexpr int kStates = 3;
  static constexpr const char* kStateKeys[] = {"row_var", "col_var", "variance"};

  static void check(const Hyper& h) {
    require(finite_nonnegative(h.lr), "Learning rate should be >= 0 but is", h.lr);
    require(h.beta2_decay <= 0.0 && std::isfinite(h.beta2_decay),
            "beta2_decay should be <= 0 but is", h.beta2_decay);
    require(std::isnan(h.eps1) || finite_nonnegative(h.eps1), "epsilon1 should be >= 0 but is",
            h.eps1);
    require(finite_nonnegative(h.eps2), "epsilon2 should be >= 0 but is", h.eps2);
    require(h.d >= 1.0 && std::isfinite(h.d), "Clipping threshold d should be >= 1 but is", h.d);
    require(finite_nonnegative(h.weight_decay), "weight_decay should be >= 0 but is",
            h.weight_decay);
  }
  // Every state is in use where it exists; which exist depends on the dims (state_shape).
  static StateShape state_shape(int s, py::handle param, std::vector<py::ssize_t>& shape) {
    const auto* p = py::detail::array_proxy(param.ptr());
    const int nd = p->nd;
    if (s == 2) return nd > 1 ? StateShape::absent : StateShape::param;  // variance
    if (nd < 2) return StateShape::absent;
    shape.assign(p->dimensions, p->dimensions + nd);
    shape[s == 0 ? nd - 1 : nd - 2] = 1;  // row_var (..., R, 1), col_var (..., 1, C)
    return StateShape::own;
  }
  template <class T>
  static Scalars<T> scalars(const Hyper& h, int64_t step, double*) {
    return adafactor_scalars<T>(h, step);
  }
  // The tensor as (batches, R, C) over its last two dims, or (1, 1, n) with fewer.
  static AdafactorLowStep::Shape shape(py::handle param, int64_t n) {
    const auto* a = py::detail::array_proxy(param.ptr());
    if (a->nd < 2) return {1, 1, n, false};
    const int64_t R = a->dimensions[a->nd - 2], C = a->dimensions[a->nd - 1];
    return {R * C > 0 ? n / (R * C) : 0, R, C, true};
  }
  template <class T>
  static void add(AdafactorStep<T>& step, size_t, py::handle param, const Array& p,
                  const Array& g, void* const* states, int64_t count, bool, const Hyper& h,
                  double*) {
    const AdafactorLowStep::Shape s = shape(param, p.size);
    step.tensors.push_back({static_cast<T*>(p.data), static_cast<const T*>(g.data),
                            static_cast<T*>(states[0]), static_cast<T*>(states[1]),
                            static_cast<T*>(states[2]), nullptr, s.batches, s.rows, s.cols,
                            s.factored, 0, 0});
    step.scalars.push_back(scalars<T>(h, count, nullptr));
  }
  template <class... Rest>
  static void add_low(AdafactorLowStep& low, py::handle param, const Array& p, Rest&&... rest) {
    add_low_tensor<Adafactor>(low, p, std::forward<Rest>(rest)...);
    low.shapes.push_back(shape(param, p.size));
  }
  // Cuts the tensors into chunks and allocates their scratch (may throw).
  static void prepare(Gathered<Adafactor>& step) {
    const int threads = get_num_threads();
    step.f32.prepare(threads);
    step.f64.prepare(threads);
    step.low.prepare(threads);
  }
  static void run(Gathered<Adafactor>& step) {
    step.f32.run();
    step.f64.run();
    step.low.run();
  }
};

// The rules listed by their headers (steepest/optim/rule.h): the header's struct, with the
// kernel of its field in the active table.
#define STEEPEST_BIND_HEADER_RULE(name, Struct)       \
  struct Struct##Binding : Struct, OnePass<Struct##Binding> { \
    template <class T>                                \
    static Struct::Kernel<T> kernel() {               \
      return kernels<T>().name;                       \
    }                                                 \
  };
STEEPEST_HEADER_RULES(STEEPEST_BIND_HEADER_RULE)
#undef STEEPEST_BIND_HEADER_RULE

}  // namespace

// The update rules of several passes, written here: X(name, Rule). Each, like each rule listed
// by its header, is registered as <name>_step, check_<name> and rules[name] (step.h's def_rule).
#define STEEPEST_RULES(X) \
  X(lamb, Lamb)           \
  X(lars, Lars)           \
  X(adafactor, Adafactor)

void register_optim(py::module_& m) {
  // An optimizer's memory of its last step (check.h); a copy starts empty.
  py::class_<StepCache>(m, "StepCache", "An optimizer's memory of its last step's checks.")
      .def(py::init<>())
      .def(py::pickle([](const StepCache&) { return py::tuple(); },
                      [](const py::tuple&) { return StepCache(); }));
  py::dict rules;
#define STEEPEST_DEF_RULE(name, Rule) def_rule<Rule>(m, rules, #name);
#define STEEPEST_DEF_HEADER_RULE(name, Struct) def_rule<Struct##Binding>(m, rules, #name);
  STEEPEST_RULES(STEEPEST_DEF_RULE)
  STEEPEST_HEADER_RULES(STEEPEST_DEF_HEADER_RULE)
#undef STEEPEST_DEF_HEADER_RULE
#undef STEEPEST_DEF_RULE
  m.attr("rules") = rules;
  m.def("state_like", [](py::array values, int slot) {
    if (slot < -1 || slot >= kMaxStates) throw py::value_error("slot: a state index, or -1");
    const auto* a = py::detail::array_proxy(values.ptr());
    py::array out = state_array(py::reinterpret_borrow<py::dtype>(a->descr),
                                std::vector<py::ssize_t>(a->dimensions, a->dimensions + a->nd),
                                false, slot < 0 ? kMasterSlot : slot);
    out[py::ellipsis()] = values;
    return out;
  }, py::arg("values"), py::arg("slot"),
     "A copy of `values` placed as the optimizers place a new state array `slot` (a state's\n"
     "index, or -1 for a master copy): loaded state dicts lie as fresh state does.");

  // Blockwise 8-bit state (csrc/include/steepest/optim/precision.h): its maps are built now, so
  // that a failed check of their construction raises at import rather than in a step; and for
  // its tests.
  quant_map(true);
  quant_map(false);
  m.def("quant_map", [](bool is_signed) {
    const QuantMap& q = quant_map(is_signed);
    return py::make_tuple(py::array_t<float>(256, q.code), py::array_t<float>(8, q.threshold));
  }, py::arg("is_signed"), "The dynamic map's codes and the midpoints around its decades.");
  m.def("_allow_avx512_vbmi", &allow_avx512_vbmi, py::arg("allowed"),
        "Tests only: whether the avx512 target may use AVX-512 VBMI where the CPU has it.");
  m.def("_quantize", [](py::array_t<float, py::array::c_style> x, bool is_signed) {
    const int64_t n = x.size();
    py::array_t<uint8_t> codes(n);
    py::array_t<float> absmax((n + kQuantBlock - 1) / kQuantBlock);
    kernels<float>().quantize(x.data(), n, is_signed, codes.mutable_data(), absmax.mutable_data());
    return py::make_tuple(codes, absmax);
  }, py::arg("x"), py::arg("is_signed"), "Tests only: x (float32) in blockwise 8 bits.");
  m.def("_dequantize", [](py::array_t<uint8_t, py::array::c_style> codes,
                          py::array_t<float, py::array::c_style> absmax, bool is_signed) {
    const int64_t n = codes.size();
    if (absmax.size() != (n + kQuantBlock - 1) / kQuantBlock)
      throw py::value_error("one absmax per block of 256");
    py::array_t<float> x(n);
    kernels<float>().dequantize(codes.data(), absmax.data(), is_signed, x.mutable_data(), n);
    return x;
  }, py::arg("codes"), py::arg("absmax"), py::arg("is_signed"),
     "Tests only: float32 values of blockwise 8-bit codes.");
}

}  // namespace bind
}  // namespace steepest
