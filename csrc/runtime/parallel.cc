#include "parallel.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace steepest {

namespace {
// OMP_NUM_THREADS, as users of numerical libraries expect, else every core.
int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? int(cores) : 1;
}
std::atomic<int> g_threads{default_threads()};
std::atomic<int64_t> g_parallel_min_override{0};
}  // namespace

void set_parallel_min_override(int64_t n) {
  if (n < 0) throw std::invalid_argument("parallel_min override must be >= 0, got " + std::to_string(n));
  g_parallel_min_override.store(n, std::memory_order_relaxed);
}

bool worth_splitting(int64_t total, int64_t tensors, int64_t parallel_min) {
  const int64_t n = g_parallel_min_override.load(std::memory_order_relaxed);
  return total >= (n > 0 ? n : parallel_min) + kParallelPerTensor * (tensors - 1);
}

int get_num_threads() { return g_threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1, got " + std::to_string(n));
  g_threads.store(n, std::memory_order_relaxed);
}

}  // namespace steepest
