/** @file libgmm/simd.h
 ** @brief libgmm extensions: the SIMD level of the kernels.
 **
 ** libgmm's own API (not in VLFeat); include it through <vl/libgmm.h>.
 **/
#ifndef VL_LIBGMM_SIMD_H
#define VL_LIBGMM_SIMD_H

#include "../generic.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name SIMD level
 ** Kernels exist for several instruction sets and are chosen at run time
 ** from the CPU. The environment variable `GMM_SIMD` (scalar, sse2, avx2,
 ** avx512, neon), read once when the library first needs its kernels, caps the
 ** level (a level of another architecture is ignored); ::vl_set_simd_level
 ** changes it later. ::vl_set_simd_enabled(0) is the same as choosing
 ** ::VL_SIMD_SCALAR. The x86 levels are ordered (SSE2 < AVX2 < AVX-512);
 ** NEON is the level of 64-bit ARM (aarch64) CPUs.
 ** @{ */
#define VL_SIMD_SCALAR 0
#define VL_SIMD_SSE2   1
#define VL_SIMD_AVX2   2   /**< AVX2 + FMA */
#define VL_SIMD_AVX512 3   /**< AVX-512F */
#define VL_SIMD_NEON   4   /**< aarch64 Advanced SIMD (NEON) */
/** @return the level in use. */
VL_EXPORT int vl_get_simd_level(void);
/** @return the best level this library was compiled with and this CPU supports. */
VL_EXPORT int vl_get_simd_max_level(void);
/** @return true if this library has kernels for @p level and this CPU can run
 ** them (the levels ::vl_set_simd_level accepts); false for an unknown level. */
VL_EXPORT vl_bool vl_get_simd_level_available(int level);
/** @return 0, or VL_ERR_BAD_ARG if @p level is unknown or not available here. */
VL_EXPORT int vl_set_simd_level(int level);
/** @return "scalar", "sse2", "avx2", "avx512", "neon", or NULL (and
 ** VL_ERR_BAD_ARG) for an unknown level. */
VL_EXPORT char const *vl_get_simd_level_name(int level);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_SIMD_H */
