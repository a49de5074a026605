// The binding of every update rule: one call per optimizer step, over every parameter group.
//
//   <rule>_step(groups, grads, nonfinite=0, counts=None) -> number of state arrays created, or
//           kSkipped
//   groups: one tuple per group:
//             (params, state list per state key..., steps, scalar_states, hyperparameters...)
//           a state list holds None where the state does not exist yet (it is created here);
//           steps is an int64 array of the group's step counts (None for rules without one);
//           scalar_states is a float64 array of shape (len(params), kScalarStates) (None for
//           rules without per-tensor scalar state); the hyperparameters come in the order of
//           the rule's names (_core.rules[rule]["hyper"], from its Hyper list: hyper.h), which
//           Python orders its values by
//   grads:  one entry per parameter of all groups, None where a parameter has no gradient
//           (it is skipped, as torch does)
//   nonfinite: the non-finite guard's policy (nonfinite.h): 0 propagate, 1 skip, 2 raise.
//           A skipped step returns kSkipped and changes nothing, the state lists included:
//           with the guard on, missing state is created only once the scan has passed.
//   counts: the optimizer's (applied, skipped) step counters, an int64 array of 2 (or None),
//           advanced as the step's last act (StepCounter).
//   cache:  the optimizer's _core.StepCache (or None): what its last step's overlap check
//           passed (check.h).
//
// Every step is rule_step<Rule>: gather_step checks every array of every group (and creates
// missing state) with the GIL held, applies the non-finite guard and advances the step counts;
// then the GIL is released and Rule::run makes the step's passes. One-pass rules (OnePass) run
// their kernel over each dtype's tensors in one parallel loop; LAMB, LARS and Adafactor run
// their drivers (csrc/optim/driver.h).
//
// A Rule (derived from Gathers<Rule>) provides: Hyper, Scalars<T>, kStates, kStateKeys,
// kCountsSteps, kZeroState (new state is zeroed, or left for the kernel to set because `fresh`
// tells it), kScalarStates, check(hyper), uses_state(hyper, i), parallel_min(hyper) (a step of
// fewer elements runs on one thread: parallel.h) and scalars<T>(hyper, step, scalar_state).
// Gathers gives the rest, which a rule whose tensors are not Batches of param-shaped state
// (Adafactor) declares for itself: Tensors<T>, the tensors of one dtype as run() takes them
// (a Batch); LowTensors<>, those with 16-bit storage (a LowBatch); state_shape, the
// state-shape policy (StateShape below); add and add_low, which add a checked tensor to its
// Tensors<T> or LowTensors<>; prepare, which readies them (and may allocate) before the step
// changes anything.
//
// Per-tensor scalar state: a few rules keep, per tensor, a number that is not a function of the
// step count (NAdam's mu_product, the running product of its momentum coefficients). Such a rule
// sets kScalarStates = K > 0; Python keeps one float64 array of shape (n, K) per group, beside
// the step counts, starting each tensor's row at the rule's initial values, and shows
// state[i][key] as a 0-d view into it, as it does 'step'. scalars<T>(hyper, step, row) reads the
// tensor's row and writes the advanced values into it; gather_step hands it a copy and stores
// the copy back only once every check of the step has passed, with the step counts, so a failed
// step changes nothing. Rules without such state have K = 0 and get a null row.
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../optim/driver.h"
#include "../optim/precision.h"
#include "check.h"
#include "nonfinite.h"
#include "steepest/optim/rule.h"
#include "steepest/targets.h"

namespace steepest {
namespace bind {

// Entry i of a group tuple, named `name` in the error when it is not a number / a bool.
double number(const py::tuple& t, size_t i, const char* name);
bool flag(const py::tuple& t, size_t i, const char* name);

// A rule's hyperparameters from t[offset:], in the order of Hyper's list (hyper.h), each named
// in an error by its name there.
template <class Hyper>
Hyper read_hyper(const py::tuple& t, size_t offset) {
  Hyper h{};
  size_t i = offset;
  Hyper::each(h, [&](const char* name, auto& field) {
    if constexpr (std::is_same_v<std::remove_reference_t<decltype(field)>, bool>)
      field = flag(t, i++, name);
    else
      field = number(t, i++, name);
  });
  return h;
}

// The number of a rule's hyperparameters.
template <class Hyper>
constexpr size_t hyper_count() {
  return sizeof(Hyper::kNames) / sizeof(Hyper::kNames[0]);
}
// The optimizer's counters of applied and skipped steps. C++ advances them as a step's last act,
// so that a step either happened and counts, or did not: an exception raised after the call
// returns (Ctrl-C is delivered at the next bytecode) cannot separate the step from its count,
// and Python tells a finished step from a failed one by the counters (Optimizer.step).
class StepCounter {
 public:
  // counts: None (no counters) or a writable int64 array of 2 below their limit; checked here,
  // before the step changes anything.
  explicit StepCounter(py::handle counts);
  void applied() const { if (counts_) ++counts_[0]; }
  void skipped() const { if (counts_) ++counts_[1]; }

 private:
  int64_t* counts_ = nullptr;
};
// The optimizer's _core.StepCache (check.h), or null for None; TypeError for anything else.
StepCache* step_cache(py::handle cache);
// Throws ValueError naming state[k]['step'] unless the count can advance: 0 <= count < 2**63 - 1
// (advancing past int64's range would be undefined behaviour).
void check_step_count(int64_t count, size_t k);
// The total number of parameters in `groups`; throws ValueError unless grads has one each.
size_t check_grads_length(const py::list& groups, const py::list& grads);

// The checked tensors of one step, by dtype, and the number of state arrays created. `low`:
// the tensors with 16-bit storage (csrc/optim/precision.h), for the rules that take it.
template <class Rule>
struct Gathered {
  typename Rule::template Tensors<float> f32;
  typename Rule::template Tensors<double> f64;
  typename Rule::template LowTensors<> low;
  int created = 0;
};

// The state-shape policy: the shape of state array s of a tensor, for each state the rule uses
// (uses_state). `param`: the array has the param's shape (every rule's state, Gathers'
// default); `own`: a shape of its own, which Rule::state_shape(s, param, shape) writes to
// `shape` (Adafactor's row_var (..., R, 1) and col_var (..., 1, C)); `absent`: the tensor has
// no such state (Adafactor's variance for a param of 2+ dims, its factors for fewer).
enum class StateShape { absent, param, own };

// A step's 16-bit options (csrc/optim/precision.h), from Python's `precision` argument: None
// (none), or (state_dtype, rounding, seed, counter, masters):
//   state_dtype  0: float32 for a 16-bit param (else the param's dtype), 1: bfloat16,
//                2: the param's dtype, 16-bit ones included (torch's fused steps: the drop-in),
//                3: blockwise 8-bit (int8: the rules with Rule::kTakesInt8);
//   rounding     0: nearest, 1: stochastic, of a 16-bit param without a master copy;
//   seed, counter: stochastic rounding's seed and the optimizer's count of steps taken;
//   masters      None, or one list per group of the params' float32 master copies (None where
//                not created yet: created here from the param, at its first step).
struct Precision {
  bool state_bf16 = false;
  bool state_like_param = false;
  bool state_q8 = false;
  Rounding rounding = Rounding::nearest;
  uint64_t seed = 0;
  int64_t counter = 0;
  py::object masters = py::none();  // a list of lists, or None

  bool active() const { return state_bf16 || state_q8 || !masters.is_none(); }
};
Precision read_precision(py::handle precision);

// Throws unless params[k], of `dtype`, may take the step's options (Python checks them first,
// in the optimizer's constructor; this guards the binding).
void check_precision(const Precision& prec, Dtype dtype, size_t k);

// Points state s of `t` at its array: the data itself, or for 8-bit state the absmax at the
// front of the bytes (check.h's q8_bytes) and the codes after them.
inline void set_low_state(LowTensor& t, int s, void* data, int64_t n) {
  if (t.state_as != Storage::q8) {
    t.state[s] = data;
    return;
  }
  t.absmax[s] = static_cast<float*>(data);
  t.state[s] = static_cast<uint8_t*>(data) + (q8_bytes(n) - n);
}

// Adds a tensor with 16-bit storage; its scalars are computed for it (no sharing: Batch's).
// (Rule::add_low calls it.)
template <class Rule>
void add_low_tensor(LowBatch<typename Rule::template Scalars<float>>& batch, const Array& p,
                    const Array& g, void* const* states, Storage state_as, float* master,
                    bool master_fresh, int64_t step, bool fresh, const typename Rule::Hyper& h,
                    double* scalar_state, const Precision& prec, size_t k) {
  const Storage param_as = p.dtype == Dtype::bf16 ? Storage::bf16
                           : p.dtype == Dtype::f16 ? Storage::f16 : Storage::f32;
  constexpr unsigned kAll = (1u << Rule::kStates) - 1;
  LowTensor t{p.data, g.data, param_as, {}, state_as, {}, kAll & ~Rule::kNonNegativeStates,
              master, master_fresh, step, fresh, prec.rounding,
              stochastic_key(prec.seed, prec.counter, k)};
  for (int s = 0; s < Rule::kStates; ++s)
    if (states[s]) set_low_state(t, s, states[s], p.size);
  batch.items.push_back({t, Rule::template scalars<float>(h, step, scalar_state)});
  batch.sizes.push_back(p.size);
  batch.ndims.push_back(p.ndim);
}

// What a step returns when the non-finite guard skipped it.
constexpr int kSkipped = -1;

// A state array to create once the non-finite guard has passed the step: list[i], for the
// param `param` (its shape by the rule's policy), pointed to by state `s` of item `item` of the
// f32, f64 or low tensors (s = -1: the master copy of a low item; `as` the low item's storage
// of the array).
struct PendingState {
  py::list list;
  size_t i;
  py::handle param;
  Dtype batch;  // f32, f64, or bf16 for the low batch
  size_t item;
  int s;
  Dtype as;
};

// Checks every array of every group (creating missing state, of the shapes Rule::state_shape
// gives), applies the non-finite guard, prepares the tensors (Rule::prepare) and advances the
// step counts and the per-tensor scalar state; with the GIL held. Throws before any array is
// touched. A skipped step has no tensors and created == kSkipped.
template <class Rule>
Gathered<Rule> gather_step(py::list groups, py::list grads, Nonfinite policy, StepCache* cache,
                           const Precision& prec = Precision()) {
  constexpr int S = Rule::kStates;
  constexpr size_t K = Rule::kScalarStates;
  constexpr size_t kSteps = 1 + S, kScalarStates = 2 + S, kHyper = 3 + S;
  const size_t total = check_grads_length(groups, grads);
  Gathered<Rule> out;
  auto& f32 = out.f32;
  auto& f64 = out.f64;
  f32.reserve(total);
  f64.reserve(total);
  int& created = out.created;
  StepArrays arrays(total * (2 + S));
  std::vector<int64_t*> stepped;  // step counts to advance once every check has passed
  std::vector<double*> scalar_rows;  // per-tensor scalar state to store then, and its new values
  std::vector<double> scalar_values;
  std::vector<GradRef> scanned;  // for the non-finite guard
  std::vector<PendingState> pending;
  std::vector<py::ssize_t> shape;  // of a state array of a shape of its own (StateShape::own)
  const bool scan = policy != Nonfinite::propagate;
  auto& low = out.low;
  size_t first = 0;  // flat index of the group's first parameter
  size_t group_index = 0;
  for (py::handle handle : groups) {
    auto group = py::reinterpret_borrow<py::tuple>(handle);
    if (group.size() != kHyper + hyper_count<typename Rule::Hyper>())
      throw std::logic_error("internal: a group tuple of the wrong size");
    auto params = group[0].cast<py::list>();
    const size_t n = params.size();
    const auto h = read_hyper<typename Rule::Hyper>(group, kHyper);
    Rule::check(h);
    f32.parallel_min = f64.parallel_min = low.parallel_min =
        std::max(f32.parallel_min, Rule::parallel_min(h));
    const bool has_masters = !prec.masters.is_none();
    py::list masters;  // the group's master copies, with master weights
    if (has_masters) {
      masters = prec.masters.cast<py::list>()[group_index].cast<py::list>();
      if (masters.size() != n) throw std::logic_error("internal: a master list of the wrong length");
    }
    py::list lists[S > 0 ? S : 1];
    for (int s = 0; s < S; ++s) {
      if (!Rule::uses_state(h, s)) continue;
      lists[s] = group[1 + s].cast<py::list>();
      if (lists[s].size() != n) throw std::logic_error("internal: a state list of the wrong length");
    }
    int64_t* steps = Rule::kCountsSteps ? step_counts(group[kSteps], n, first) : nullptr;
    double* scalars = K ? scalar_states(group[kScalarStates], n, K, first) : nullptr;
    const size_t f32_first = f32.size(), f64_first = f64.size();
    for (size_t i = 0; i < n; ++i) {
      const size_t k = first + i;
      // Borrowed items: the lists outlive the step (a list accessor costs a reference count
      // round trip and a bounds check per use).
      const py::handle grad = PyList_GET_ITEM(grads.ptr(), k);
      if (grad.is_none()) continue;
      if (steps) check_step_count(steps[i], k);
      const py::handle param = PyList_GET_ITEM(params.ptr(), i);
      // 16-bit params and grads, or 16-bit or 8-bit state: the low batch (kTakes16Bit rules)
      const Array p = Rule::kTakes16Bit ? arrays.param_any(param, k) : arrays.param(param, k);
      const Array g = Rule::kTakes16Bit ? arrays.grad_any(grad, k) : arrays.grad(grad, k);
      check_precision(prec, p.dtype, k);
      const bool half = p.dtype == Dtype::bf16 || p.dtype == Dtype::f16;
      const bool is_low = half || prec.state_bf16 || prec.state_q8;
      const Dtype state_as = prec.state_q8 ? Dtype::q8
                             : prec.state_bf16 || (prec.state_like_param && p.dtype == Dtype::bf16)
                                 ? Dtype::bf16_bits
                             : prec.state_like_param && half ? Dtype::f16
                                                             : Dtype::f32;
      const Dtype batch_of = is_low ? Dtype::bf16 : p.dtype;
      const size_t item = is_low ? low.items.size()
                          : p.dtype == Dtype::f64 ? f64.size() : f32.size();
      if (scan) scanned.push_back({g.data, g.size, g.dtype, k});
      void* states[S > 0 ? S : 1] = {};
      bool fresh = false;
      for (int s = 0; s < S; ++s) {
        if (!Rule::uses_state(h, s)) continue;
        const StateShape shaped = Rule::state_shape(s, param, shape);
        if (shaped == StateShape::absent) continue;
        if (scan && py::handle(PyList_GET_ITEM(lists[s].ptr(), i)).is_none()) {
          // created after the scan, if the step runs
          pending.push_back({lists[s], i, param, batch_of, item, s, state_as});
          fresh = true;
          continue;
        }
        const char* key = Rule::kStateKeys[s];
        if (is_low)
          states[s] = arrays.state_as(lists[s], i, key, k, state_as, fresh, s,
                                      shaped == StateShape::own ? &shape : nullptr).data;
        else if (shaped == StateShape::own)
          states[s] =
              arrays.state_shaped(lists[s], i, key, k, shape, Rule::kZeroState, fresh, s).data;
        else
          states[s] = arrays.state(lists[s], i, key, k, Rule::kZeroState, fresh, s).data;
      }
      float* master = nullptr;
      bool master_fresh = false;
      if (has_masters) {
        if (scan && py::handle(PyList_GET_ITEM(masters.ptr(), i)).is_none()) {
          pending.push_back({masters, i, param, batch_of, item, -1, Dtype::f32});
          master_fresh = true;
        } else {
          master = static_cast<float*>(
              arrays.state_as(masters, i, "master_param", k, Dtype::f32, master_fresh,
                              kMasterSlot).data);
        }
      }
      created += fresh || master_fresh;
      const int64_t step = steps ? steps[i] + 1 : 0;
      if (steps) stepped.push_back(&steps[i]);
      double row[K > 0 ? K : 1] = {};
      if (K) {
        std::copy(scalars + i * K, scalars + (i + 1) * K, row);
        scalar_rows.push_back(scalars + i * K);
      }
      if (is_low) {
        if constexpr (Rule::kTakes16Bit)
          Rule::add_low(low, param, p, g, states,
                        state_as == Dtype::bf16_bits ? Storage::bf16
                        : state_as == Dtype::f16     ? Storage::f16
                        : state_as == Dtype::q8      ? Storage::q8
                                                     : Storage::f32,
                        master, master_fresh, step, fresh, h, row, prec, k);
      } else if (p.dtype == Dtype::f32) {
        Rule::add(f32, f32_first, param, p, g, states, step, fresh, h, row);
      } else {
        Rule::add(f64, f64_first, param, p, g, states, step, fresh, h, row);
      }
      if (K) scalar_values.insert(scalar_values.end(), row, row + K);
    }
    first += n;
    ++group_index;
  }
  arrays.check_no_overlap(cache);
  if (skip_nonfinite(scanned, policy)) {
    Gathered<Rule> skipped;
    skipped.created = kSkipped;
    return skipped;
  }
  Rule::prepare(out);
  for (const PendingState& q : pending) {
    const bool own = q.s >= 0 && Rule::state_shape(q.s, q.param, shape) == StateShape::own;
    const int slot = q.s >= 0 ? q.s : kMasterSlot;
    py::array a = q.batch == Dtype::bf16
                      ? new_state_as(q.param, q.as, slot, own ? &shape : nullptr)
                  : own ? new_state(q.param, shape, Rule::kZeroState, slot)
                        : new_state(q.param, Rule::kZeroState, slot);
    q.list[q.i] = a;
    if (q.batch == Dtype::f64) {
      f64.set_state(q.item, q.s, static_cast<double*>(a.mutable_data()));
    } else if (q.batch == Dtype::f32) {
      f32.set_state(q.item, q.s, static_cast<float*>(a.mutable_data()));
    } else if (q.s >= 0) {
      LowTensor& t = low.items[q.item].tensor;
      set_low_state(t, q.s, a.mutable_data(), low.sizes[q.item]);
    } else {
      low.items[q.item].tensor.master = static_cast<float*>(a.mutable_data());
      low.items[q.item].tensor.master_fresh = true;
    }
  }
  for (int64_t* s : stepped) ++*s;
  for (size_t r = 0; r < scalar_rows.size(); ++r)
    std::copy(&scalar_values[r * K], &scalar_values[r * K] + K, scalar_rows[r]);
  return out;
}

// Every rule's <rule>_step: the checks with the GIL held, the passes without it, the counters
// advanced as the last act (a step that raised changed nothing and counts nothing).
template <class Rule>
int rule_step(py::list groups, py::list grads, int nonfinite, py::handle counts,
              py::handle cache, py::handle precision) {
  const StepCounter counter(counts);
  const Precision prec = read_precision(precision);
  if (prec.active() && !Rule::kTakes16Bit)
    throw py::value_error(
        "state_dtype and master_weights do not apply to this rule (no 16-bit storage)");
  if (prec.state_q8 && !Rule::kTakesInt8)
    throw py::value_error("state_dtype='int8' applies to Adam, AdamW, SGD, Lion and AdaBelief");
  auto step =
      gather_step<Rule>(groups, grads, nonfinite_policy(nonfinite), step_cache(cache), prec);
  if (step.created == kSkipped) {
    counter.skipped();
    return kSkipped;
  }
  {
    py::gil_scoped_release nogil;
    Rule::run(step);
  }
  counter.applied();
  return step.created;
}

// What a rule gathered by gather_step has unless it declares its own (see the top): Batches
// of tensors whose state arrays have the param's shape. Rule derives from Gathers<Rule> and
// provides run().
template <class Rule>
struct Gathers {
  static constexpr bool kTakes16Bit = false;  // runs on 16-bit storage (OnePass, LAMB, LARS)
  // Batch<T, Rule::Scalars<T>>; R is Rule, complete once the alias is used.
  template <class T, class R = Rule>
  using Tensors = Batch<T, typename R::template Scalars<T>>;
  // The tensors with 16-bit storage, as run() takes them.
  template <class R = Rule>
  using LowTensors = LowBatch<typename R::template Scalars<float>>;

  static StateShape state_shape(int, py::handle, std::vector<py::ssize_t>&) {
    return StateShape::param;
  }

  // Adds a tensor of the group whose first tensor of this dtype is batch.items[group_first].
  template <class T, class Scalars, class Hyper>
  static void add(Batch<T, Scalars>& batch, size_t group_first, py::handle, const Array& p,
                  const Array& g, void* const* states, int64_t step, bool fresh, const Hyper& h,
                  double* scalar_state) {
    constexpr size_t K = Rule::kScalarStates;
    static_assert(K <= Batch<T, Scalars>::kMaxScalarStates,
                  "more per-tensor scalar state than a Batch keeps");
    StepTensor<T> t{static_cast<T*>(p.data), static_cast<const T*>(g.data), {}, step, fresh};
    for (int s = 0; s < Rule::kStates; ++s) t.state[s] = static_cast<T*>(states[s]);
    // The scalars are a function of the group's hyperparameters, the step and the tensor's
    // scalar state row: the tensors of a group at the same step with the same row (bit for bit)
    // share them, and the advanced row (they cost a few pow each).
    const bool shared = batch.items.size() > group_first &&
                        batch.items.back().tensor.step == step &&
                        std::memcmp(scalar_state, batch.row_before, K * sizeof(double)) == 0;
    if (shared) {
      batch.items.push_back({t, batch.items.back().scalars});
      std::copy(batch.row_after, batch.row_after + K, scalar_state);
    } else {
      std::copy(scalar_state, scalar_state + K, batch.row_before);
      batch.items.push_back({t, Rule::template scalars<T>(h, step, scalar_state)});
      std::copy(scalar_state, scalar_state + K, batch.row_after);
    }
    batch.sizes.push_back(p.size);
    batch.ndims.push_back(p.ndim);
  }

  // Adds a tensor with 16-bit storage: the param, then add_low_tensor's arguments.
  template <class Low, class... Rest>
  static void add_low(Low& low, py::handle, Rest&&... rest) {
    add_low_tensor<Rule>(low, std::forward<Rest>(rest)...);
  }

  static void prepare(Gathered<Rule>&) {}
};

// The rules of one fused pass: Rule::kernel<T>() over every element of each dtype's tensors.
// They also run on 16-bit storage: the float32 kernel by blocks (csrc/optim/precision.h).
template <class Rule>
struct OnePass : Gathers<Rule> {
  static constexpr bool kTakes16Bit = true;
  static void run(const Gathered<Rule>& step) {
    step.f32.run(Rule::template kernel<float>());
    step.f64.run(Rule::template kernel<double>());
    step.low.run(Rule::template kernel<float>());
  }
};

// check_<rule>(*hyperparameters): the step's checks, for the constructor (a tuple of nothing
// but the hyperparameters, read from offset 0).
template <class Rule>
void check_only(py::args hyper) {
  if (hyper.size() != hyper_count<typename Rule::Hyper>())
    throw std::logic_error("internal: wrong hyperparameter count");
  Rule::check(read_hyper<typename Rule::Hyper>(hyper, 0));
}

// What Python reads of a rule (_core.rules[name]): its hyperparameters' names, in the order a
// group tuple holds them, and its state keys.
template <class Rule>
py::dict rule_info() {
  py::list hyper, state;
  for (const char* name : Rule::Hyper::kNames) hyper.append(name);
  for (const char* key : Rule::kStateKeys) state.append(key);
  py::dict info;
  info["hyper"] = py::tuple(hyper);
  info["state"] = py::tuple(state);
  info["takes_16bit"] = Rule::kTakes16Bit;  // runs on 16-bit storage (csrc/optim/precision.h)
  // takes blockwise 8-bit state; the states of the unsigned map
  info["int8"] = Rule::kTakesInt8;
  py::list non_negative;
  for (int s = 0; s < Rule::kStates; ++s)
    if ((Rule::kNonNegativeStates >> s) & 1u) non_negative.append(Rule::kStateKeys[s]);
  info["non_negative"] = py::tuple(non_negative);
  return info;
}

// Registers <name>_step(groups, grads, nonfinite=0, counts=None), check_<name>(*hyper) and
// rules[name].
template <class Rule>
void def_rule(py::module_& m, py::dict rules, const std::string& name) {
  m.def((name + "_step").c_str(), &rule_step<Rule>, py::arg("groups"), py::arg("grads"),
        py::arg("nonfinite") = 0, py::arg("counts") = py::none(), py::arg("cache") = py::none(),
        py::arg("precision") = py::none());
  m.def(("check_" + name).c_str(), &check_only<Rule>);
  rules[py::str(name)] = rule_info<Rule>();
}

}  // namespace bind
}  // namespace steepest
