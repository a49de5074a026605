// Adafactor's driver (see driver.h; equations and the chunk layout in
// steepest/optim/adafactor.h).
#include <algorithm>
#include <cmath>

#include "driver.h"

namespace steepest {

namespace {

// The chunks of a tensor, a cut that depends on its shape only. Unfactored: chunk_size(n)
// elements, as the other rules. Factored: whole rows, and at least 32 of them, which bounds the
// two slots of column sums per chunk to 2 n / 32 doubles (12.5% of a float32 tensor's bytes); a
// matrix of fewer than 64 rows in all thus runs on one thread.
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
    kernels<T>().adafactor_finish_batch(t, s, b, sums);
  }
}

// One tensor's step: three passes over its chunks on up to `threads` threads, the partial sums
// added in chunk order between them:
//   alpha = max(eps2, ||p|| / sqrt(n)) rho,  k = -alpha / max(1, ||u|| / (sqrt(n) d)).
template <class T>
void step_tensor(const AdafactorTensor<T>& t, const AdafactorScalars<T>& s, int threads) {
  const int64_t n = t.size();
  if (n == 0) return;
  const Kernels<T>& k = kernels<T>();
  double* partial = t.partials();
  const auto total = [&] {
    double sum = 0.0;
    for (int64_t c = 0; c < t.chunks; ++c) sum += partial[c];
    return sum;
  };
  for_each_chunk(t.chunks, threads, [&](int64_t c) { partial[c] = k.adafactor_sums(t, s, c); });
  const double alpha = std::max(s.eps2, std::sqrt(total()) / std::sqrt(double(n))) * s.rho;
  if (t.factored) finish_split_batches(t, s);
  for_each_chunk(t.chunks, threads, [&](int64_t c) { partial[c] = k.adafactor_norm(t, s, c); });
  const double denom = std::max(1.0, std::sqrt(total()) / (std::sqrt(double(n)) * s.d));
  const T factor = T(-alpha / denom);
  for_each_chunk(t.chunks, threads, [&](int64_t c) { k.adafactor_apply(t, s, factor, c); });
}

}  // namespace

// A tensor is cut across the threads when it is worth splitting on its own (parallel.h) and
// holds at least 1 / (2 threads) of the step's elements; the others run whole, one per task:
// with enough of them to share, the three parallel regions a cut tensor costs buy nothing.
template <class T>
void AdafactorStep<T>::prepare(int thread_count) {
  threads = thread_count;
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
    if (threads > 1 && worth_splitting(t.size(), 1, parallel_min) &&
        t.size() * 2 * threads >= total) {
      split.push_back(i);
    } else {
      whole.push_back(i);
      whole_total += t.size();
    }
  }
}

template <class T>
void AdafactorStep<T>::run() const {
  for (size_t i : split) step_tensor(tensors[i], scalars[i], threads);
  const int64_t count = int64_t(whole.size());
  const int used = worth_splitting(whole_total, count, parallel_min) ? threads : 1;
  for_each_chunk(count, used, [&](int64_t c) {
    step_tensor(tensors[whole[c]], scalars[whole[c]], 1);
  });
}

template struct AdafactorStep<float>;
template struct AdafactorStep<double>;

void AdafactorLowStep::Conversions::reserve(size_t n) {
  items.reserve(n);
  sizes.reserve(n);
}

void AdafactorLowStep::Conversions::clear() {
  items.clear();
  sizes.clear();
}

void AdafactorLowStep::Conversions::add(void* stored, float* wide, Storage as, int64_t n,
                                        bool stochastic, uint32_t key) {
  items.push_back({stored, wide, as, stochastic, key});
  sizes.push_back(n);
}

void AdafactorLowStep::Conversions::widen(int64_t parallel_min) const {
  const Kernels<float>& k = kernels<float>();
  for_each_range(
      sizes,
      [&](int64_t i, int64_t b, int64_t e) {
        const Item& c = items[size_t(i)];
        k.widen(c.as, static_cast<const uint16_t*>(c.stored) + b, c.wide + b, e - b);
      },
      parallel_min);
}

void AdafactorLowStep::Conversions::narrow(int64_t parallel_min) const {
  const Kernels<float>& k = kernels<float>();
  for_each_range(
      sizes,
      [&](int64_t i, int64_t b, int64_t e) {
        const Item& c = items[size_t(i)];
        const Stochastic draw{c.key, b};
        k.narrow(c.as, c.wide + b, static_cast<uint16_t*>(c.stored) + b, e - b,
                 c.stochastic ? &draw : nullptr);
      },
      parallel_min);
}

namespace {

// The element counts of a tensor's row, col and variance (0 where it has none).
void state_sizes(const AdafactorLowStep::Shape& s, int64_t n, int64_t out[3]) {
  out[0] = s.factored ? s.batches * s.rows : 0;
  out[1] = s.factored ? s.batches * s.cols : 0;
  out[2] = s.factored ? 0 : n;
}

}  // namespace

void AdafactorLowStep::prepare(int threads) {
  step_.tensors.clear();
  step_.scalars.clear();
  int64_t need = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const LowTensor& t = items[i].tensor;
    const Shape& s = shapes[i];
    const int64_t n = sizes[i];
    if (t.param_as != Storage::f32) need += t.has_master() ? n : 2 * n;  // grad (and param)
    int64_t counts[3];
    state_sizes(s, n, counts);
    if (t.state_as != Storage::f32) need += counts[0] + counts[1] + counts[2];
    step_.tensors.push_back(
        {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, s.batches, s.rows, s.cols,
         s.factored, 0, 0});
    step_.scalars.push_back(items[i].scalars);
  }
  step_.parallel_min = parallel_min;
  step_.prepare(threads);
  scratch_.assign(size_t(need), 0.0f);
  widen_.reserve(4 * items.size());  // grad, param, two states (factored)
  narrow_.reserve(3 * items.size());
}

void AdafactorLowStep::run() {
  widen_.clear();
  narrow_.clear();
  float* next = scratch_.data();
  const auto take = [&next](int64_t n) {
    float* at = next;
    next += n;
    return at;
  };
  for (size_t i = 0; i < items.size(); ++i) {
    const LowTensor& t = items[i].tensor;
    AdafactorTensor<float>& f = step_.tensors[i];
    const int64_t n = sizes[i];
    if (t.param_as == Storage::f32) {
      f.param = static_cast<float*>(t.param);
      f.grad = static_cast<const float*>(t.grad);
    } else {
      float* grad = take(n);
      widen_.add(const_cast<void*>(t.grad), grad, t.param_as, n);
      f.grad = grad;
      f.param = t.has_master() ? t.master : take(n);
      if (!t.has_master() || t.master_fresh) widen_.add(t.param, f.param, t.param_as, n);
      narrow_.add(t.param, f.param, t.param_as, n, t.stochastic(), t.key);
    }
    int64_t counts[3];
    state_sizes(shapes[i], n, counts);
    float** wide[3] = {&f.row, &f.col, &f.variance};
    for (int s = 0; s < 3; ++s) {
      if (counts[s] == 0) continue;
      if (t.state_as == Storage::f32) {
        *wide[s] = static_cast<float*>(t.state[s]);
        continue;
      }
      *wide[s] = take(counts[s]);
      widen_.add(t.state[s], *wide[s], t.state_as, counts[s]);
      narrow_.add(t.state[s], *wide[s], t.state_as, counts[s]);
    }
  }
  widen_.widen(parallel_min);
  step_.run();
  narrow_.narrow(parallel_min);
}

}  // namespace steepest
