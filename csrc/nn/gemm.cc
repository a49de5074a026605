// C = op(A) · op(B) (+ C) (+ bias), activation: see steepest/nn/gemm.h for shapes.
//
// The GotoBLAS/BLIS structure. C is cut into rectangles, one per pool chunk; each rectangle runs
//   for jc over its columns, step nc        B block (kc, nc) packed into panels of kTileCols
//     for pc over K, step kc                 columns, k-major (pack_b; absorbs trans_b)
//       for ic over its rows, step mc        A block (mc, kc) packed into slivers of kTileRows
//         for jr over panels, ir over slivers   rows, k-major (pack_a; absorbs trans_a), or
//                                               read in place (in_place below)
//           tile(): kTileRows x kTileCols of C in registers (gemm_tile.h)
// The B panel (kc * kTileCols) stays in L1 while the tiles of a column walk the A block, which
// stays in L2. Panels and slivers past the edge of C are zero-padded; edge tiles of C go through
// a local tile-sized buffer, so nothing is read or written past an array.
//
// Every element of C is one chain of fused multiply-adds over k in ascending order starting
// from C (accumulate) or 0, then + bias, then the activation (gemm_tile.h): the result does not
// depend on the blocking, the rectangles or the thread count.
#include <algorithm>
#include <cstdlib>
#include <new>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>  // gemm_tile.h
#endif

#include "steepest/nn/gemm.h"
#include "steepest/targets.h"
#include "../runtime/pool.h"

namespace steepest {

int get_num_threads();  // runtime/parallel.h (not included: its inline code is not per target)

namespace STEEPEST_TARGET {

#include "steepest/kernel_math.h"
#include "gemm_tile.h"
#include "gemm_pack.h"

namespace {

// Block sizes for the caches of AVX2 cores (Zen3: 32 KiB L1d, 512 KiB L2 per core): the A block
// kMaxRows x kMaxDepth is 144 KiB in L2, a B panel kMaxDepth x 16 fp32 is 16 KiB in L1.
constexpr int64_t kMaxDepth = 256;                         // kc
static_assert(kMaxDepth <= kZeroRun, "a Shifted row in the padding reads kc zeros");
template <class T>
constexpr int64_t kMaxRows = (sizeof(T) == 4 ? 144 : 72);  // mc, a multiple of kTileRows
constexpr int64_t kMaxCols = 2048;                         // nc
// C is cut into chunks of at least kChunkFlops multiply-adds (microseconds of one core's work),
// up to kChunksPerThread per thread, and products under 2 * kChunkFlops run on the calling
// thread alone (waking a worker costs microseconds). More chunks cost more packing: each chunk
// packs its own rows of A and columns of B. One chunk per thread: a worker that wakes late
// loses less than the extra packing of more chunks costs, and its chunk is then run by the
// caller (pool.h).
constexpr int64_t kChunkFlops = int64_t(1) << 19;
constexpr int64_t kChunksPerThread = 1;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// A tile of rows x cols (at most kTileRows x kTileCols) at c: tile() in place when its columns
// are whole vectors of the panel, else through a local full-width tile (padded bias too) so that
// nothing past C or bias is touched. Rows is the tile's height: kTileRows, or fewer for the last
// sliver of a product (edge_tile below picks it), so that no multiply-add is spent on padding.
template <class T, int Rows, class A>
void rows_tile(int64_t rows, int64_t cols, int64_t kc, A a, const T* b, T* c, int64_t ldc,
               bool load_c, const T* bias, bool relu, const T* mask) {
  constexpr int NR = kTileCols<T>;
  if (rows == Rows && cols == NR)
    return tile<T, kTileVecs, Rows>(kc, a, b, c, ldc, load_c, bias, relu, mask);
  // One vector of columns (an attention head's 16 features on avx512): half a tile, in place
  if (rows == Rows && cols == kVecLanes<T>)
    return tile<T, 1, Rows>(kc, a, b, c, ldc, load_c, bias, relu, mask);
  alignas(64) T local[Rows * NR] = {};
  alignas(64) T local_bias[NR] = {};
  alignas(64) T local_mask[Rows * NR] = {};
  for (int64_t i = 0; load_c && i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) local[i * NR + j] = c[i * ldc + j];
  for (int64_t j = 0; bias && j < cols; ++j) local_bias[j] = bias[j];
  for (int64_t i = 0; mask && i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) local_mask[i * NR + j] = mask[i * ldc + j];
  // At most one vector of columns (N = 45's last 13): the panel's first vector alone, half the
  // multiply-adds of the full-width tile
  if (cols <= kVecLanes<T>)
    tile<T, 1, Rows>(kc, a, b, local, NR, load_c, bias ? local_bias : nullptr, relu,
                     mask ? local_mask : nullptr);
  else
    tile<T, kTileVecs, Rows>(kc, a, b, local, NR, load_c, bias ? local_bias : nullptr, relu,
                             mask ? local_mask : nullptr);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) c[i * ldc + j] = local[i * NR + j];
}

// The tile of rows x cols at c, at the height of 4, 8 or kTileRows rows that holds `rows`; a is
// a packed sliver (const T*) or an InPlaceSliver<T>.
template <class T, class A>
void edge_tile(int64_t rows, int64_t cols, int64_t kc, A a, const T* b, T* c,
               int64_t ldc, bool load_c, const T* bias, bool relu, const T* mask) {
  if constexpr (kTileRows > 4)
    if (rows <= 4) return rows_tile<T, 4>(rows, cols, kc, a, b, c, ldc, load_c, bias, relu, mask);
  if constexpr (kTileRows > 8)
    if (rows <= 8) return rows_tile<T, 8>(rows, cols, kc, a, b, c, ldc, load_c, bias, relu, mask);
  rows_tile<T, kTileRows>(rows, cols, kc, a, b, c, ldc, load_c, bias, relu, mask);
}

// Thin products, where a register tile would be mostly zero padding: C of one column (N = 1:
// a dense layer of one output, y = X w) or of one row (M = 1: its weight gradient, dw = dy^T X).
// Each element is the tile's chain (fmadd over k ascending from C or 0, then + bias, relu,
// mask): the result is bitwise the tile path's, only without the padding's work.
constexpr int kThinVecs = 4;  // independent chains per group, to cover the FMA's latency

template <class T>
bool column_product(const Gemm<T>& g) {
  return g.n == 1 && !g.shifted_a && !g.shifted_b;
}
template <class T>
bool row_product(const Gemm<T>& g) {
  return g.m == 1 && g.n > 1 && !g.trans_b && !g.shifted_a && !g.shifted_b;
}

// op(A) is read in place by the tiles, its transpose into slivers saved, when its rows are
// stored along k (A (M, K) or a Shifted A) less than 4 KiB apart. Farther apart, a sliver's
// rows would share the sets of the L1 (8 ways of 4 KiB) and evict each other (a conv of 1024
// fp32 channels went 13% slower in place): packed then.
template <class T>
bool in_place(const Gemm<T>& g) {
  if (g.shifted_a) return g.shifted_a->step * g.shifted_a->width * int64_t(sizeof(T)) < 4096;
  return !g.trans_a && g.lda * int64_t(sizeof(T)) < 4096;
}

// The last steps of an element of C, as tile(): + bias, relu, then 0 where mask <= 0.
template <class T>
T epilogue(T v, const Gemm<T>& g, int64_t at, int64_t col) {
  if (g.bias) v += g.bias[col];
  if (g.activation == Activation::relu) v = v < T(0) ? T(0) : v;
  if (g.mask && g.mask[at] <= T(0)) v = T(0);  // a NaN mask keeps v
  return v;
}

// N = 1, rows [r0, r1) of C: groups of G rows, each group's rows of op(A) packed k-major
// (kc x G, zero rows past the end: gemm_pack.h) into a_pack and op(B)'s column into b_pack,
// kc at a time, with the G chains held in registers across all of K.
template <class T>
void column_rows(const Gemm<T>& g, int64_t kc_max, int64_t r0, int64_t r1, T* a_pack, T* b_pack) {
  using V = Vec<T>;
  constexpr int L = kVecLanes<T>, NV = kThinVecs, G = NV * L;
  for (int64_t i0 = r0; i0 < r1; i0 += G) {
    const int64_t rows = lesser(G, r1 - i0);
    alignas(64) T c[G] = {};
    for (int64_t l = 0; g.accumulate && l < rows; ++l) c[l] = g.c[(i0 + l) * g.ldc];
    V acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = load(c + v * L);
    for (int64_t pc = 0; pc < g.k; pc += kc_max) {
      const int64_t kc = lesser(kc_max, g.k - pc);
      for (int64_t p = 0; p < kc; ++p)
        b_pack[p] = g.trans_b ? g.b[pc + p] : g.b[(pc + p) * g.ldb];
      if (g.trans_a) {  // A (K, M): a row of A is one k-step of the group
        copy_rows<G>(g.a + pc * g.lda + i0, g.lda, rows, kc, a_pack);
      } else {  // A (M, K): each row of the group is read along k (8x8 transposes)
        const T* src[G];
        for (int64_t l = 0; l < rows; ++l) src[l] = g.a + (i0 + l) * g.lda + pc;
        gather(src, int(rows), G, kc, a_pack, G);
      }
      for (int64_t p = 0; p < kc; ++p) {
        const V bp = broadcast(b_pack + p);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[v] = fmadd_vec(load(a_pack + p * G + v * L), bp, acc[v]);
      }
    }
    for (int v = 0; v < NV; ++v) store(c + v * L, acc[v]);
    for (int64_t l = 0; l < rows; ++l) {
      const int64_t at = (i0 + l) * g.ldc;
      g.c[at] = epilogue(c[l], g, at, 0);
    }
  }
}

// M = 1, columns [c0, c1) of C's one row: op(B) = B (K, N) row-major, so each k reads a run of
// a row of B, scaled by a(k) and added into NV vectors of chains, then one vector at a time,
// then one element at a time at the end of the range.
template <class T>
void row_columns(const Gemm<T>& g, int64_t c0, int64_t c1) {
  using V = Vec<T>;
  constexpr int L = kVecLanes<T>, NV = kThinVecs;
  const auto a_at = [&](int64_t p) { return g.a + (g.trans_a ? p * g.lda : p); };
  int64_t j = c0;
  for (; j + NV * L <= c1; j += NV * L) {
    V acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = g.accumulate ? load(g.c + j + v * L) : V{};
    for (int64_t p = 0; p < g.k; ++p) {
      const V ap = broadcast(a_at(p));
      const T* b = g.b + p * g.ldb + j;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[v] = fmadd_vec(ap, load(b + v * L), acc[v]);
    }
    alignas(64) T c[NV * L];
    for (int v = 0; v < NV; ++v) store(c + v * L, acc[v]);
    for (int l = 0; l < NV * L; ++l) g.c[j + l] = epilogue(c[l], g, j + l, j + l);
  }
  for (; j + L <= c1; j += L) {
    V acc = g.accumulate ? load(g.c + j) : V{};
    for (int64_t p = 0; p < g.k; ++p)
      acc = fmadd_vec(broadcast(a_at(p)), load(g.b + p * g.ldb + j), acc);
    alignas(64) T c[L];
    store(c, acc);
    for (int l = 0; l < L; ++l) g.c[j + l] = epilogue(c[l], g, j + l, j + l);
  }
  for (; j < c1; ++j) {
    T acc = g.accumulate ? g.c[j] : T(0);
    for (int64_t p = 0; p < g.k; ++p) acc = fmadd(*a_at(p), g.b[p * g.ldb + j], acc);
    g.c[j] = epilogue(acc, g, j, j);
  }
}

// The rectangle rows [r0, r1) x columns [c0, c1) of C, with packing space a_pack (a_space())
// and b_pack (kc x the rectangle's width rounded up to kTileCols, at most kMaxCols).
template <class T>
void rectangle(const Gemm<T>& g, int64_t kc_max, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
               T* a_pack, T* b_pack) {
  constexpr int R = kTileRows, NR = kTileCols<T>;
  if (column_product(g)) return column_rows(g, kc_max, r0, r1, a_pack, b_pack);
  if (row_product(g)) return row_columns(g, c0, c1);
  const bool relu = g.activation == Activation::relu;
  const bool a_in_place = in_place(g);
  RowRun<T>* a_runs = reinterpret_cast<RowRun<T>*>(a_pack);
  for (int64_t jc = c0; jc < c1; jc += kMaxCols) {
    const int64_t nc = lesser(kMaxCols, c1 - jc);
    for (int64_t pc = 0; pc < g.k; pc += kc_max) {
      const int64_t kc = lesser(kc_max, g.k - pc);
      const bool load_c = g.accumulate || pc > 0, last = pc + kc == g.k;
      // packed_b: depth block pc at pc x the padded width, column jc's panel at jc kc in it
      const T* b_block = g.packed_b ? g.packed_b + pc * round_up(g.n, NR) + jc * kc : b_pack;
      if (!g.packed_b) pack_b(g, pc, kc, jc, nc, b_pack);
      for (int64_t ic = r0; ic < r1; ic += kMaxRows<T>) {
        const int64_t mc = lesser(kMaxRows<T>, r1 - ic);
        // op(A) read in place (its slivers' runs in the packing space) or packed
        const int64_t runs = a_in_place ? sliver_runs(g, ic, mc, pc, kc, a_runs) : 0;
        if (!a_in_place) pack_a(g, ic, mc, pc, kc, a_pack);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const T* bias = last && g.bias ? g.bias + jc + jr : nullptr;
          for (int64_t ir = 0; ir < mc; ir += R) {
            // The next tile's rows of C (read if load_c, written anyway) on their way to L1,
            // every cache line of them: a row of a tile is two lines or more.
            for (int64_t i = ir + R; i < lesser(mc, ir + 2 * R); ++i)
              for (int64_t l = 0; l < lesser(NR, nc - jr); l += 64 / int64_t(sizeof(T)))
                __builtin_prefetch(g.c + (ic + i) * g.ldc + jc + jr + l, 1);
            const int64_t at = (ic + ir) * g.ldc + jc + jr;  // the tile's offset in C
            const T* b = b_block + jr * kc;
            const T* mask = last && g.mask ? g.mask + at : nullptr;
            const auto tile_of = [&](auto a) {  // a: a packed sliver or an InPlaceSliver
              edge_tile(lesser(R, mc - ir), lesser(NR, nc - jr), kc, a, b, g.c + at, g.ldc,
                        load_c, bias, last && relu, mask);
            };
            if (a_in_place) {
              const RowRun<T>* sliver = a_runs + ir / R * runs;
              tile_of(InPlaceSliver<T>{sliver, runs, ir + R < mc ? sliver + runs : nullptr});
            } else {
              tile_of(a_pack + ir * kc);
            }
          }
        }
      }
    }
  }
}

// K = 0: C = activation((accumulate ? C : 0) + bias), masked.
template <class T>
void no_depth(const Gemm<T>& g) {
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      T v = g.accumulate ? g.c[i * g.ldc + j] : T(0);
      if (g.bias) v += g.bias[j];
      if (g.activation == Activation::relu) v = v < T(0) ? T(0) : v;  // as tile()
      if (g.mask && g.mask[i * g.ldc + j] <= T(0)) v = T(0);
      g.c[i * g.ldc + j] = v;
    }
}

// Packing space of the calling thread, kept between calls (grown, never shrunk). Pool chunks
// get slices of it: nothing is allocated inside a chunk, which must not throw.
struct Scratch {
  void* data = nullptr;
  size_t bytes = 0;
  ~Scratch() { std::free(data); }
  void* reserve(size_t want) {
    if (want > bytes) {
      std::free(data);
      data = std::aligned_alloc(64, want);
      bytes = data ? want : 0;
      if (!data) throw std::bad_alloc();
    }
    return data;
  }
};
thread_local Scratch scratch;

// K in equal blocks of at most kMaxDepth (K = 300: 150 + 150, not 256 + 44).
inline int64_t depth_block(int64_t k) { return ceil_div(k, ceil_div(k, kMaxDepth)); }

// Elements of T for one block of op(A) in depth blocks of kc: kMaxRows x kc packed, or the runs
// of its slivers read in place, whichever is larger, in whole cache lines.
template <class T>
int64_t a_space(const Gemm<T>& g, int64_t kc) {
  int64_t elements = kMaxRows<T> * kc;
  if (in_place(g)) {
    const int64_t runs = ceil_div(kMaxRows<T>, kTileRows) *
                         (g.shifted_a ? max_runs(kc, g.shifted_a->width) : 1);
    elements = std::max(elements, ceil_div(runs * int64_t(sizeof(RowRun<T>)), sizeof(T)));
  }
  return round_up(elements, 64 / int64_t(sizeof(T)));
}

// One product cut into a grid of row_parts x col_parts rectangles of C, one chunk each, and the
// packing space they use: chunk c gets space + c * slot (a_space() for A, then kc x width of
// B). kc = 0: K = 0, one chunk (no_depth); row_parts = 0: C is empty, no chunk.
template <class T>
struct Split {
  const Gemm<T>* g;
  int64_t kc, row_parts, col_parts, row_tiles, col_tiles, slot;
  T* space;

  int64_t chunks() const { return row_parts * col_parts; }

  void run(int64_t chunk) const {
    constexpr int R = kTileRows, NR = kTileCols<T>;
    if (kc == 0) return no_depth(*g);
    const int64_t rp = chunk / col_parts, cp = chunk % col_parts;
    // Part q of n holds tiles [tiles * q / n, tiles * (q + 1) / n).
    const int64_t r0 = row_tiles * rp / row_parts * R,
                  r1 = lesser(g->m, row_tiles * (rp + 1) / row_parts * R);
    const int64_t c0 = col_tiles * cp / col_parts * NR,
                  c1 = lesser(g->n, col_tiles * (cp + 1) / col_parts * NR);
    T* a_pack = space + chunk * slot;
    rectangle(*g, kc, r0, r1, c0, c1, a_pack, a_pack + a_space(*g, kc));
  }
};

// The chunks of g on `threads` threads: at least kChunkFlops multiply-adds each, up to
// kChunksPerThread per thread, each cut made across the longer side of the rectangles so far.
template <class T>
Split<T> split(const Gemm<T>& g, int64_t threads) {
  constexpr int R = kTileRows, NR = kTileCols<T>;
  if (g.m == 0 || g.n == 0) return {&g, 0, 0, 0, 0, 0, 0, nullptr};
  if (g.k == 0) return {&g, 0, 1, 1, 0, 0, 0, nullptr};
  const int64_t kc = depth_block(g.k);
  const double flops = double(g.m) * double(g.n) * double(g.k);
  int64_t wanted = threads * kChunksPerThread;
  if (threads == 1 || flops < 2.0 * kChunkFlops) wanted = 1;
  else if (flops < double(wanted * kChunkFlops)) wanted = int64_t(flops / kChunkFlops);
  const int64_t row_tiles = ceil_div(g.m, R), col_tiles = ceil_div(g.n, NR);
  int64_t row_parts = 1, col_parts = 1;
  for (int64_t t = wanted; t > 1;) {  // peel prime factors, smallest first
    int64_t f = 2;
    while (t % f) ++f;
    t /= f;
    if (row_tiles / row_parts * R >= col_tiles / col_parts * NR) row_parts *= f;
    else col_parts *= f;
  }
  row_parts = lesser(row_parts, row_tiles);
  col_parts = lesser(col_parts, col_tiles);
  const int64_t width = lesser(kMaxCols, ceil_div(col_tiles, col_parts) * NR);
  const int64_t slot = a_space(g, kc) + round_up(kc * width, 64 / int64_t(sizeof(T)));
  return {&g, kc, row_parts, col_parts, row_tiles, col_tiles, slot, nullptr};
}

inline int64_t pool_threads() { return lesser(get_num_threads(), kMaxChunks / kChunksPerThread); }

}  // namespace

#include "gemm_calls.h"  // the entries below, as the other kernels see them

static_assert(kMaxCols == gemm_packed_max_n, "packed_b holds one block of columns");

template <class T>
void gemm(const Gemm<T>& g) {
  gemm_together<T>(nullptr, g, ChunkTask{nullptr, nullptr});
}

template <class T>
void gemm_together(const Gemm<T>* first, const Gemm<T>& second, ChunkTask extra) {
  const int64_t threads = pool_threads();
  Split<T> s[2] = {first ? split(*first, threads) : Split<T>{}, split(second, threads)};
  const int64_t n0 = s[0].chunks(), n1 = s[1].chunks();
  T* space = static_cast<T*>(scratch.reserve(size_t(n0 * s[0].slot + n1 * s[1].slot) * sizeof(T)));
  s[0].space = space;
  s[1].space = space + n0 * s[0].slot;

  struct Context {
    const Split<T>* s;
    int64_t n0, n1;
    ChunkTask extra;
  } ctx{s, n0, n1, extra};
  ChunkTask task{[](const void* p, int64_t chunk) {
                   const auto& x = *static_cast<const Context*>(p);
                   if (chunk < x.n0) x.s[0].run(chunk);
                   else if (chunk < x.n0 + x.n1) x.s[1].run(chunk - x.n0);
                   else x.extra.call(x.extra.ctx, 0);
                 },
                 &ctx};
  const int64_t chunks = n0 + n1 + (extra.call ? 1 : 0);
  if (chunks == 1) task.call(task.ctx, 0);
  else if (chunks > 1) run_chunks(chunks, int(lesser(threads, chunks)), task);
}

template <class T>
int64_t gemm_serial_space(const Gemm<T>& g) {
  return split(g, 1).slot;
}

template <class T>
void gemm_serial(const Gemm<T>& g, T* space) {
  Split<T> s = split(g, 1);
  s.space = space;
  if (s.chunks() == 1) s.run(0);
}

template <class T>
int64_t gemm_pack_b_space(const Gemm<T>& g) {
  return g.k * round_up(g.n, kTileCols<T>);
}

// Depth block pc (depth_block(k) rows of op(B), the last fewer) at out + pc x the padded width:
// what rectangle() packs, for all of op(B) (n <= kMaxCols: one block of columns).
template <class T>
void gemm_pack_b(const Gemm<T>& g, T* out) {
  if (g.n > kMaxCols) std::abort();  // a caller's bug: gemm_calls.h says n <= gemm_packed_max_n
  if (g.k == 0 || g.n == 0) return;
  const int64_t kc_max = depth_block(g.k), width = round_up(g.n, kTileCols<T>);
  for (int64_t pc = 0; pc < g.k; pc += kc_max)
    pack_b(g, pc, lesser(kc_max, g.k - pc), 0, g.n, out + pc * width);
}

STEEPEST_KERNEL_ENTRY(gemm)
template void gemm_together<float>(const Gemm<float>*, const Gemm<float>&, ChunkTask);
template void gemm_together<double>(const Gemm<double>*, const Gemm<double>&, ChunkTask);
template int64_t gemm_serial_space<float>(const Gemm<float>&);
template int64_t gemm_serial_space<double>(const Gemm<double>&);
template void gemm_serial<float>(const Gemm<float>&, float*);
template void gemm_serial<double>(const Gemm<double>&, double*);
template int64_t gemm_pack_b_space<float>(const Gemm<float>&);
template int64_t gemm_pack_b_space<double>(const Gemm<double>&);
template void gemm_pack_b<float>(const Gemm<float>&, float*);
template void gemm_pack_b<double>(const Gemm<double>&, double*);

}  // namespace STEEPEST_TARGET
}  // namespace steepest
