#include "pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define STEEPEST_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define STEEPEST_PAUSE() asm volatile("yield")
#else
#define STEEPEST_PAUSE() ((void)0)
#endif

namespace steepest {

namespace {

// The job word: generation (24 bits) | chunk count (20 bits) | next chunk to claim (20 bits).
// Claiming a chunk is one compare-and-swap that also proves the job is still the same one.
constexpr int kIndexBits = 20;
constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1;
uint64_t generation(uint64_t w) { return w >> (2 * kIndexBits); }
uint64_t count(uint64_t w) { return (w >> kIndexBits) & kIndexMask; }
uint64_t next(uint64_t w) { return w & kIndexMask; }
uint64_t pack(uint64_t gen, uint64_t chunks) { return (gen << (2 * kIndexBits)) | (chunks << kIndexBits); }

// How long an idle worker spins before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(100);

class Pool {
 public:
  void run(int64_t chunks, int threads, ChunkTask task) {
    std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
    if (!submit.owns_lock()) {  // another thread's loop is running: do this one alone
      for (int64_t c = 0; c < chunks; ++c) task.call(task.ctx, c);
      return;
    }
    start_workers(threads - 1);
    task_ = task;
    done_.store(0, std::memory_order_relaxed);
    participants_.store(threads - 1, std::memory_order_relaxed);
    const uint64_t gen = (generation(job_.load(std::memory_order_relaxed)) + 1) & 0xFFFFFF;
    job_.store(pack(gen, uint64_t(chunks)), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    int64_t mine = 0;
    while (claim_and_run(gen)) ++mine;
    // Wait only for the chunks workers have claimed and are running.
    for (int spins = 0; done_.load(std::memory_order_acquire) + mine < chunks; ++spins) {
      if (spins < 4096) STEEPEST_PAUSE();
      else std::this_thread::yield();
    }
  }

 private:
  // Claims one chunk of job `gen` and runs it; false when none is left (or the job is over).
  bool claim_and_run(uint64_t gen) {
    uint64_t w = job_.load(std::memory_order_acquire);
    for (;;) {
      if (generation(w) != gen || next(w) >= count(w)) return false;
      if (job_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) {
        task_.call(task_.ctx, int64_t(next(w)));
        return true;
      }
    }
  }

  void start_workers(int wanted) {
    while (int(started_) < wanted) {
      std::thread(&Pool::work, this, started_).detach();  // the pool lives until exit
      ++started_;
    }
  }

  void work(int id) {
    uint64_t seen = generation(job_.load(std::memory_order_acquire));
    for (;;) {
      uint64_t w = wait_for_job(seen);
      seen = generation(w);
      if (id >= participants_.load(std::memory_order_relaxed)) continue;
      while (claim_and_run(seen)) done_.fetch_add(1, std::memory_order_release);
    }
  }

  // Spins for kSpin, then sleeps, until a job newer than generation `seen` is posted.
  uint64_t wait_for_job(uint64_t seen) {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    for (int spins = 1;; ++spins) {
      const uint64_t w = job_.load(std::memory_order_acquire);
      if (generation(w) != seen) return w;
      STEEPEST_PAUSE();
      if (spins % 256 == 0 && std::chrono::steady_clock::now() > deadline) break;
    }
    std::unique_lock<std::mutex> lock(sleep_mutex_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    uint64_t w;
    wake_.wait(lock, [&] { return generation(w = job_.load(std::memory_order_seq_cst)) != seen; });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return w;
  }

  std::mutex submit_;  // one loop at a time
  std::atomic<uint64_t> job_{0};
  std::atomic<int64_t> done_{0};  // chunks finished by workers in this job
  std::atomic<int> participants_{0};  // workers with a smaller id take part in the job
  ChunkTask task_{};
  int started_ = 0;
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: detached workers may still wait on it at exit
  return *p;
}

}  // namespace

void run_chunks(int64_t chunks, int threads, ChunkTask task) {
  if (threads <= 1 || chunks <= 1) {
    for (int64_t c = 0; c < chunks; ++c) task.call(task.ctx, c);
    return;
  }
  pool().run(chunks, threads, task);
}

}  // namespace steepest
