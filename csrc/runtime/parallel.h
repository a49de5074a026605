// Threading for update steps: the tensors of a step are laid end to end and cut into chunks;
// the chunks run on the thread pool (pool.h). Element-wise work uses for_each_range; per-tensor
// sums (norms) use reduce_per_tensor, whose result is bitwise the same for any thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "pool.h"
#include "steepest/optim/rule.h"

namespace steepest {

// The default is OMP_NUM_THREADS, else the CPUs the process may use (parallel.cc).
int get_num_threads();
void set_num_threads(int n);  // n >= 1

// The CPU limit of the cgroup file system mounted at `root` (/sys/fs/cgroup): ceil(quota /
// period) of cgroup v2's cpu.max or else of cgroup v1's cpu/cpu.cfs_quota_us and
// cpu.cfs_period_us; 0 when there is none (no quota, no such files, unreadable).
int cgroup_cpu_limit(const std::string& root);

// A loop's parallel_min (kParallelMinElements, ...): steepest/optim/rule.h.

// Each tensor of a step after the first raises the threshold by this many elements (the
// thresholds above hold for one tensor): a split step hands every tensor's record (pointers,
// per-tensor scalars), just written by the calling thread, to the other cores, so a step of
// many small tensors needs more elements before a second thread pays off.
constexpr int64_t kParallelPerTensor = 256;

// For measuring the thresholds (benchmarks/parallel_threshold.py, the harness's in-cache
// ceiling): with n > 0 every loop takes n for its parallel_min; 0 restores each loop's own.
void set_parallel_min_override(int64_t n);
// Whether a loop over `tensors` tensors of `total` elements in all is split across threads:
// total >= parallel_min (or the override) + kParallelPerTensor * (tensors - 1).
bool worth_splitting(int64_t total, int64_t tensors, int64_t parallel_min);
// Chunks hold at least this many elements (a multiple of a 64-byte line of float32) and there
// are at most kChunksPerStep of them. The cut depends on the element count only, never on the
// thread count.
constexpr int64_t kMinChunk = int64_t(1) << 12;
constexpr int64_t kChunksPerStep = 64;

inline int64_t chunk_size(int64_t total) {
  const int64_t even = (total + kChunksPerStep - 1) / kChunksPerStep;
  return std::max(kMinChunk, (even + 15) / 16 * 16);
}

// Calls f(c) for every c in [0, chunks) on up to `threads` threads; f must not throw.
template <class F>
void for_each_chunk(int64_t chunks, int threads, F&& f) {
  using Fn = std::remove_reference_t<F>;
  ChunkTask task{[](const void* p, int64_t c) { (*static_cast<Fn*>(const_cast<void*>(p)))(c); },
                 &f};
  run_chunks(chunks, int(std::min<int64_t>(threads, chunks)), task);
}

// Calls f(t, begin, end) for every tensor t of sizes[0..count) and sub-ranges [begin, end) of
// it, so that the calls together cover every element once, on up to get_num_threads() threads
// (one unless worth_splitting).
// f must update each element independently of where its range begins (kernels are element-wise;
// see kernel_math.h for why that holds bitwise) and must not throw. Every `begin` is a multiple
// of `align` (a power of two dividing kMinChunk): each tensor starts a new multiple in the cut.
template <class F>
void for_each_range(const std::vector<int64_t>& sizes, F&& f,
                    int64_t parallel_min = kParallelMinElements, int64_t align = 1) {
  const int64_t count = int64_t(sizes.size());
  const int threads = get_num_threads();
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  if (!worth_splitting(total, count, parallel_min)) {
    for (int64_t t = 0; t < count; ++t)
      if (sizes[t] > 0) f(t, int64_t(0), sizes[t]);
    return;
  }
  // In chunks even on one thread: every other step then goes backwards (pool.cc).
  std::vector<int64_t> start(count + 1, 0);  // start[t]: offset of tensor t, end to end
  for (int64_t t = 0; t < count; ++t)
    start[t + 1] = start[t] + (sizes[t] + align - 1) / align * align;
  const int64_t span = start[count];
  const int64_t chunk = (chunk_size(span) + align - 1) / align * align;
  for_each_chunk((span + chunk - 1) / chunk, threads, [&](int64_t c) {
    int64_t lo = c * chunk;
    const int64_t hi = std::min(span, lo + chunk);
    int64_t t = std::upper_bound(start.begin(), start.end(), lo) - start.begin() - 1;
    for (; lo < hi && t < count; ++t) {
      const int64_t end = std::min(hi, start[t] + sizes[t]);
      if (end > lo) f(t, lo - start[t], end - start[t]);
      lo = start[t + 1];
    }
  });
}

// Deterministic reductions. The element space (the tensors end to end) is cut into chunks of
// chunk_size(total) elements, whatever the thread count (also below a loop's parallel_min,
// where one thread runs them all); a segment is the part of one tensor inside one chunk. Segments are
// numbered in element order, so a tensor's segments are consecutive and in ascending order. A
// segment's partial sum is written to its own slot; the slots of a tensor are then added in
// segment order on the calling thread. Neither the cut nor the order of the additions depends on
// which thread ran which chunk, so the sums are bitwise the same for any thread count (given a
// segment kernel whose result depends only on its segment: kernel_math.h's lane sums).
struct Segment {
  int64_t tensor, begin, end;  // [begin, end) of tensor `tensor`
};

// The segments of tensors of `sizes`, and where each chunk's segments start:
// chunk c holds segments [first[c], first[c + 1]). Empty tensors have no segment.
struct Segmentation {
  std::vector<Segment> segments;
  std::vector<int64_t> first;
};

inline Segmentation segment(const std::vector<int64_t>& sizes) {
  Segmentation s;
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  const int64_t chunk = chunk_size(total);
  int64_t offset = 0;  // of the current tensor, end to end
  int64_t t = 0, c = 0;
  while (c * chunk < total) {
    s.first.push_back(int64_t(s.segments.size()));
    const int64_t lo = c * chunk, hi = std::min(total, lo + chunk);
    for (int64_t at = lo; at < hi;) {
      while (offset + sizes[t] <= at) offset += sizes[t++];  // skips empty tensors
      const int64_t end = std::min(hi, offset + sizes[t]);
      s.segments.push_back({t, at - offset, end - offset});
      at = end;
    }
    ++c;
  }
  s.first.push_back(int64_t(s.segments.size()));
  return s;
}

// Calls f(i, segment) for every segment i of the segmentation of `tensors` tensors, each chunk on
// one thread, on up to get_num_threads() threads (one unless worth_splitting, as for_each_range
// decides for the same tensors: a pass that reduces and a pass that updates split alike, so each
// core keeps its data). f must not throw.
template <class F>
void for_each_chunk_segment(const Segmentation& s, int64_t total, int64_t tensors, F&& f,
                            int64_t parallel_min) {
  const int threads = worth_splitting(total, tensors, parallel_min) ? get_num_threads() : 1;
  for_each_chunk(int64_t(s.first.size()) - 1, threads, [&](int64_t c) {
    for (int64_t i = s.first[c]; i < s.first[c + 1]; ++i) f(i, s.segments[i]);
  });
}

// K sums per tensor of `sizes`: partial(t, begin, end, out) writes the K partial sums of
// [begin, end) of tensor t to out[0..K). Returns the sums per tensor (zeros for empty tensors),
// bitwise the same for any thread count. partial must not throw. With `combine` the partials of
// a tensor are folded by combine(total, partial) from 0, in the same order, instead of added
// (a maximum of |x|: the inf-norm). One thread runs it unless worth_splitting.
template <int K, class Partial, class Combine = std::plus<double>>
std::vector<std::array<double, K>> reduce_per_tensor(const std::vector<int64_t>& sizes,
                                                     Partial&& partial, Combine combine = {},
                                                     int64_t parallel_min = kParallelMinElements) {
  const Segmentation s = segment(sizes);
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  std::vector<std::array<double, K>> slots(s.segments.size());
  for_each_chunk_segment(s, total, int64_t(sizes.size()), [&](int64_t i, const Segment& seg) {
    partial(seg.tensor, seg.begin, seg.end, slots[i].data());
  }, parallel_min);
  std::vector<std::array<double, K>> sums(sizes.size());
  for (auto& x : sums) x.fill(0.0);
  for (size_t i = 0; i < slots.size(); ++i)  // in segment order: ascending within a tensor
    for (int k = 0; k < K; ++k) {
      double& sum = sums[s.segments[i].tensor][k];
      sum = combine(sum, slots[i][k]);
    }
  return sums;
}

}  // namespace steepest
