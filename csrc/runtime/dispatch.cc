// Run-time choice of the SIMD target: the best one compiled in that this CPU supports, unless
// STEEPEST_SIMD (read by the module at import) or select_target() asks for a lower one.
#include <atomic>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

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

#if defined(STEEPEST_HAVE_AVX2) || defined(STEEPEST_HAVE_AVX512)
// The CPU's features from cpuid, and the OS's from xgetbv (XCR0: which register states it saves
// on a context switch). Read here rather than by __builtin_cpu_supports: that builtin relies on
// the runtime library's CPU model (libgcc's, compiler-rt's), and a wheel built by zig's clang
// for glibc 2.17 found every feature absent and ran the baseline kernels only.
struct CpuFeatures {
  bool avx2 = false, avx512 = false;  // avx512: F, VL, BW and DQ
  bool avx512_bf16 = false;           // and AVX512_BF16 (vcvtneps2bf16)
  bool avx512_vbmi = false;           // and AVX512_VBMI (vpermb, vpermi2b)
};

CpuFeatures read_cpu_features() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28),
             f16c = c & (1u << 29);
  if (!(osxsave && avx)) return f;
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm_state = (xcr0_lo & 0x6u) == 0x6u;  // SSE and AVX state
  const bool zmm_state = (xcr0_lo & 0xE6u) == 0xE6u;  // and opmask, ZMM0-15 high, ZMM16-31
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = b & (1u << 5), avx512f = b & (1u << 16), avx512dq = b & (1u << 17),
             avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  f.avx2 = ymm_state && avx2 && fma && f16c;
  f.avx512 = zmm_state && avx512f && avx512vl && avx512bw && avx512dq && fma && f16c;
  f.avx512_vbmi = f.avx512 && (c & (1u << 1));
  if (f.avx512 && a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d))
    f.avx512_bf16 = a & (1u << 5);
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = read_cpu_features();
  return f;
}
#endif
#ifdef STEEPEST_HAVE_AVX2
bool cpu_has_avx2() { return cpu_features().avx2; }
#endif
#ifdef STEEPEST_HAVE_AVX512
bool cpu_has_avx512() { return cpu_features().avx512; }
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

bool cpu_has_avx512_bf16() {
#ifdef STEEPEST_HAVE_AVX512
  return cpu_features().avx512_bf16;
#else
  return false;
#endif
}

namespace {
std::atomic<bool> g_vbmi_allowed{true};
}

bool cpu_has_avx512_vbmi() {
#ifdef STEEPEST_HAVE_AVX512
  return cpu_features().avx512_vbmi && g_vbmi_allowed.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

void allow_avx512_vbmi(bool allowed) { g_vbmi_allowed.store(allowed); }

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
