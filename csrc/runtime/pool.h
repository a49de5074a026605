// A small pool of worker threads for chunked parallel loops.
//
// Why not OpenMP: at the end of a parallel region every thread of the team must arrive. When
// another runtime's threads (torch's own OpenMP, OpenBLAS) spin on the cores, one of ours may
// not be scheduled for a whole time slice, which the whole team then waits for: a step of tens
// of microseconds takes milliseconds. Here the calling thread claims chunks
// too and waits only for chunks a worker has actually started: a worker that is not running
// costs nothing, it finds no chunk left when it wakes. Workers spin briefly after a loop (a
// training loop steps again soon), then sleep.
#pragma once

#include <cstdint>

namespace steepest {

// A chunk of work: call(ctx, c) processes chunk c. Must not throw.
struct ChunkTask {
  void (*call)(const void* ctx, int64_t chunk);
  const void* ctx;
};

// Runs task for every chunk in [0, chunks) on the calling thread and up to threads - 1
// workers; returns when all are done. Which thread runs which chunk, and in which order, varies
// from call to call (every other call goes backwards: pool.cc).
void run_chunks(int64_t chunks, int threads, ChunkTask task);

// The largest chunk count run_chunks accepts.
constexpr int64_t kMaxChunks = (int64_t(1) << 20) - 1;

}  // namespace steepest
