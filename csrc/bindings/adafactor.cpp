// Adafactor's checks and gather (adafactor.h). Written apart from gather_step (step.h) because
// its state arrays do not have the param's shape (row_var (..., R, 1) and col_var (..., 1, C)
// for 2+ dims, variance for fewer) and which of them a tensor has depends on its dimensions,
// not on the hyperparameters. The checks are the same StepArrays checks (state_shaped for the
// factors); the group tuples are step.h's, with (row_var, col_var, variance) for state lists.
#include "adafactor.h"

#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "step.h"

namespace steepest {
namespace bind {

namespace {

constexpr size_t kHyper = 6;  // after (params, 3 state lists, steps, None)

// A state array to create once the non-finite guard has passed the step (step.h's PendingState
// with a shape of its own): list[i], of `shape`, pointed to by `field` (row, col or variance)
// of tensor `item` of f32 or f64.
struct PendingShaped {
  py::list list;
  size_t i;
  py::handle param;
  std::vector<py::ssize_t> shape;
  bool f64;
  size_t item;
  int field;  // 0 row, 1 col, 2 variance
};

template <class T>
void point(AdafactorTensor<T>& t, int field, void* data) {
  (field == 0 ? t.row : field == 1 ? t.col : t.variance) = static_cast<T*>(data);
}

}  // namespace

void check_adafactor(const AdafactorHyper& h) {
  require(finite_nonnegative(h.lr), "Learning rate should be >= 0 but is", h.lr);
  require(h.beta2_decay <= 0.0 && std::isfinite(h.beta2_decay), "beta2_decay should be <= 0 but is",
          h.beta2_decay);
  require(std::isnan(h.eps1) || finite_nonnegative(h.eps1), "epsilon1 should be >= 0 but is",
          h.eps1);
  require(finite_nonnegative(h.eps2), "epsilon2 should be >= 0 but is", h.eps2);
  require(h.d >= 1.0 && std::isfinite(h.d), "Clipping threshold d should be >= 1 but is", h.d);
  require(finite_nonnegative(h.weight_decay), "weight_decay should be >= 0 but is",
          h.weight_decay);
}

AdafactorGathered gather_adafactor(py::list groups, py::list grads, Nonfinite policy,
                                   StepCache* cache) {
  check_grads_length(groups, grads);
  AdafactorGathered out;
  auto& f32 = out.f32;
  auto& f64 = out.f64;
  StepArrays arrays;
  std::vector<int64_t*> stepped;
  std::vector<GradRef> scanned;  // for the non-finite guard
  std::vector<PendingShaped> pending;
  const bool scan = policy != Nonfinite::propagate;
  int& created = out.created;
  size_t first = 0;
  for (py::handle handle : groups) {
    auto group = py::reinterpret_borrow<py::tuple>(handle);
    if (group.size() != kHyper + hyper_count<AdafactorHyper>())
      throw std::logic_error("internal: a group tuple of the wrong size");
    auto params = group[0].cast<py::list>();
    const size_t n = params.size();
    const auto h = read_hyper<AdafactorHyper>(group, kHyper);
    check_adafactor(h);
    py::list rows = group[1].cast<py::list>(), cols = group[2].cast<py::list>(),
             variances = group[3].cast<py::list>();
    if (rows.size() != n || cols.size() != n || variances.size() != n)
      throw std::logic_error("internal: a state list of the wrong length");
    int64_t* steps = step_counts(group[4], n, first);
    for (size_t i = 0; i < n; ++i) {
      const size_t k = first + i;
      if (grads[k].is_none()) continue;
      check_step_count(steps[i], k);
      const Array p = arrays.param(params[i], k);
      const Array g = arrays.grad(grads[k], k);
      if (scan) scanned.push_back({g.data, g.size, g.dtype, k});
      const bool f64_item = p.dtype == Dtype::f64;
      const size_t item = f64_item ? f64.tensors.size() : f32.tensors.size();  // pushed below
      const size_t pending_before = pending.size();
      const auto* pa = py::detail::array_proxy(params[i].ptr());
      std::vector<py::ssize_t> shape(pa->dimensions, pa->dimensions + pa->nd);
      bool fresh = false;
      void *row = nullptr, *col = nullptr, *variance = nullptr;
      int64_t batches = 1, R = 1, C = p.size;
      const bool factored = shape.size() > 1;
      if (factored) {
        R = shape[shape.size() - 2];
        C = shape[shape.size() - 1];
        batches = R * C > 0 ? p.size / (R * C) : 0;
        std::vector<py::ssize_t> row_shape = shape, col_shape = shape;
        row_shape.back() = 1;
        col_shape[shape.size() - 2] = 1;
        if (scan && rows[i].is_none())  // created after the scan, if the step runs
          pending.push_back({rows, i, params[i], row_shape, f64_item, item, 0});
        else
          row = arrays.state_shaped(rows, i, "row_var", k, row_shape, fresh).data;
        if (scan && cols[i].is_none())
          pending.push_back({cols, i, params[i], col_shape, f64_item, item, 1});
        else
          col = arrays.state_shaped(cols, i, "col_var", k, col_shape, fresh).data;
      } else if (scan && variances[i].is_none()) {
        pending.push_back({variances, i, params[i], shape, f64_item, item, 2});
      } else {
        variance = arrays.state(variances, i, "variance", k, true, fresh).data;
      }
      fresh = fresh || pending.size() > pending_before;
      created += fresh;
      stepped.push_back(&steps[i]);
      const int64_t step = steps[i] + 1;
      if (p.dtype == Dtype::f32) {
        f32.tensors.push_back({static_cast<float*>(p.data), static_cast<const float*>(g.data),
                               static_cast<float*>(row), static_cast<float*>(col),
                               static_cast<float*>(variance), nullptr, batches, R, C,
                               factored, 0, 0});
        f32.scalars.push_back(adafactor_scalars<float>(h, step));
      } else {
        f64.tensors.push_back({static_cast<double*>(p.data), static_cast<const double*>(g.data),
                               static_cast<double*>(row), static_cast<double*>(col),
                               static_cast<double*>(variance), nullptr, batches, R, C,
                               factored, 0, 0});
        f64.scalars.push_back(adafactor_scalars<double>(h, step));
      }
    }
    first += n;
  }
  arrays.check_no_overlap(cache);
  if (skip_nonfinite(scanned, policy)) {
    AdafactorGathered skipped;
    skipped.created = kSkipped;
    return skipped;
  }
  for (const PendingShaped& q : pending) {
    py::array a = new_state(q.param, q.shape, true);
    q.list[q.i] = a;
    if (q.f64) point(f64.tensors[q.item], q.field, a.mutable_data());
    else point(f32.tensors[q.item], q.field, a.mutable_data());
  }
  const int threads = get_num_threads();
  f32.prepare(threads);
  f64.prepare(threads);
  for (int64_t* s : stepped) ++*s;
  return out;
}

}  // namespace bind
}  // namespace steepest
