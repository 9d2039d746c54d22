/* cpu.h: CPU feature detection (hidden). */
#ifndef GMM_SIMD_CPU_H
#define GMM_SIMD_CPU_H
#include "util/internal.h"
/* Best VL_SIMD_* level supported by this CPU and OS (ignores what is compiled). */
GMM_HIDDEN int gmm_cpu_max_level(void);
#endif
