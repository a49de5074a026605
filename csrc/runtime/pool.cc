#include "pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>

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

// A participant's share of a job, one word: generation (24 bits) | end (20 bits) | next (20
// bits): chunks [next, end) are still unclaimed. The owner claims from one end and a thief from
// the other (the owner from the front on even jobs, from the back on odd ones: see below);
// either is one compare-and-swap that also proves the job is still the same one.
constexpr int kIndexBits = 20;
constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1;
uint64_t generation(uint64_t w) { return w >> (2 * kIndexBits); }
uint64_t end_of(uint64_t w) { return (w >> kIndexBits) & kIndexMask; }
uint64_t next_of(uint64_t w) { return w & kIndexMask; }
uint64_t pack(uint64_t gen, uint64_t end, uint64_t next) {
  return (gen << (2 * kIndexBits)) | (end << kIndexBits) | next;
}

// How long an idle worker spins before it sleeps: longer than the Python between one training
// step's parallel jobs. A sleeping worker can take milliseconds to wake on a busy host; the
// job then runs on the caller, is counted as contended (note_contention), and the next jobs
// run alone while the worker sleeps on. (torch's OpenMP workers spin about 5 ms.)
constexpr auto kSpin = std::chrono::microseconds(1000);
// Participants of one job, the caller included (a larger thread count runs on this many).
constexpr int kMaxParticipants = 64;

// Why home shares: chunk c of a job of C chunks on P participants goes first to participant
// c * P / C, the same one in every call with the same C and P. Data that fits in the caches
// then stays in the cache of the core that updates it, step after step; when any thread may
// take any chunk, half of an in-L2 step's data moves between cores every step, and 2 threads
// can be slower than one on in-cache steps. A participant
// that has finished its share steals from the other end of the others', so one that is not
// scheduled delays nothing.
//
// Why every other job runs backwards: a pass over more data than a core's L2 holds, made in the
// same order every step, finds nothing of the last pass in the cache (each chunk was evicted
// before its turn came round again); made in the opposite direction, it starts with the chunks
// the last pass left there. Element-wise kernels and the per-chunk partial sums do not depend
// on the order.
class Pool {
 public:
  void run(int64_t chunks, int threads, ChunkTask task) {
    std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
    if (!submit.owns_lock()) {  // another thread's loop is running: do this one alone
      for (int64_t c = 0; c < chunks; ++c) task.call(task.ctx, c);
      return;
    }
    if (serial_jobs_ > 0) {  // contended lately: see below
      --serial_jobs_;
      run_alone(chunks, task);
      return;
    }
    const int parts = std::min(threads, kMaxParticipants);
    start_workers(parts - 1);
    task_ = task;
    done_.store(0, std::memory_order_relaxed);
    participants_.store(parts, std::memory_order_relaxed);
    const uint64_t gen = (job_.load(std::memory_order_relaxed) + 1) & 0xFFFFFF;
    for (int k = 0; k < parts; ++k)
      share_[k].word.store(pack(gen, uint64_t(chunks * (k + 1) / parts), uint64_t(chunks * k / parts)),
                           std::memory_order_release);
    job_.store(gen, std::memory_order_seq_cst);  // publishes the shares too
    const bool woke = sleepers_.load(std::memory_order_seq_cst) > 0;
    if (woke) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    const auto start = Clock::now();
    int64_t mine = 0;
    while (claim_and_run(gen, 0, parts)) ++mine;
    const auto own_done = Clock::now();
    // Wait only for the chunks workers have claimed and are running.
    for (int spins = 0; done_.load(std::memory_order_acquire) + mine < chunks; ++spins) {
      if (spins < 4096) STEEPEST_PAUSE();
      else std::this_thread::yield();
    }
    // A job that woke a sleeping worker waited for the wake-up, a cost of the first job after
    // a pause (milliseconds on a busy host), not a sign of contention.
    if (mine > 0 && !woke)
      note_contention(Clock::now() - start, (own_done - start) * chunks / mine);
  }

 private:
  using Clock = std::chrono::steady_clock;

  // Why a contended pool runs jobs alone for a while: a worker that has claimed a chunk and is
  // then descheduled (two busy processes beside us, or torch's OpenMP workers spinning after a
  // backward) holds the job until it runs again, a time slice later: ten times the step, or more.
  // A job that took longer on all threads than the caller alone would have (its own chunks'
  // time, scaled to all chunks) was contended; the next serial_jobs_ jobs then run on the
  // caller alone, a number that doubles while contention persists and halves back as parallel
  // jobs run clean again. Which chunks exist does not change, so neither do results.
  void note_contention(Clock::duration took, Clock::duration alone) {
    if (took > alone) {
      serial_jobs_ = backoff_;
      backoff_ = std::min(2 * backoff_, kMaxBackoff);
    } else {
      backoff_ = std::max(backoff_ / 2, kMinBackoff);
    }
  }

  void run_alone(int64_t chunks, ChunkTask task) {
    const bool backward = alone_backward_ = !alone_backward_;  // alternates as jobs do
    for (int64_t i = 0; i < chunks; ++i) task.call(task.ctx, backward ? chunks - 1 - i : i);
  }

  static constexpr int kMinBackoff = 4, kMaxBackoff = 1024;

  struct alignas(64) Share {
    std::atomic<uint64_t> word{0};
  };

  // Claims one chunk of job `gen`, from participant `me`'s own share or else from the other end
  // of another's, and runs it; false when none is left (or the job is over).
  bool claim_and_run(uint64_t gen, int me, int parts) {
    for (int k = 0; k < parts; ++k) {
      const int owner = (me + k) % parts;
      std::atomic<uint64_t>& word = share_[owner].word;
      uint64_t w = word.load(std::memory_order_acquire);
      for (;;) {
        if (generation(w) != gen) return false;
        const uint64_t next = next_of(w), end = end_of(w);
        if (next >= end) break;
        // Odd jobs run each share backwards: the owner from its back, thieves from its front.
        const bool back = (owner == me) == ((gen & 1) != 0);
        const uint64_t claimed = back ? pack(gen, end - 1, next) : pack(gen, end, next + 1);
        if (word.compare_exchange_weak(w, claimed, std::memory_order_acq_rel)) {
          task_.call(task_.ctx, int64_t(back ? end - 1 : next));
          return true;
        }
      }
    }
    return false;
  }

  void start_workers(int wanted) {
    while (int(started_) < wanted) {
      std::thread(&Pool::work, this, started_ + 1).detach();  // the pool lives until exit
      ++started_;
    }
  }

  // Worker `me` (1, 2, ...: participant 0 is the calling thread).
  void work(int me) {
    uint64_t seen = job_.load(std::memory_order_acquire);
    for (;;) {
      seen = wait_for_job(seen);
      const int parts = participants_.load(std::memory_order_relaxed);
      if (me >= parts) continue;
      while (claim_and_run(seen, me, parts)) done_.fetch_add(1, std::memory_order_release);
    }
  }

  // Spins for kSpin, then sleeps, until a job newer than generation `seen` is posted.
  uint64_t wait_for_job(uint64_t seen) {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    for (int spins = 1;; ++spins) {
      const uint64_t gen = job_.load(std::memory_order_acquire);
      if (gen != seen) return gen;
      STEEPEST_PAUSE();
      if (spins % 256 == 0 && std::chrono::steady_clock::now() > deadline) break;
    }
    std::unique_lock<std::mutex> lock(sleep_mutex_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    uint64_t gen;
    wake_.wait(lock, [&] { return (gen = job_.load(std::memory_order_seq_cst)) != seen; });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return gen;
  }

  std::mutex submit_;  // one loop at a time
  int serial_jobs_ = 0;  // jobs still to run alone (note_contention); under submit_
  int backoff_ = kMinBackoff;
  bool alone_backward_ = false;
  std::atomic<uint64_t> job_{0};  // the generation of the latest job
  Share share_[kMaxParticipants];
  std::atomic<int64_t> done_{0};  // chunks finished by workers in this job
  std::atomic<int> participants_{0};  // workers 1 .. participants - 1 take part in the job
  ChunkTask task_{};
  int started_ = 0;
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

// The process's pool, created on its first parallel job. Never destroyed: detached workers may
// still wait on it at exit.
std::atomic<Pool*> g_pool{nullptr};

Pool& pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
  Pool* fresh = new Pool;  // starts no thread: its workers start on its first job
  if (g_pool.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;  // another thread's pool won
  return *p;
}

// Why a forked child gets a new pool: it has only the thread that forked, none of the parent's
// workers, yet its copy of the pool counts them as started, and maybe as asleep on the
// condition variable. Waking such a phantom sleeper that never wakes hangs the child's next
// pthread_cond_broadcast for good, and a mutex some parent thread held at the fork stays held.
// So the child drops its copy (leaks it: its mutexes may be held, destroying them is undefined)
// and its first parallel job creates a pool of fresh mutexes and condition variable, which
// starts the child's own workers. Nothing in the child touches the old copy: the thread that
// forked was not inside run() (a chunk task does not fork), so no prepare/parent handler has to
// take the pool's locks, and a fork never waits for another thread's step.
void reset_in_child() { g_pool.store(nullptr, std::memory_order_relaxed); }

const int g_atfork = pthread_atfork(nullptr, nullptr, reset_in_child);

}  // namespace

void run_chunks(int64_t chunks, int threads, ChunkTask task) {
  if (threads <= 1 || chunks <= 1) {
    static thread_local bool last_backward = false;  // alternates as the pool's jobs do
    const bool backward = last_backward = !last_backward;  // the task may run loops too
    for (int64_t i = 0; i < chunks; ++i) task.call(task.ctx, backward ? chunks - 1 - i : i);
    return;
  }
  pool().run(chunks, threads, task);
}

}  // namespace steepest
