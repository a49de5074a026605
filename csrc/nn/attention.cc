// Scaled dot-product self-attention per (batch, head): equations and layouts in
// steepest/nn/attention.h. A pool chunk is a run of (b, h) problems, each independent of the
// others. A problem's products are register blocks (block() below) straight over its Q, K, V
// rows, with K and V transposed into the chunk's scratch where a product runs along them: at
// our users' sizes (T up to a few hundred, d = E / H of 8 to 64) a general GEMM spent more
// time packing and on edge tiles than multiplying.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>  // vec.h
#endif

#include "steepest/nn/attention.h"
#include "steepest/nn/dropout.h"
#include "steepest/targets.h"
#include "../runtime/pool.h"
#include "aligned.h"

namespace steepest {

int get_num_threads();  // runtime/parallel.h (not included: its inline code is not per target)

namespace STEEPEST_TARGET {

template <class T>
void dropout(const Dropout<T>&, int64_t, int64_t);  // dropout.cc

#include "steepest/kernel_math.h"
#include "steepest/nn/approx.h"
#include "vec.h"
#include "transpose.h"

namespace {

constexpr int kRowLanes = 8;  // the max and the sums of a softmax row run in lanes j % 8
// Below this many multiply-adds (all heads' products) one thread does everything.
constexpr int64_t kParallelFlops = int64_t(1) << 18;
constexpr int64_t kChunksPerThread = 4;  // runs of (b, h) per thread, for balance
// Rows of a register block: kBlockRows accumulators of one vector each, enough independent
// chains to cover the fused multiply-add's latency on two pipes, and few enough for 16
// registers (AVX2, SSE) with the B vector and a broadcast beside them.
constexpr int kBlockRows = 8;

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// One register block: for r < rows and j < cols (cols <= kVecLanes<T>),
//   c[r ldc + j] = sum over p in [0, depth) of a[r][p a_step] b[p ldb + j],
// each element one chain of fused multiply-adds in ascending p (so a result depends neither on
// the target's vector width nor on the thread). a: kBlockRows row pointers (rows past `rows`
// repeat a valid row: computed, not stored); b: depth rows of a full vector each, readable.
template <class T>
void block(int rows, int64_t depth, const T* const* a, int64_t a_step, const T* __restrict b,
           int64_t ldb, T* __restrict c, int64_t ldc, int64_t cols) {
  using V = Vec<T>;
  constexpr int R = kBlockRows, L = kVecLanes<T>;
  V acc[R];
  const T* ap[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    acc[r] = V{};
    ap[r] = a[r];
  }
  for (int64_t p = 0; p < depth; ++p) {
    const V bv = load(b + p * ldb);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc[r] = fmadd_vec(broadcast(ap[r]), bv, acc[r]);
      ap[r] += a_step;
    }
  }
  for (int r = 0; r < rows; ++r) {
    if (cols == L) {
      store(c + r * ldc, acc[r]);
    } else {
      alignas(64) T lane[L];
      store(lane, acc[r]);
      for (int64_t j = 0; j < cols; ++j) c[r * ldc + j] = lane[j];
    }
  }
}

// Row pointers of a block starting at row i0 of a matrix of `count` rows: base + i stride for
// i = min(i0 + r, count - 1).
template <class T>
void rows_from(const T* base, int64_t stride, int64_t i0, int64_t count, const T** a) {
  for (int r = 0; r < kBlockRows; ++r) a[r] = base + std::min(i0 + r, count - 1) * stride;
}

// x (count, d) with row stride ld, read as rows of whole vectors: x itself when d is a whole
// number of vectors, else a copy with rows of dp (d rounded up to vectors) zero-padded.
template <class T>
const T* vector_rows(const T* x, int64_t ld, int64_t count, int64_t d, T* copy, int64_t& ldx) {
  if (d % kVecLanes<T> == 0) {
    ldx = ld;
    return x;
  }
  const int64_t dp = round_up(d, kVecLanes<T>);
  for (int64_t i = 0; i < count; ++i) {
    std::copy(x + i * ld, x + i * ld + d, copy + i * dp);
    std::fill(copy + i * dp + d, copy + (i + 1) * dp, T(0));
  }
  ldx = dp;
  return copy;
}

// xt (d, tp) = x^T for x (count, d) with row stride ld; columns count..tp zero. By groups of 8
// rows (transpose.h's gather: 8 x 8 in registers for fp32 on AVX).
template <class T>
void transpose(const T* x, int64_t ld, int64_t count, int64_t d, T* __restrict xt, int64_t tp) {
  const T* rows[8];
  int64_t j0 = 0;
  for (; j0 < count; j0 += 8) {
    const int n = int(std::min<int64_t>(8, count - j0));
    for (int i = 0; i < n; ++i) rows[i] = x + (j0 + i) * ld;
    gather(rows, n, 8, d, xt + j0, tp);  // columns [j0, j0 + 8), zero past count
  }
  for (int64_t k = 0; k < d; ++k) std::fill(xt + k * tp + j0, xt + (k + 1) * tp, T(0));
}

// Starts loading count rows of width elements (row stride ld) into the caches, for reading
// (Write false) or writing: the next problem's operands, while this one computes. Its rows lie
// 3E elements apart, a stride the hardware's prefetchers do not follow across pages. Into L2
// (locality 2): a problem's operands are hundreds of lines, more misses than L1 keeps in flight.
template <bool Write, class T>
void prefetch_rows(const T* x, int64_t ld, int64_t count, int64_t width) {
  const int64_t bytes = width * int64_t(sizeof(T));
  for (int64_t i = 0; i < count; ++i)
    for (int64_t at = 0; at < bytes; at += 64)
      __builtin_prefetch(reinterpret_cast<const char*>(x + i * ld) + at, Write, 2);
}

// out (T, d) rows, row stride ldo: out[i, :] = sum over p of coef(i, p) x[p, :], by blocks of
// kBlockRows rows. coef(i, p) = m[i mstride + p mstep]; the sum runs over p in [lo(i0),
// hi(i0)) for the block at i0 (the range where the block's coefficients can be nonzero).
template <class T, class Lo, class Hi>
void rows_times(int64_t steps, int64_t d, const T* m, int64_t mstride, int64_t mstep, Lo lo,
                Hi hi, const T* x, int64_t ldx, T* out, int64_t ldo) {
  const T* a[kBlockRows];
  for (int64_t i0 = 0; i0 < steps; i0 += kBlockRows) {
    const int rows = int(std::min<int64_t>(kBlockRows, steps - i0));
    const int64_t from = lo(i0), to = hi(i0);
    rows_from(m + from * mstep, mstride, i0, steps, a);
    for (int64_t v0 = 0; v0 < d; v0 += kVecLanes<T>)
      block(rows, to - from, a, mstep, x + from * ldx + v0, ldx, out + i0 * ldo + v0, ldo,
            std::min<int64_t>(kVecLanes<T>, d - v0));
  }
}

// The chunks and the scratch of one call: chunk c runs problems [pairs c / chunks,
// pairs (c + 1) / chunks) with `slot` elements of scratch at space + c * slot. Which chunk runs
// a problem does not change its result.
template <class T>
struct Plan {
  int64_t pairs, chunks, slot;
  std::unique_ptr<T[]> buffer;
  T* space;

  Plan(const AttentionShape& s, int64_t scratch) {
    pairs = s.batch * s.heads;
    slot = whole_lines<T>(scratch);
    const int64_t threads = get_num_threads();
    const double flops = double(pairs) * double(s.steps) * double(s.steps) * double(s.head_dim);
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

// The kRowLanes lanes of a row's max and sums as one GCC vector (lane l takes the elements
// j % kRowLanes == l in order; the lanes are combined in order: the same bits on every target).
template <class T>
struct LanesOf;  // (GCC ignores vector_size on a dependent type)
template <>
struct LanesOf<float> {
  typedef float type __attribute__((vector_size(kRowLanes * sizeof(float))));
};
template <>
struct LanesOf<double> {
  typedef double type __attribute__((vector_size(kRowLanes * sizeof(double))));
};
template <class T>
using Lanes = typename LanesOf<T>::type;
template <class T>
inline void load_lanes(Lanes<T>& v, const T* p) { __builtin_memcpy(&v, p, sizeof v); }

// The largest of row[0..n) (n >= 1) (a NaN is skipped by the compare; it reaches P through
// the exponentials below).
template <class T>
T row_max(const T* row, int64_t n) {
  Lanes<T> lane = Lanes<T>{} + row[0];
  int64_t j = 0;
  for (; j + kRowLanes <= n; j += kRowLanes) {
    Lanes<T> x;
    load_lanes(x, row + j);
    lane = x > lane ? x : lane;
  }
  T m = lane[0];
  for (int l = 1; l < kRowLanes; ++l) m = lane[l] > m ? lane[l] : m;
  for (; j < n; ++j) m = row[j] > m ? row[j] : m;
  return m;
}

// sum over j < n of a[j] b[j] (b null: of a[j]), in lanes (the tail in lane 0).
template <class T>
T row_sum(const T* a, const T* b, int64_t n) {
  Lanes<T> lane{};
  int64_t j = 0;
  for (; j + kRowLanes <= n; j += kRowLanes) {
    Lanes<T> x, y;
    load_lanes(x, a + j);
    if (b) load_lanes(y, b + j);
    lane += b ? x * y : x;
  }
  for (; j < n; ++j) lane[0] += b ? a[j] * b[j] : a[j];
  T sum = lane[0];
  for (int l = 1; l < kRowLanes; ++l) sum += lane[l];
  return sum;
}

// A block of score rows s (row stride lds; exponentials in place) -> probabilities p (row
// stride steps): row r < rows takes its first n = causal ? i0 + r + 1 : steps scores,
// p[r, j] = exp(c (s[r, j] - m_r)) / sum over j < n (m_r = max_j s[r, j]), 0 for j >= n.
// Each step runs for all the block's rows before the next: a row's max, then its sum, is a
// chain of dependent operations, and the rows' chains overlap.
template <class T>
void softmax_rows(T* __restrict s, int64_t lds, T* __restrict p, int rows, int64_t i0,
                  bool causal, int64_t steps, T c) {
  int64_t n[kBlockRows];
  T m[kBlockRows], inv[kBlockRows];
  for (int r = 0; r < rows; ++r) {
    n[r] = causal ? i0 + r + 1 : steps;
    m[r] = row_max(s + r * lds, n[r]);
  }
  for (int r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n[r]; ++j) s[r * lds + j] = exp_approx(c * (s[r * lds + j] - m[r]));
  for (int r = 0; r < rows; ++r) inv[r] = T(1) / row_sum<T>(s + r * lds, nullptr, n[r]);
  for (int r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n[r]; ++j) p[r * steps + j] = s[r * lds + j] * inv[r];
    for (int64_t j = n[r]; j < steps; ++j) p[r * steps + j] = T(0);
  }
}

// A row of dPd -> dS in place: g[j] = c (pd[j] g[j] - p[j] r) for j < n, r = sum over j < n of
// pd[j] g[j]; 0 for j in [n, width).
template <class T>
void softmax_backward_row(T* __restrict g, const T* __restrict p, const T* __restrict pd,
                          int64_t n, int64_t width, T c) {
  const T r = row_sum(pd, g, n);
  for (int64_t j = 0; j < n; ++j) g[j] = c * (pd[j] * g[j] - p[j] * r);
  std::fill(g + n, g + width, T(0));
}

// The sizes of a problem's scratch: a K or V transposed (d, tp), `count` rows of tp, and a
// copy (T, dp) of an operand whose d is not a whole number of vectors (vector_rows). tp and dp
// are T and d rounded up to cache lines (whole vectors, aligned).
template <class T>
struct Layout {
  int64_t tp, transposed, rows, copy;
  Layout(const AttentionShape& s, int64_t count) {
    tp = whole_lines<T>(s.steps);
    transposed = s.head_dim * tp;
    rows = count * tp;
    copy = s.head_dim % kVecLanes<T> == 0 ? 0 : s.steps * whole_lines<T>(s.head_dim);
  }
};

}  // namespace

template <class T>
void attention_forward(const AttentionForward<T>& f) {
  const AttentionShape& s = f.shape;
  const int64_t t = s.steps, d = s.head_dim, e = s.embed(), tt = t * t;
  const T c = T(1) / root(T(d));
  const Layout<T> at(s, kBlockRows);
  // Kt (d, tp), a block of score rows (kBlockRows, tp), V's copy (T, dp) when needed
  const Plan<T> plan(s, at.transposed + at.rows + at.copy);  // here: chunks must not throw
  const auto q_of = [&](int64_t pair) {  // Q, K, V (T, d) of a problem: row stride 3E
    return f.qkv + pair / s.heads * t * 3 * e + pair % s.heads * d;
  };
  const auto out_of = [&](int64_t pair) {  // its O (T, d), row stride E
    return f.out + pair / s.heads * t * e + pair % s.heads * d;
  };
  plan.run([&](int64_t pair, T* space) {
    const T* q = q_of(pair);
    const T *k = q + e, *v = q + 2 * e;
    if (pair + 1 < plan.pairs) {
      const T* next = q_of(pair + 1);
      for (int part = 0; part < 3; ++part) prefetch_rows<false>(next + part * e, 3 * e, t, d);
      prefetch_rows<true>(out_of(pair + 1), e, t, d);
    }
    T *kt = space, *scores = kt + at.transposed, *copy = scores + at.rows;
    T* p = f.probs + pair * tt;
    transpose(k, 3 * e, t, d, kt, at.tp);
    // S (T, T) = Q K^T by blocks of rows, each row's softmax as soon as its block is done
    const T* a[kBlockRows];
    for (int64_t i0 = 0; i0 < t; i0 += kBlockRows) {
      const int rows = int(std::min<int64_t>(kBlockRows, t - i0));
      const int64_t width = s.causal ? std::min(t, i0 + kBlockRows) : t;
      rows_from(q, 3 * e, i0, t, a);
      for (int64_t j0 = 0; j0 < width; j0 += kVecLanes<T>)
        block(rows, d, a, 1, kt + j0, at.tp, scores + j0, at.tp, kVecLanes<T>);
      softmax_rows(scores, at.tp, p + i0 * t, rows, i0, s.causal, t, c);
    }
    const T* pd = p;
    if (f.dropped) {
      dropout<T>({f.dropped, f.probs, f.seed, f.threshold, f.keep_scale}, pair * tt,
                 (pair + 1) * tt);
      pd = f.dropped + pair * tt;
    }
    // O (T, d) = Pd V, into head h's columns of out (B, T, E); causal rows end at the diagonal
    int64_t ldv;
    const T* vx = vector_rows(v, 3 * e, t, d, copy, ldv);
    const auto upto = [&](int64_t i0) { return s.causal ? std::min(t, i0 + kBlockRows) : t; };
    rows_times(t, d, pd, t, 1, [](int64_t) { return int64_t(0); }, upto, vx, ldv, out_of(pair),
               e);
  });
}

template <class T>
void attention_backward(const AttentionBackward<T>& a) {
  const AttentionShape& s = a.shape;
  const int64_t t = s.steps, d = s.head_dim, e = s.embed(), tt = t * t;
  const T c = T(1) / root(T(d));
  const Layout<T> at(s, t);
  // Vt (d, tp), dS (T, tp), then copies of dO, K, Q (T, dp) when needed
  const Plan<T> plan(s, at.transposed + at.rows + 3 * at.copy);  // here: chunks must not throw
  // A problem's first element in (B, T, 3E) and in (B, T, E): its Q, K, V, dQ, dK, dV and its
  // dO (T, d) are there, row strides 3E and E.
  const auto first = [&](int64_t pair) { return pair / s.heads * t * 3 * e + pair % s.heads * d; };
  const auto first_out = [&](int64_t pair) { return pair / s.heads * t * e + pair % s.heads * d; };
  plan.run([&](int64_t pair, T* space) {
    const T *q = a.qkv + first(pair), *k = q + e, *v = q + 2 * e;
    T *dq = a.dqkv + first(pair), *dk = dq + e, *dv = dq + 2 * e;
    const T* dout = a.dout + first_out(pair);
    const T* p = a.probs + pair * tt;
    const T* pd = a.dropped ? a.dropped + pair * tt : p;
    if (pair + 1 < plan.pairs) {
      for (int part = 0; part < 3; ++part) {
        prefetch_rows<false>(a.qkv + first(pair + 1) + part * e, 3 * e, t, d);
        prefetch_rows<true>(a.dqkv + first(pair + 1) + part * e, 3 * e, t, d);
      }
      prefetch_rows<false>(a.dout + first_out(pair + 1), e, t, d);
      prefetch_rows<false>(p + tt, tt, 1, tt);
      if (a.dropped) prefetch_rows<false>(pd + tt, tt, 1, tt);
    }
    T *vt = space, *ds = vt + at.transposed, *copies = ds + at.rows;
    // P and Pd are 0 above the diagonal when causal: the sums below skip those terms.
    const bool causal = s.causal;
    const auto zero = [](int64_t) { return int64_t(0); };
    const auto to_diagonal = [&](int64_t i0) { return causal ? std::min(t, i0 + kBlockRows) : t; };
    const auto from_diagonal = [&](int64_t j0) { return causal ? j0 : int64_t(0); };
    const auto all = [&](int64_t) { return t; };
    // dPd (T, T) = dO V^T by blocks of rows, then dS in place, row by row
    transpose(v, 3 * e, t, d, vt, at.tp);
    const T* rows[kBlockRows];
    for (int64_t i0 = 0; i0 < t; i0 += kBlockRows) {
      const int count = int(std::min<int64_t>(kBlockRows, t - i0));
      const int64_t width = to_diagonal(i0);
      rows_from(dout, e, i0, t, rows);
      for (int64_t j0 = 0; j0 < width; j0 += kVecLanes<T>)
        block(count, d, rows, 1, vt + j0, at.tp, ds + i0 * at.tp + j0, at.tp, kVecLanes<T>);
      for (int r = 0; r < count; ++r) {
        const int64_t i = i0 + r;
        softmax_backward_row(ds + i * at.tp, p + i * t, pd + i * t, causal ? i + 1 : t, at.tp,
                             c);
      }
    }
    int64_t ld_do, ld_k, ld_q;
    const T* dox = vector_rows(dout, e, t, d, copies, ld_do);
    const T* kx = vector_rows(k, 3 * e, t, d, copies + at.copy, ld_k);
    const T* qx = vector_rows(q, 3 * e, t, d, copies + 2 * at.copy, ld_q);
    // dV (T, d) = Pd^T dO: row j sums over i >= j when causal
    rows_times(t, d, pd, 1, t, from_diagonal, all, dox, ld_do, dv, 3 * e);
    // dQ (T, d) = dS K: row i sums over j <= i when causal
    rows_times(t, d, ds, at.tp, 1, zero, to_diagonal, kx, ld_k, dq, 3 * e);
    // dK (T, d) = dS^T Q: row j sums over i >= j when causal
    rows_times(t, d, ds, 1, at.tp, from_diagonal, all, qx, ld_q, dk, 3 * e);
  });
}

STEEPEST_KERNEL_ENTRY(attention_forward)
STEEPEST_KERNEL_ENTRY(attention_backward)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
