/* cpu_arm.c: which SIMD levels an aarch64 CPU supports.
 *
 * Advanced SIMD (NEON) with double-precision vectors and FMA is part of the
 * ARMv8-A base architecture, and every aarch64 ABI (Linux, macOS, Windows)
 * requires it: no runtime check is needed. (SVE, optional and of variable
 * length, is not used.) Other architectures: cpu_x86.c. */
#include "simd/cpu.h"

#if defined(__aarch64__) || defined(_M_ARM64)

int gmm_cpu_max_level(void) { return VL_SIMD_NEON; }

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int gmm_cpu_arm_unused;

#endif
