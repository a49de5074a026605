// Scaled dot-product self-attention per (batch, head): equations and layouts in
// steepest/nn/attention.h. Every product is a GEMM of this target run on one thread inside a
// pool chunk (gemm_serial); a chunk is a run of (b, h) problems, each independent of the others.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "steepest/nn/attention.h"
#include "steepest/nn/dropout.h"
#include "steepest/nn/gemm.h"
#include "steepest/targets.h"
#include "../runtime/pool.h"
#include "aligned.h"

namespace steepest {

int get_num_threads();  // runtime/parallel.h (not included: its inline code is not per target)

namespace STEEPEST_TARGET {

#include "gemm_calls.h"
template <class T>
void dropout(const Dropout<T>&, int64_t, int64_t);  // dropout.cc

#include "steepest/kernel_math.h"
#include "steepest/nn/approx.h"

namespace {

constexpr int kRowLanes = 8;  // the max and the sums of a softmax row run in lanes j % 8
// Below this many multiply-adds (all heads' products) one thread does everything.
constexpr int64_t kParallelFlops = int64_t(1) << 18;
constexpr int64_t kChunksPerThread = 4;  // runs of (b, h) per thread, for balance

// A product C (m, n) = op(A) op(B) over k, no bias, written.
template <class T>
Gemm<T> product(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, bool trans_a,
                const T* b, int64_t ldb, bool trans_b, T* c, int64_t ldc) {
  return Gemm<T>{m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, false, nullptr,
                 Activation::none};
}

// The chunks and the scratch of one call: chunk c runs problems [pairs c / chunks,
// pairs (c + 1) / chunks) with scratch space + c * slot (the GEMM's packing space, then
// `extra` elements). Which chunk runs a problem does not change its result.
template <class T>
struct Plan {
  int64_t pairs, chunks, slot, packing;
  std::unique_ptr<T[]> buffer;
  T* space;

  Plan(const AttentionShape& s, int64_t extra) {
    constexpr int64_t line = 64 / int64_t(sizeof(T));
    const int64_t t = s.steps, d = s.head_dim;
    pairs = s.batch * s.heads;
    // The packing space depends on n and k only: every product here is (T, T) over d or
    // (T, d) over T.
    packing = std::max(gemm_serial_space(product<T>(t, t, d, nullptr, 0, false, nullptr, 0,
                                                     false, nullptr, 0)),
                       gemm_serial_space(product<T>(t, d, t, nullptr, 0, false, nullptr, 0,
                                                     false, nullptr, 0)));
    slot = packing + (extra + line - 1) / line * line;
    const int64_t threads = get_num_threads();
    const double flops = double(pairs) * double(t) * double(t) * double(d);
    chunks = threads == 1 || flops < double(kParallelFlops)
                 ? 1
                 : std::min({pairs, threads * kChunksPerThread, kMaxChunks});
    space = aligned_elements(buffer, chunks * slot);
  }

  // f(pair, space) for every problem, on up to get_num_threads() threads. f must not throw.
  template <class F>
  void run(const F& f) const {
    struct Context {
      const Plan* plan;
      const F* f;
    } ctx{this, &f};
    ChunkTask task{[](const void* p, int64_t c) {
                     const auto& x = *static_cast<const Context*>(p);
                     const Plan& plan = *x.plan;
                     T* scratch = plan.space + c * plan.slot;
                     for (int64_t pair = plan.pairs * c / plan.chunks;
                          pair < plan.pairs * (c + 1) / plan.chunks; ++pair)
                       (*x.f)(pair, scratch);
                   },
                   &ctx};
    if (chunks == 1) task.call(task.ctx, 0);
    else run_chunks(chunks, int(std::min<int64_t>(get_num_threads(), chunks)), task);
  }
};

// The largest of row[0..n) (n >= 1), in lanes (a NaN is skipped by the compare; it reaches P
// through the exponentials below).
template <class T>
T row_max(const T* __restrict row, int64_t n) {
  T lane[kRowLanes];
  for (int l = 0; l < kRowLanes; ++l) lane[l] = row[0];
  int64_t j = 0;
  for (; j + kRowLanes <= n; j += kRowLanes)
    for (int l = 0; l < kRowLanes; ++l) lane[l] = row[j + l] > lane[l] ? row[j + l] : lane[l];
  for (; j < n; ++j) lane[0] = row[j] > lane[0] ? row[j] : lane[0];
  T m = lane[0];
  for (int l = 1; l < kRowLanes; ++l) m = lane[l] > m ? lane[l] : m;
  return m;
}

// row[0..n) summed in lanes, lanes added in order.
template <class T>
T row_sum(const T* __restrict row, int64_t n) {
  T lane[kRowLanes] = {};
  int64_t j = 0;
  for (; j + kRowLanes <= n; j += kRowLanes)
    for (int l = 0; l < kRowLanes; ++l) lane[l] += row[j + l];
  for (; j < n; ++j) lane[0] += row[j];
  T sum = lane[0];
  for (int l = 1; l < kRowLanes; ++l) sum += lane[l];
  return sum;
}

// S (T, T) -> P in place, row by row: P[i, j] = exp(c (S[i, j] - m_i)) / sum, over j < n_i
// (n_i = i + 1 when causal, else T), 0 beyond.
template <class T>
void softmax_rows(T* p, int64_t steps, bool causal, T c) {
  for (int64_t i = 0; i < steps; ++i) {
    T* __restrict row = p + i * steps;
    const int64_t n = causal ? i + 1 : steps;
    const T m = row_max(row, n);
    for (int64_t j = 0; j < n; ++j) row[j] = exp_approx(c * (row[j] - m));
    const T inv = T(1) / row_sum(row, n);
    for (int64_t j = 0; j < n; ++j) row[j] *= inv;
    for (int64_t j = n; j < steps; ++j) row[j] = T(0);
  }
}

// dS = c (Pd dPd - P r) in place of dPd, r_i = sum_j Pd[i, j] dPd[i, j] (in lanes).
template <class T>
void softmax_backward_rows(T* dp, const T* p, const T* pd, int64_t steps, T c) {
  for (int64_t i = 0; i < steps; ++i) {
    T* __restrict g = dp + i * steps;
    const T* __restrict prow = p + i * steps;
    const T* __restrict pdrow = pd + i * steps;
    T lane[kRowLanes] = {};
    int64_t j = 0;
    for (; j + kRowLanes <= steps; j += kRowLanes)
      for (int l = 0; l < kRowLanes; ++l) lane[l] = fmadd(pdrow[j + l], g[j + l], lane[l]);
    for (; j < steps; ++j) lane[0] = fmadd(pdrow[j], g[j], lane[0]);
    T r = lane[0];
    for (int l = 1; l < kRowLanes; ++l) r += lane[l];
    for (j = 0; j < steps; ++j) g[j] = c * (pdrow[j] * g[j] - prow[j] * r);
  }
}

}  // namespace

template <class T>
void attention_forward(const AttentionForward<T>& f) {
  const AttentionShape& s = f.shape;
  const int64_t t = s.steps, d = s.head_dim, e = s.embed(), tt = t * t;
  const T c = T(1) / root(T(d));
  const Plan<T> plan(s, 0);  // allocated here: chunks must not throw
  plan.run([&](int64_t pair, T* space) {
    const int64_t b = pair / s.heads, h = pair % s.heads;
    const T* q = f.qkv + b * t * 3 * e + h * d;  // Q, K, V (T, d), row stride 3E
    const T *k = q + e, *v = q + 2 * e;
    T* p = f.probs + pair * tt;
    // S (T, T) = Q K^T into P, then the softmax in place
    gemm_serial(product<T>(t, t, d, q, 3 * e, false, k, 3 * e, true, p, t), space);
    softmax_rows(p, t, s.causal, c);
    const T* pd = p;
    if (f.dropped) {
      dropout<T>({f.dropped, f.probs, f.seed, f.threshold, f.keep_scale}, pair * tt,
                 (pair + 1) * tt);
      pd = f.dropped + pair * tt;
    }
    // O (T, d) = Pd V, into head h's columns of out (B, T, E)
    gemm_serial(product<T>(t, d, t, pd, t, false, v, 3 * e, false, f.out + b * t * e + h * d, e),
                space);
  });
}

template <class T>
void attention_backward(const AttentionBackward<T>& a) {
  const AttentionShape& s = a.shape;
  const int64_t t = s.steps, d = s.head_dim, e = s.embed(), tt = t * t;
  const T c = T(1) / root(T(d));
  const Plan<T> plan(s, tt);  // packing, then dP (T, T); allocated here: chunks must not throw
  const int64_t packing = plan.packing;
  plan.run([&](int64_t pair, T* space) {
    const int64_t b = pair / s.heads, h = pair % s.heads;
    const int64_t at = b * t * 3 * e + h * d;
    const T *q = a.qkv + at, *k = q + e, *v = q + 2 * e;
    T *dq = a.dqkv + at, *dk = dq + e, *dv = dq + 2 * e;
    const T* dout = a.dout + b * t * e + h * d;  // dO (T, d), row stride E
    const T* p = a.probs + pair * tt;
    const T* pd = a.dropped ? a.dropped + pair * tt : p;
    T* dp = space + packing;
    // dV (T, d) = Pd^T dO;  dPd (T, T) = dO V^T
    gemm_serial(product<T>(t, d, t, pd, t, true, dout, e, false, dv, 3 * e), space);
    gemm_serial(product<T>(t, t, d, dout, e, false, v, 3 * e, true, dp, t), space);
    softmax_backward_rows(dp, p, pd, t, c);
    // dQ (T, d) = dS K;  dK (T, d) = dS^T Q
    gemm_serial(product<T>(t, d, t, dp, t, false, k, 3 * e, false, dq, 3 * e), space);
    gemm_serial(product<T>(t, d, t, dp, t, true, q, 3 * e, false, dk, 3 * e), space);
  });
}

STEEPEST_KERNEL_ENTRY(attention_forward)
STEEPEST_KERNEL_ENTRY(attention_backward)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
