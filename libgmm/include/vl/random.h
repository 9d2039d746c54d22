/** @file random.h
 ** @brief Mersenne Twister (MT19937) generator, VLFeat-compatible stream.
 **
 ** Every thread owns a default generator (::vl_get_rand). A generator that
 ** has never been seeded seeds itself with 5489 on its first draw. Random
 ** initialisations (k-means++ and random selection, the GMM "rand"
 ** initialisation) draw from the calling thread's default generator in the
 ** same order as VLFeat 0.9.21, so a seeded run reproduces VLFeat's numbers.
 **
 ** Unlike VLFeat, the derived draws (`uindex`, `real1`, ...) are exported
 ** functions as well as being usable from C, so other languages can call them.
 **/
#ifndef VL_RANDOM_H
#define VL_RANDOM_H

#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VL_RAND_MT_N 624

/** @brief MT19937 state. Public so it can live on the stack, as in VLFeat. */
typedef struct VlRand_ {
  vl_uint32 mt[VL_RAND_MT_N];
  vl_uindex mti;
} VlRand;

/** @name Default generator and seeding
 ** @{ */
VL_EXPORT VlRand *vl_get_rand(void);
VL_EXPORT void vl_rand_init(VlRand *self);
VL_EXPORT void vl_rand_seed(VlRand *self, vl_uint32 s);
VL_EXPORT void vl_rand_seed_by_array(VlRand *self, vl_uint32 const key[], vl_size keySize);
/** @} */

/** @name Draws
 ** @{ */
VL_EXPORT vl_uint32 vl_rand_uint32(VlRand *self);
VL_EXPORT vl_uint64 vl_rand_uint64(VlRand *self);
VL_EXPORT vl_int64 vl_rand_int63(VlRand *self);
VL_EXPORT vl_int32 vl_rand_int31(VlRand *self);
/** @brief Uniform in the closed interval [0, 1]: uint32 / (2^32 - 1). */
VL_EXPORT double vl_rand_real1(VlRand *self);
/** @brief Uniform in [0, 1): uint32 / 2^32. */
VL_EXPORT double vl_rand_real2(VlRand *self);
/** @brief Uniform in (0, 1): (uint32 + 0.5) / 2^32. */
VL_EXPORT double vl_rand_real3(VlRand *self);
/** @brief Uniform in [0, 1) with 53-bit resolution. */
VL_EXPORT double vl_rand_res53(VlRand *self);
/** @brief Integer in [0, range): uint32 mod range (two draws when range > 2^32-1). */
VL_EXPORT vl_uindex vl_rand_uindex(VlRand *self, vl_uindex range);
/** @brief Random permutation of @p array (Fisher-Yates, VLFeat's draw order). */
VL_EXPORT void vl_rand_permute_indexes(VlRand *self, vl_index *array, vl_size size);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_RANDOM_H */
