// The register-blocked micro-kernel of the GEMM (gemm.cc) and the tile shape of each SIMD target.
// Included only by gemm.cc, inside namespace steepest::<target>; the anonymous namespace gives
// each target its own copy (see kernel_math.h).
//
// A tile is kTileRows x kTileCols<T> elements of C held in kTileRows * kTileVecs vector registers:
//   baseline (SSE2, 16 xmm)  6 x 2 vectors: 6x8 fp32, 6x4 fp64      12 accumulators
//   avx2+fma (16 ymm)        6 x 2 vectors: 6x16 fp32, 6x8 fp64     12 accumulators
//   avx512   (32 zmm)       12 x 2 vectors: 12x32 fp32, 12x16 fp64  24 accumulators
// Each step over k loads 2 vectors of B, broadcasts kTileRows elements of A and issues
// 2 * kTileRows fused multiply-adds: 12 FMAs per 8 loads with avx2.
// Included inside a namespace: gemm.cc includes the system headers (<immintrin.h>) first.
#pragma once

#include "vec.h"

namespace {

#if defined(__AVX512F__)
constexpr int kTileRows = 12;
#else
constexpr int kTileRows = 6;
#endif
constexpr int kTileVecs = 2;
template <class T>
constexpr int kTileCols = kTileVecs * kVecLanes<T>;

// A sliver of op(A) read in place instead of packed: the depth block is cut into runs, and in run
// s row i's k-steps are runs[s].rows[i][0, length): a stretch of a row of A, one tap's channels
// of a convolution's input (gemm.h's Shifted), or zeros. Rows past the sliver's read zeros too.
template <class T>
struct RowRun {
  const T* rows[kTileRows];
  int64_t length;
};
template <class T>
struct InPlaceSliver {
  const RowRun<T>* runs;
  int64_t count;
  const RowRun<T>* next;  // the next sliver's runs (count of them), or null: prefetched
};

// acc += a · b over the depth block, k ascending: a packed sliver (kc, kTileRows), b a packed
// panel (kc, kTileCols<T>).
template <class T, int NV, int Rows>
inline void multiply(Vec<T> (&acc)[Rows][NV], const T* __restrict a, const T* __restrict b,
                     int64_t kc) {
  using V = Vec<T>;
  constexpr int L = kVecLanes<T>, NR = kTileCols<T>;
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = load(b + v * L);
#pragma GCC unroll 16
    for (int i = 0; i < Rows; ++i) {
      const V ai = broadcast(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = fmadd_vec(ai, bv[v], acc[i][v]);
    }
    a += kTileRows;
    b += NR;
  }
}

// The same with the sliver read in place, run after run: the same multiply-adds in the same
// order, so the same bits.
template <class T, int NV, int Rows>
inline void multiply(Vec<T> (&acc)[Rows][NV], InPlaceSliver<T> a, const T* __restrict b,
                     int64_t) {
  using V = Vec<T>;
  constexpr int L = kVecLanes<T>, NR = kTileCols<T>;
  constexpr int64_t line = 64 / sizeof(T);
  for (int64_t s = 0; s < a.count; ++s) {
    const T* rows[Rows];
#pragma GCC unroll 16
    for (int i = 0; i < Rows; ++i) rows[i] = a.runs[s].rows[i];
    const int64_t length = a.runs[s].length;
#pragma GCC unroll 2
    for (int64_t p = 0; p < length; ++p) {
      // The next sliver's rows, a cache line each per line of this run: the first column
      // panel reads a block of A from memory, which the tiles would otherwise wait for.
      if (a.next && p % line == 0)
#pragma GCC unroll 16
        for (int i = 0; i < kTileRows; ++i) __builtin_prefetch(a.next[s].rows[i] + p);
      V bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = load(b + v * L);
#pragma GCC unroll 16
      for (int i = 0; i < Rows; ++i) {
        const V ai = broadcast(rows[i] + p);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = fmadd_vec(ai, bv[v], acc[i][v]);
      }
      b += NR;
    }
  }
}

// One tile: c (kTileRows, kTileCols) with row stride ldc becomes
//   relu?( (load_c ? c : 0) + a · b (+ bias) ), then 0 where mask (row stride ldc) is <= 0
// (relu_vec keeps a NaN; a NaN mask element keeps c, as torch's relu backward does at a NaN:
// NaN <= 0 is false; activations.h.)
// a: (kc, kTileRows) packed sliver of op(A) or an InPlaceSliver, b: (kc, kTileCols) packed
// panel of op(B), contiguous; bias: (kTileCols) or null. NV < kTileVecs computes only the
// panel's first NV vectors of columns (c, bias and mask then NV * kVecLanes columns wide);
// Rows < kTileRows only the sliver's first Rows rows (c and mask then Rows rows: the last sliver
// of a product whose M is not a multiple of kTileRows). Each element of c is one chain of fused
// multiply-adds over k in ascending order, starting from c or 0: a tile that stores c and is
// called again with load_c on the next k block continues the same chain, bitwise.
template <class T, int NV = kTileVecs, int Rows = kTileRows, class A>
void tile(int64_t kc, A a, const T* __restrict b, T* __restrict c, int64_t ldc, bool load_c,
          const T* __restrict bias, bool relu, const T* __restrict mask) {
  using V = Vec<T>;
  constexpr int R = Rows, L = kVecLanes<T>;
  V acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = load_c ? load(c + i * ldc + v * L) : V{};
  multiply<T, NV, R>(acc, a, b, kc);
  if (bias) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const V bb = load(bias + v * L);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) acc[i][v] += bb;
    }
  }
  if (relu) {
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = relu_vec(acc[i][v]);
  }
  if (mask) {
    const V zero{};
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        acc[i][v] = load(mask + i * ldc + v * L) <= zero ? zero : acc[i][v];  // NaN mask: kept
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) store(c + i * ldc + v * L, acc[i][v]);
}

}  // namespace
