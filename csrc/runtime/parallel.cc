#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

namespace steepest {

namespace {

// The CPUs the scheduler lets this process run on (taskset, Slurm, cpusets), 0 if unknown. The
// set is allocated for `n` CPUs and doubled while the kernel's mask is larger (EINVAL).
int affinity_cpus() {
#if defined(__linux__)
  for (int n = 1024; n <= (1 << 22); n *= 2) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (!set) return 0;
    const size_t size = CPU_ALLOC_SIZE(n);
    const int rc = sched_getaffinity(0, size, set);
    const int error = errno;
    const int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (rc == 0 || error != EINVAL) return count;
  }
#endif
  return 0;
}

// ceil(quota / period) CPUs, or 0 when there is no quota (quota <= 0: "max" or -1).
int quota_cpus(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  return int(std::min<long long>((quota + period - 1) / period, int64_t(1) << 16));
}

// OMP_NUM_THREADS, as users of numerical libraries expect, else the CPUs this process may use:
// its affinity mask and its cgroup CPU quota (a container's or a Slurm job's CPU limit), the
// smaller, at least 1.
int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  int cpus = affinity_cpus();
  if (cpus <= 0) cpus = int(std::thread::hardware_concurrency());
  const int quota = cgroup_cpu_limit("/sys/fs/cgroup");
  if (quota > 0 && (cpus <= 0 || quota < cpus)) cpus = quota;
  return std::max(cpus, 1);
}
std::atomic<int> g_threads{default_threads()};
std::atomic<int64_t> g_parallel_min_override{0};
}  // namespace

int cgroup_cpu_limit(const std::string& root) {
  // cgroup v2: cpu.max holds "<quota> <period>", or "max <period>" for no limit.
  if (std::ifstream v2{root + "/cpu.max"}) {
    std::string quota;
    long long period = 0;
    if (!(v2 >> quota >> period) || quota == "max") return 0;
    char* end = nullptr;
    const long long q = std::strtoll(quota.c_str(), &end, 10);
    return *end == '\0' ? quota_cpus(q, period) : 0;
  }
  // cgroup v1: cpu.cfs_quota_us (-1 for no limit) and cpu.cfs_period_us.
  for (const char* dir : {"/cpu/", "/cpu,cpuacct/"}) {
    std::ifstream quota_file{root + dir + "cpu.cfs_quota_us"};
    std::ifstream period_file{root + dir + "cpu.cfs_period_us"};
    long long quota = 0, period = 0;
    if (quota_file && period_file && (quota_file >> quota) && (period_file >> period))
      return quota_cpus(quota, period);
  }
  return 0;
}

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

// The thread count as C symbols, exported from _core: threadpoolctl recognizes a loaded library
// by its symbols and calls them (python/steepest/_threadpool.py). n is clamped to [1, 65536]:
// errors cannot cross a C call.
#define STEEPEST_EXPORT extern "C" __attribute__((visibility("default")))

STEEPEST_EXPORT int steepest_get_num_threads() { return steepest::get_num_threads(); }

STEEPEST_EXPORT void steepest_set_num_threads(int n) {
  steepest::set_num_threads(std::min(std::max(n, 1), 1 << 16));
}
