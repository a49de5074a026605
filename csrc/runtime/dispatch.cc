// Run-time choice of the SIMD target: the best one compiled in that this CPU supports, unless
// STEEPEST_SIMD (read by the module at import) or select_target() asks for a lower one.
#include <stdexcept>

#include "steepest/targets.h"

namespace steepest {

// Each target's table, every field set by name from the entry its kernel's source defines
// (targets.h). Built here, with the module's baseline flags, when it loads: code compiled for a
// target may only run once the CPU is known to support it.
#define STEEPEST_DECLARE_ENTRY(name, Type) \
  extern const Type<float> name##_f32;     \
  extern const Type<double> name##_f64;
#define STEEPEST_SET_ENTRY(name, Type) \
  k.f32.name = name##_f32;             \
  k.f64.name = name##_f64;
#define STEEPEST_TABLE(target)             \
  namespace target {                       \
  STEEPEST_KERNELS(STEEPEST_DECLARE_ENTRY) \
  KernelTable make_table() {               \
    KernelTable k{#target, {}, {}};        \
    STEEPEST_KERNELS(STEEPEST_SET_ENTRY)   \
    return k;                              \
  }                                        \
  const KernelTable table = make_table();  \
  }

STEEPEST_TABLE(baseline)
#ifdef STEEPEST_HAVE_AVX2
STEEPEST_TABLE(avx2)
#endif
#ifdef STEEPEST_HAVE_AVX512
STEEPEST_TABLE(avx512)
#endif

namespace {

struct Target {
  const KernelTable* table;
  bool (*cpu_supports)();
};

bool always() { return true; }
#ifdef STEEPEST_HAVE_AVX2
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}
#endif
#ifdef STEEPEST_HAVE_AVX512
bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
#endif

// Lowest first.
const Target kTargets[] = {
    {&baseline::table, &always},
#ifdef STEEPEST_HAVE_AVX2
    {&avx2::table, &cpu_has_avx2},
#endif
#ifdef STEEPEST_HAVE_AVX512
    {&avx512::table, &cpu_has_avx512},
#endif
};

const KernelTable* best_supported() {
  const KernelTable* best = kTargets[0].table;
  for (const Target& t : kTargets)
    if (t.cpu_supports()) best = t.table;
  return best;
}

const KernelTable* g_active = best_supported();

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

const KernelTable& active_kernels() { return *g_active; }

std::vector<std::string> compiled_targets() {
  std::vector<std::string> names;
  for (const Target& t : kTargets) names.emplace_back(t.table->name);
  return names;
}

std::vector<std::string> supported_targets() {
  std::vector<std::string> names;
  for (const Target& t : kTargets)
    if (t.cpu_supports()) names.emplace_back(t.table->name);
  return names;
}

void select_target(const std::string& name) {
  for (const Target& t : kTargets) {
    if (name != t.table->name) continue;
    if (!t.cpu_supports())
      throw std::invalid_argument("SIMD target '" + name +
                                  "' is compiled in but this CPU cannot run it; supported: " +
                                  join(supported_targets()));
    g_active = t.table;
    return;
  }
  throw std::invalid_argument("unknown SIMD target '" + name +
                              "'; compiled in: " + join(compiled_targets()));
}

}  // namespace steepest
