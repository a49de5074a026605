// Threading for update steps: the tensors of a step are laid end to end and cut into chunks;
// the chunks run on the thread pool (pool.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "pool.h"

namespace steepest {

int get_num_threads();
void set_num_threads(int n);  // n >= 1

// Below this many elements in a step one thread does all the work: waking a second thread
// costs more than it saves on data that fits in L1/L2.
constexpr int64_t kParallelMinElements = int64_t(1) << 15;
// Chunks hold at least this many elements (a multiple of a 64-byte line of float32) and there
// are at most kChunksPerStep of them. The cut depends on the element count only, never on the
// thread count.
constexpr int64_t kMinChunk = int64_t(1) << 13;
constexpr int64_t kChunksPerStep = 64;

inline int64_t chunk_size(int64_t total) {
  const int64_t even = (total + kChunksPerStep - 1) / kChunksPerStep;
  return std::max(kMinChunk, (even + 15) / 16 * 16);
}

// Calls f(t, begin, end) for every tensor t of sizes[0..count) and sub-ranges [begin, end) of
// it, so that the calls together cover every element once, on up to get_num_threads() threads.
// f must update each element independently of where its range begins (kernels are element-wise;
// see kernel_math.h for why that holds bitwise) and must not throw.
template <class F>
void for_each_range(const std::vector<int64_t>& sizes, F&& f) {
  const int64_t count = int64_t(sizes.size());
  const int threads = get_num_threads();
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  if (threads <= 1 || total < kParallelMinElements) {
    for (int64_t t = 0; t < count; ++t)
      if (sizes[t] > 0) f(t, int64_t(0), sizes[t]);
    return;
  }
  std::vector<int64_t> start(count + 1, 0);  // start[t]: offset of tensor t, end to end
  for (int64_t t = 0; t < count; ++t) start[t + 1] = start[t] + sizes[t];
  struct Context {
    const std::vector<int64_t>* start;
    int64_t chunk, total, count;
    F* f;
  } ctx{&start, chunk_size(total), total, count, &f};
  const int64_t chunks = (total + ctx.chunk - 1) / ctx.chunk;
  ChunkTask task{[](const void* p, int64_t c) {
                   const auto& x = *static_cast<const Context*>(p);
                   const std::vector<int64_t>& s = *x.start;
                   int64_t lo = c * x.chunk;
                   const int64_t hi = std::min(x.total, lo + x.chunk);
                   int64_t t = std::upper_bound(s.begin(), s.end(), lo) - s.begin() - 1;
                   for (; lo < hi && t < x.count; ++t) {
                     const int64_t end = std::min(hi, s[t + 1]);
                     if (end > lo) (*x.f)(t, lo - s[t], end - s[t]);
                     lo = end;
                   }
                 },
                 &ctx};
  run_chunks(chunks, int(std::min<int64_t>(threads, chunks)), task);
}

}  // namespace steepest
