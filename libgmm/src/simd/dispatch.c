/* dispatch.c: choose the kernel table once, from the CPU, the build and GMM_SIMD.
 *
 * This file is compiled for the baseline ISA. It only references the tables
 * of levels that were compiled in (GMM_HAVE_<LEVEL> definitions come from
 * CMake's compile probes), and never uses a level the CPU cannot run. */
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

#include "simd/cpu.h"
#include "simd/kernels.h"

static gmm_kernels const *table_of(int level)
{
  switch (level) {
    case VL_SIMD_SCALAR: return &gmm_kernels_scalar;
#if GMM_HAVE_SSE2
    case VL_SIMD_SSE2: return &gmm_kernels_sse2;
#endif
#if GMM_HAVE_AVX2
    case VL_SIMD_AVX2: return &gmm_kernels_avx2;
#endif
#if GMM_HAVE_AVX512
    case VL_SIMD_AVX512: return &gmm_kernels_avx512;
#endif
#if GMM_HAVE_NEON
    case VL_SIMD_NEON: return &gmm_kernels_neon;
#endif
    default: return NULL;
  }
}

/* Level names, indexed by level. */
static char const *const g_level_names[] = {"scalar", "sse2", "avx2", "avx512", "neon"};
#define NUM_LEVELS ((int)(sizeof g_level_names / sizeof g_level_names[0]))

char const *gmm_simd_level_name(int level)
{
  return level >= 0 && level < NUM_LEVELS ? g_level_names[level] : NULL;
}

/* The level numbers order the x86 levels among themselves; NEON (aarch64)
 * is of another family, and scalar belongs to every family. */
static int same_family(int a, int b)
{
  return a == VL_SIMD_SCALAR || b == VL_SIMD_SCALAR || (a == VL_SIMD_NEON) == (b == VL_SIMD_NEON);
}

int gmm_simd_max_level(void)
{
  int level = gmm_cpu_max_level();
  while (level > VL_SIMD_SCALAR && !table_of(level)) --level;
  return level;
}

static int level_from_name(char const *s)
{
  for (int i = 0; i < NUM_LEVELS; ++i)
    if (strcmp(s, g_level_names[i]) == 0) return i;
  return -1;
}

/* -1: not chosen yet. Every thread that races here computes the same
 * value, so the race is benign; the atomic makes it well defined. */
static atomic_int g_level = -1;
static atomic_int g_simd_enabled = 1;
static int g_level_before_disable = -1;

int gmm_simd_level(void)
{
  int level = atomic_load_explicit(&g_level, memory_order_acquire);
  if (level < 0) {
    char const *env = getenv("GMM_SIMD");
    int max = gmm_simd_max_level();
    level = max;
    if (env && *env) {
      /* caps, never raises; a level of another family is ignored, and a cap
       * on a level not compiled in falls to the next one below it */
      int want = level_from_name(env);
      if (want >= 0 && want < max && same_family(want, max)) {
        level = want;
        while (level > VL_SIMD_SCALAR && !table_of(level)) --level;
      }
    }
    atomic_store_explicit(&g_level, level, memory_order_release);
  }
  return level;
}

gmm_kernels const *gmm_kernels_get(void) { return table_of(gmm_simd_level()); }

gmm_kernels const *gmm_kernels_for_level(int level)
{
  if (level < VL_SIMD_SCALAR || level > gmm_simd_max_level()) return NULL;
  return table_of(level);
}

int gmm_simd_set_level(int level)
{
  if (!gmm_kernels_for_level(level))
    return gmm_error(VL_ERR_BAD_ARG,
                     "vl_set_simd_level: level %d is not available (best here: %d = %s)", level,
                     gmm_simd_max_level(), table_of(gmm_simd_max_level())->name);
  atomic_store(&g_level, level);
  atomic_store(&g_simd_enabled, level != VL_SIMD_SCALAR);
  return VL_ERR_OK;
}

void gmm_simd_set_enabled(int enabled)
{
  if (!enabled) {
    int const cur = gmm_simd_level();
    if (cur != VL_SIMD_SCALAR) g_level_before_disable = cur;
    atomic_store(&g_level, VL_SIMD_SCALAR);
    atomic_store(&g_simd_enabled, 0);
  } else if (!atomic_load(&g_simd_enabled)) {
    int const level = g_level_before_disable >= 0 ? g_level_before_disable : gmm_simd_max_level();
    atomic_store(&g_level, level);
    atomic_store(&g_simd_enabled, level != VL_SIMD_SCALAR);
  }
}
