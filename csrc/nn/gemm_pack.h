// Packing for the GEMM (gemm.cc): a block of op(A) into slivers of kTileRows rows and a block of
// op(B) into panels of kTileCols columns, both k-major, so the micro-kernel (gemm_tile.h) reads
// them contiguously. The packing absorbs the transposes:
//   A (M, K) stored, Shifted A  -> not packed: the tiles read its rows in place, run by run
//                                  (sliver_runs below), unless they are 4 KiB or more apart
//                                  (in_place() in gemm.cc); then packed as below
//   A (M, K), B (N, K) stored   -> a sliver/panel gathers rows read along k: a transpose, done
//                                  with 8x8 in-register transposes for fp32 on AVX
//   A (K, M), B (K, N) stored   -> a row of storage is one k-step: a plain copy
//   a Shifted op(A) or op(B)    -> runs of a convolution's input gathered (gemm.h); a row in
//                                  the padding reads a run of zeros
// Included inside a namespace after gemm_tile.h (gemm.cc includes <immintrin.h> first).
#pragma once

#include "transpose.h"

namespace {

inline int64_t lesser(int64_t a, int64_t b) { return a < b ? a : b; }

// out[0, W) = src[0, W): whole vectors, then the rest in one fixed-size copy. (Written as a
// loop over elements, GCC built vectors across rows from single-element inserts here, or
// called memcpy for each run.)
template <int W, class T>
inline void copy_run(const T* __restrict src, T* __restrict out) {
  constexpr int L = kVecLanes<T>, whole = W / L * L;
#pragma GCC unroll 8
  for (int j = 0; j < whole; j += L) store(out + j, load(src + j));
  if constexpr (W % L != 0) __builtin_memcpy(out + whole, src + whole, (W % L) * sizeof(T));
}

// out[p * W + j] = src[p * ld + j] for j < count, 0 for count <= j < W, p < kc.
template <int W, class T>
void copy_rows(const T* __restrict src, int64_t ld, int64_t count, int64_t kc, T* __restrict out) {
  if (count == W) {
    for (int64_t p = 0; p < kc; ++p) copy_run<W>(src + p * ld, out + p * W);
    return;
  }
  for (int64_t p = 0; p < kc; ++p) {
    for (int64_t j = 0; j < count; ++j) out[p * W + j] = src[p * ld + j];
    for (int64_t j = count; j < W; ++j) out[p * W + j] = T(0);
  }
}

// The longest run of zeros a Shifted row may read (a depth block at most: gemm.cc's kMaxDepth).
constexpr int64_t kZeroRun = 256;
template <class T>
const T* zero_run() {
  alignas(64) static const T zeros[kZeroRun] = {};
  return zeros;
}

// Row (b, t) of a Shifted matrix from tap k, channel c on: its address in src, or null in the
// padding (gemm.h gives the mapping).
template <class T>
const T* shifted_at(const Shifted<T>& s, int64_t b, int64_t t, int64_t k, int64_t c) {
  int64_t u = t * s.step + k * s.tap_step + s.offset;
  if (s.divisor != 1) {
    if (u < 0 || u % s.divisor) return nullptr;
    u /= s.divisor;
  }
  if (u < 0 || u >= s.length) return nullptr;
  return s.src + (b * s.length + u) * s.width + c;
}

// The most runs a depth block of kc columns of a Shifted matrix crosses: columns are taps of
// `width` channels, and a run ends at the end of a tap or of the block.
inline int64_t max_runs(int64_t kc, int64_t width) { return lesser(kc, (kc - 1) / width + 2); }

// The slivers of kTileRows rows of the block rows [i0, i0 + mc) of a Shifted op(A), over the
// depth block [p0, p0 + kc), which crosses taps in runs: f(s, rows, p, n, src) for each run of
// each sliver, sliver s (its first row i0 + s, `rows` of them real), k-steps [p, p + n) (tap k,
// channels c..c + n), src[i] the start of row i's run in sh.src, or a run of zeros (padding, and
// the rows past mc).
template <class T, class F>
void for_each_run(const Shifted<T>& sh, int64_t i0, int64_t mc, int64_t p0, int64_t kc, F f) {
  constexpr int R = kTileRows;
  int64_t b = i0 / sh.steps, t = i0 % sh.steps;  // row i0 + s + i, advanced without dividing
  for (int64_t s = 0; s < mc; s += R) {
    const int rows = int(lesser(R, mc - s));
    int64_t row_b[R], row_t[R];
    for (int i = 0; i < rows; ++i) {
      row_b[i] = b, row_t[i] = t;
      if (++t == sh.steps) t = 0, ++b;
    }
    for (int64_t p = p0; p < p0 + kc;) {
      const int64_t k = p / sh.width, c = p % sh.width, n = lesser(sh.width - c, p0 + kc - p);
      const T* src[R];
      for (int i = 0; i < R; ++i) {
        const T* row = i < rows ? shifted_at(sh, row_b[i], row_t[i], k, c) : nullptr;
        src[i] = row ? row : zero_run<T>();
      }
      f(s, rows, p, n, src);
      p += n;
    }
  }
}

// A Shifted op(A) read in place (gemm_tile.h's InPlaceSliver): the runs of each sliver (above),
// sliver after sliver into out. Returns the runs per sliver.
template <class T>
int64_t shifted_runs(const Shifted<T>& sh, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                     RowRun<T>* __restrict out) {
  int64_t count = 0;
  for_each_run(sh, i0, mc, p0, kc, [&](int64_t s, int, int64_t, int64_t n, const T* const* src) {
    for (int i = 0; i < kTileRows; ++i) out->rows[i] = src[i];
    out->length = n;
    ++out;
    if (s == 0) ++count;
  });
  return count;
}

// op(A) read in place: shifted_runs for a Shifted one; a stored A (M, K) has one run per sliver,
// rows[i] = A's row i0 + s + i from column p0 on.
template <class T>
int64_t sliver_runs(const Gemm<T>& g, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                    RowRun<T>* __restrict out) {
  if (g.shifted_a) return shifted_runs(*g.shifted_a, i0, mc, p0, kc, out);
  for (int64_t s = 0; s < mc; s += kTileRows, ++out) {
    for (int64_t i = 0; i < kTileRows; ++i)
      out->rows[i] = s + i < mc ? g.a + (i0 + s + i) * g.lda + p0 : zero_run<T>();
    out->length = kc;
  }
  return 1;
}

// pack_a for a Shifted op(A): each run of a sliver (for_each_run) gathered like the rows of a
// stored A into that run's k-steps of the sliver.
template <class T>
void pack_a_shifted(const Shifted<T>& sh, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                    T* __restrict out) {
  constexpr int R = kTileRows;
  for_each_run(sh, i0, mc, p0, kc,
               [&](int64_t s, int rows, int64_t p, int64_t n, const T* const* src) {
                 gather(src, rows, R, n, out + s * kc + (p - p0) * R, R);
               });
}

// pack_b for a Shifted op(B): panel columns [j, j + cols) are taps and channels; within one tap
// (the usual case) a panel row is one run of src, else each column is found on its own.
template <class T>
void pack_b_shifted(const Shifted<T>& sh, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                    T* __restrict out) {
  constexpr int NR = kTileCols<T>;
  for (int64_t s = 0; s < nc; s += NR, out += kc * NR) {
    const int64_t j = j0 + s, cols = lesser(NR, nc - s);
    const int64_t k = j / sh.width, c = j % sh.width;
    int64_t b = p0 / sh.steps, t = p0 % sh.steps;  // row p0 + p, advanced without dividing
    for (int64_t p = 0; p < kc; ++p) {
      T* __restrict o = out + p * NR;
      if (c + cols <= sh.width) {
        const T* row = shifted_at(sh, b, t, k, c);
        if (row && cols == NR)
          copy_run<NR>(row, o);
        else
          for (int64_t q = 0; q < cols; ++q) o[q] = row ? row[q] : T(0);
      } else {
        for (int64_t q = 0, kq = k, cq = c; q < cols; ++q) {
          const T* at = shifted_at(sh, b, t, kq, cq);
          o[q] = at ? *at : T(0);
          if (++cq == sh.width) cq = 0, ++kq;
        }
      }
      for (int64_t q = cols; q < NR; ++q) o[q] = T(0);
      if (++t == sh.steps) t = 0, ++b;
    }
  }
}

// A block rows [i0, i0 + mc), depth [p0, p0 + kc) -> slivers of kTileRows rows, k-major:
// out[s * kc * R + p * R + i] = op(A)(i0 + s * R + i, p0 + p); rows past mc are 0.
template <class T>
void pack_a(const Gemm<T>& g, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T* __restrict out) {
  constexpr int R = kTileRows;
  if (g.shifted_a) return pack_a_shifted(*g.shifted_a, i0, mc, p0, kc, out);
  for (int64_t s = 0; s < mc; s += R, out += kc * R) {
    const int64_t rows = lesser(R, mc - s);
    if (g.trans_a) {  // A (K, M): a row of A is one k-step of the sliver
      copy_rows<R>(g.a + p0 * g.lda + i0 + s, g.lda, rows, kc, out);
    } else {  // A (M, K): each row of the sliver is read along k
      const T* src[R];
      for (int i = 0; i < rows; ++i) src[i] = g.a + (i0 + s + i) * g.lda + p0;
      gather(src, int(rows), R, kc, out, R);
    }
  }
}

// B block depth [p0, p0 + kc), columns [j0, j0 + nc) -> panels of kTileCols columns, k-major:
// out[s * kc * NR + p * NR + j] = op(B)(p0 + p, j0 + s * NR + j); columns past nc are 0.
template <class T>
void pack_b(const Gemm<T>& g, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T* __restrict out) {
  constexpr int NR = kTileCols<T>;
  if (g.shifted_b) return pack_b_shifted(*g.shifted_b, p0, kc, j0, nc, out);
  for (int64_t s = 0; s < nc; s += NR, out += kc * NR) {
    const int64_t cols = lesser(NR, nc - s);
    if (!g.trans_b) {  // B (K, N): a row of B is one k-step of the panel
      copy_rows<NR>(g.b + p0 * g.ldb + j0 + s, g.ldb, cols, kc, out);
    } else {  // B (N, K): each column of the panel is read along k
      const T* src[NR];
      for (int j = 0; j < cols; ++j) src[j] = g.b + (j0 + s + j) * g.ldb + p0;
      gather(src, int(cols), NR, kc, out, NR);
    }
  }
}

}  // namespace
