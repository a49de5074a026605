// The time loop of a recurrent layer (lstm.cc, gru.cc) cut by rows of the batch. Included inside
// namespace steepest::<target>, after gemm_calls.h, runtime/pool.h and aligned.h; the including
// file includes <cstdint> and <memory> first.
//
// Row b of step t reads only row b of step t - 1 (h_{t-1}, c_{t-1}; backwards dh_t, dc_t), so
// rows [b0, b1) can run the whole loop on one thread: one wait for the sequence instead of one or
// two per step, where a step's product (B x H x 4H multiply-adds: 2^20 at B = H = 64) costs about
// as much as waking a worker. Each part runs its products by gemm_serial in its own packing
// space; every element is the same chain of multiply-adds whichever rows a product holds
// (gemm.cc), so results are bitwise the same for any thread count.
//
// With one part (one thread, too few rows to cut, or large weights) the loop runs once over all
// rows and its products go through gemm(), which splits a large one (big H) over the pool.
#pragma once

// Rows a part takes at least: fewer leave the GEMM tiles (6 or 12 rows) mostly padding.
constexpr int64_t kPartMinRows = 8;
// Every part reads all of a step's weights (op(B): k x n) each step; beyond this many bytes the
// parts lose to splitting each step's product by columns (each thread reads half the weights),
// as measured with fp32 LSTMs on 2 threads: H = 64 (64 KiB) gains, H = 128 (256 KiB) loses.
constexpr int64_t kPartMaxWeightBytes = int64_t(128) << 10;

// The weights of a loop's step products, op(B) of `g`, packed once for all steps and parts
// (gemm_pack_b): set packed_b = data. data is null (each product packs) where n is too wide.
template <class T>
struct PackedWeights {
  std::unique_ptr<T[]> buffer;
  T* data = nullptr;

  explicit PackedWeights(const Gemm<T>& g) {
    if (g.n > gemm_packed_max_n) return;
    data = aligned_elements(buffer, gemm_pack_b_space(g));
    gemm_pack_b(g, data);
  }
};

// Rows [b0, b1) of the batch, and how their products run: on this thread alone in `space`, or
// (space null: the one part, all rows) on the pool.
template <class T>
struct Part {
  int64_t b0, b1;
  T* space;

  bool pooled() const { return space == nullptr; }
  // The loop's product `step` for this part's rows: rows [b0, b1) of op(A) at a (row stride
  // lda) into rows [b0, b1) of C at c (row stride ldc).
  void product(Gemm<T> step, const T* a, int64_t lda, T* c, int64_t ldc) const {
    step.m = b1 - b0;
    step.a = a + b0 * lda, step.lda = lda;
    step.c = c + b0 * ldc, step.ldc = ldc;
    if (space) gemm_serial<T>(step, space);
    else gemm<T>(step);
  }
};

// Runs loop(part) for parts of [0, batch) (Part<T>), one per thread; `step` is one of the
// loop's products, for the packing space (its n and k count, not its pointers). loop must not
// throw. Allocates before any part runs.
template <class T, class Loop>
void for_batch_parts(int64_t batch, const Gemm<T>& step, const Loop& loop) {
  int64_t parts = batch / kPartMinRows;
  const int64_t threads = get_num_threads();
  parts = parts < threads ? parts : threads;
  if (step.k * step.n * int64_t(sizeof(T)) > kPartMaxWeightBytes) parts = 1;
  if (parts <= 1) return loop(Part<T>{0, batch, nullptr});
  const int64_t slot = whole_lines<T>(gemm_serial_space(step));
  std::unique_ptr<T[]> buffer;
  T* space = aligned_elements(buffer, parts * slot);

  struct Context {
    const Loop* loop;
    T* space;
    int64_t slot, batch, parts;
  } ctx{&loop, space, slot, batch, parts};
  const ChunkTask task{[](const void* p, int64_t c) {
                         const auto& x = *static_cast<const Context*>(p);
                         (*x.loop)(Part<T>{x.batch * c / x.parts, x.batch * (c + 1) / x.parts,
                                           x.space + c * x.slot});
                       },
                       &ctx};
  run_chunks(parts, int(parts), task);
}
