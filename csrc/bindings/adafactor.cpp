// Adafactor's binding. Written apart from rule_step (step.h) because its state arrays do not
// have the param's shape (row_var (..., R, 1) and col_var (..., 1, C) for 2+ dims, variance for
// fewer) and which of them a tensor has depends on its dimensions, not on the hyperparameters;
// and because its passes need sums over whole tensors between them (a tensor is cut into
// chunks of whole rows: steepest/optim/adafactor.h). The checks are the same StepArrays checks
// (state_shaped for the factors).
//
//   adafactor_step(groups, grads, nonfinite=0, counts=None) -> number of state arrays created, or kSkipped
//   (the non-finite guard as in step.h)
//   groups: (params, [row_var], [col_var], [variance], steps, lr, beta2_decay, eps1 (NaN for
//            None), eps2, d, weight_decay, maximize)
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "../runtime/parallel.h"
#include "step.h"

namespace steepest {
namespace bind {

namespace {

AdafactorHyper adafactor_hyper(const py::tuple& t, size_t i) {
  return {number(t, i, "lr"), number(t, i + 1, "beta2_decay"), number(t, i + 2, "eps[0]"),
          number(t, i + 3, "eps[1]"), number(t, i + 4, "d"), number(t, i + 5, "weight_decay"),
          flag(t, i + 6, "maximize")};
}

// torch.optim.Adafactor's messages.
void adafactor_check(const AdafactorHyper& h) {
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

constexpr size_t kHyper = 6, kHyperCount = 7;  // after (params, 3 state lists, steps, None)

// The chunks of a tensor (steepest/optim/adafactor.h), a cut that depends on its shape only.
// Unfactored: chunk_size(n) elements, as the other rules. Factored: whole rows, and at least 32
// of them, which bounds the two slots of column sums per chunk to 2 n / 32 doubles (12.5% of a
// float32 tensor's bytes); a matrix of fewer than 64 rows in all thus runs on one thread.
template <class T>
void cut(AdafactorTensor<T>& t) {
  const int64_t n = t.size();
  if (n == 0) {  // no chunk (and cols may be 0)
    t.units_per_chunk = 1;
    t.chunks = 0;
    return;
  }
  t.units_per_chunk = t.factored ? std::max<int64_t>(32, (chunk_size(n) + t.cols - 1) / t.cols)
                                 : chunk_size(n);
  t.chunks = (t.units() + t.units_per_chunk - 1) / t.units_per_chunk;
}

// Column sums of the batches that span several chunks: each chunk left its part in its slot for
// the batch; added here in chunk order.
template <class T>
void finish_split_batches(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s) {
  const int64_t R = t.rows, C = t.cols, U = t.units_per_chunk;
  for (int64_t b = 0; b < t.batches; ++b) {
    const int64_t first = b * R / U, last = ((b + 1) * R - 1) / U;
    if (first == last) continue;  // finished inside its chunk
    double* sums = t.slot(first, b);
    for (int64_t c = first + 1; c <= last; ++c) {
      const double* part = t.slot(c, b);
      for (int64_t j = 0; j < C; ++j) sums[j] += part[j];
    }
    kernels<T>().adafactor.finish_batch(t, s, b, sums);
  }
}

// One tensor's step: three passes over its chunks on up to `threads` threads, the partial sums
// added in chunk order between them.
template <class T>
void step_tensor(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s, int threads) {
  const int64_t n = t.size();
  if (n == 0) return;
  const AdafactorKernels<T>& k = kernels<T>().adafactor;
  double* partial = t.partials();
  const auto total = [&] {
    double sum = 0.0;
    for (int64_t c = 0; c < t.chunks; ++c) sum += partial[c];
    return sum;
  };
  for_each_chunk(t.chunks, threads, [&](int64_t c) { partial[c] = k.sums(t, s, c); });
  const double alpha = std::max(s.eps2, std::sqrt(total()) / std::sqrt(double(n))) * s.rho;
  if (t.factored) finish_split_batches(t, s);
  for_each_chunk(t.chunks, threads, [&](int64_t c) { partial[c] = k.norm(t, s, c); });
  const double denom = std::max(1.0, std::sqrt(total()) / (std::sqrt(double(n)) * s.d));
  const T factor = T(-alpha / denom);
  for_each_chunk(t.chunks, threads, [&](int64_t c) { k.apply(t, s, factor, c); });
}

template <class T>
struct Work {
  std::vector<AdafactorTensor<T>> tensors;
  std::vector<AdafactorScalars<T>> scalars;
  std::vector<double> scratch;
  std::vector<size_t> split, whole;  // tensors cut across the threads, and the others
  int64_t whole_total = 0;           // elements of the others

  // Cuts every tensor into chunks, gives it its scratch and decides how it runs; allocates (may
  // throw) before the parallel run. A tensor is cut across the threads when it is worth
  // splitting on its own (parallel.h) and holds at least 1 / (2 threads) of the step's
  // elements; the others run whole, one per task: with enough of them to share, the three
  // parallel regions a cut tensor costs (~1.5 us each) buy nothing (16K params in each of 256
  // tensors: 2 threads 1.61x one when every tensor was cut).
  void prepare(int threads) {
    int64_t need = 0, total = 0;
    for (auto& t : tensors) {
      cut(t);
      need += t.scratch_size();
      total += t.size();
    }
    scratch.assign(size_t(need), 0.0);
    int64_t at = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
      AdafactorTensor<T>& t = tensors[i];
      t.scratch = scratch.data() + at;
      at += t.scratch_size();
      if (threads > 1 && worth_splitting(t.size(), 1, kParallelMinElements) &&
          t.size() * 2 * threads >= total) {
        split.push_back(i);
      } else {
        whole.push_back(i);
        whole_total += t.size();
      }
    }
  }

  void run(int threads) const {
    for (size_t i : split) step_tensor(tensors[i], scalars[i], threads);
    const int64_t count = int64_t(whole.size());
    const int used = worth_splitting(whole_total, count, kParallelMinElements) ? threads : 1;
    for_each_chunk(count, used, [&](int64_t c) {
      step_tensor(tensors[whole[c]], scalars[whole[c]], 1);
    });
  }
};

// A state array to create once the non-finite guard has passed the step (as in step.h): list[i],
// of `shape`, pointed to by `field` (row, col or variance) of tensor `item` of f32 or f64.
struct PendingState {
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

int adafactor_step(py::list groups, py::list grads, int nonfinite, py::handle counts) {
  const StepCounter counter(counts);
  const Nonfinite policy = nonfinite_policy(nonfinite);
  check_grads_length(groups, grads);
  Work<float> f32;
  Work<double> f64;
  StepArrays arrays;
  std::vector<int64_t*> stepped;
  std::vector<GradRef> scanned;  // for the non-finite guard
  std::vector<PendingState> pending;
  const bool scan = policy != Nonfinite::propagate;
  int created = 0;
  size_t first = 0;
  for (py::handle handle : groups) {
    auto group = py::reinterpret_borrow<py::tuple>(handle);
    if (group.size() != kHyper + kHyperCount)
      throw std::logic_error("internal: a group tuple of the wrong size");
    auto params = group[0].cast<py::list>();
    const size_t n = params.size();
    const AdafactorHyper h = adafactor_hyper(group, kHyper);
    adafactor_check(h);
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
  arrays.check_no_overlap();
  if (skip_nonfinite(scanned, policy)) {
    counter.skipped();
    return kSkipped;
  }
  for (const PendingState& q : pending) {
    py::array a = new_state(q.param, q.shape, true);
    q.list[q.i] = a;
    if (q.f64) point(f64.tensors[q.item], q.field, a.mutable_data());
    else point(f32.tensors[q.item], q.field, a.mutable_data());
  }
  const int threads = get_num_threads();
  f32.prepare(threads);
  f64.prepare(threads);
  for (int64_t* s : stepped) ++*s;
  {
    py::gil_scoped_release nogil;
    f32.run(threads);
    f64.run(threads);
  }
  counter.applied();
  return created;
}

void check_adafactor(py::args hyper) {
  if (hyper.size() != kHyperCount) throw std::logic_error("internal: wrong hyperparameter count");
  adafactor_check(adafactor_hyper(hyper, 0));
}

}  // namespace

void register_adafactor(py::module_& m) {
  def_step(m, "adafactor_step", &adafactor_step);
  m.def("check_adafactor", &check_adafactor);
}

}  // namespace bind
}  // namespace steepest
