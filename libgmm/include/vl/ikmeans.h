/** @file ikmeans.h
 ** @brief Integer k-means on 8-bit data (VLFeat-compatible API).
 **
 ** Same function names, argument order, types and enum values as VLFeat
 ** 0.9.21's `vl/ikmeans.h`. Data are N x M `vl_uint8` (`data[i*M + m]`, one
 ** point per row); centers are K x M ::vl_ikmacc_t (32-bit integers);
 ** assignments are N `vl_uint32`. A trained center is the integer part of the
 ** mean of its points (0 for a center left without points), so centers stay
 ** in [0, 255].
 **
 ** Distances are squared Euclidean, computed exactly for any 32-bit centers.
 ** The nearest center is the first one at the smallest distance. Random
 ** initialisations draw from the calling thread's default generator
 ** (vl_get_rand()) in VLFeat's order, so a seeded run reproduces VLFeat's
 ** centers and assignments.
 **
 ** Unlike VLFeat, ::VlIKMFilt is opaque (use the accessors). Bad arguments
 ** (NULL, zero sizes, K > N, an unknown method, a filter without centers) set
 ** the thread's last error instead of reaching the arithmetic; differences
 ** are listed in docs/vlfeat-differences.md.
 **/
#ifndef VL_IKMEANS_H
#define VL_IKMEANS_H

#include "generic.h"
#include "random.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Integer type of the centers (VLFeat's accumulator type). */
typedef vl_int32 vl_ikmacc_t;
/** @brief Largest value of ::vl_ikmacc_t. */
#define VL_IKMACC_MAX 0x7fffffffUL

/** @brief Integer k-means algorithms (the `method` of ::vl_ikm_new). */
enum VlIKMAlgorithms {
  VL_IKM_LLOYD = 0, /**< Lloyd: exact nearest center at every iteration */
  VL_IKM_ELKAN = 1  /**< VLFeat's integer Elkan variant (see ::vl_ikm_train) */
};

/** @brief Opaque integer k-means filter. */
typedef struct VlIKMFilt_ VlIKMFilt;

/** @name Create and destroy
 ** @{ */
/** @brief New filter: no centers, 200 iterations at most, verbosity 0.
 ** @param method ::VL_IKM_LLOYD or ::VL_IKM_ELKAN.
 ** @return the filter, or NULL on error (unknown method, allocation). */
VL_EXPORT VlIKMFilt *vl_ikm_new(int method);
/** @brief Free a filter (NULL is accepted). */
VL_EXPORT void vl_ikm_delete(VlIKMFilt *f);
/** @} */

/** @name Process data
 ** @{ */
/** @brief Set K centers of dimension M (K x M values, copied). */
VL_EXPORT void vl_ikm_init(VlIKMFilt *f, vl_ikmacc_t const *centers, vl_size M, vl_size K);
/** @brief K x M centers from K*M draws of vl_rand_uint32() on the default
 ** generator, each reinterpreted as a 32-bit signed integer (VLFeat's values:
 ** any 32-bit number, not restricted to [0, 255]). */
VL_EXPORT void vl_ikm_init_rand(VlIKMFilt *f, vl_size M, vl_size K);
/** @brief K distinct data points as centers, in VLFeat's random order.
 **
 ** N numbers are drawn (vl_rand_uint32() on the default generator, one per
 ** point); the points are visited by increasing key, the key of point i being
 ** its draw as a signed 32-bit integer divided by 4 and rounded down (ties by
 ** increasing i). A point equal to a center already chosen is skipped. If
 ** fewer than K distinct points exist, the remaining centers are copies of
 ** the last point visited. Requires 1 <= K <= N. */
VL_EXPORT void vl_ikm_init_rand_data(VlIKMFilt *f, vl_uint8 const *data, vl_size M, vl_size N,
                                     vl_size K);
/** @brief Refine the centers on N points.
 **
 ** ::VL_IKM_LLOYD: at most `max_niters` iterations of (exact assignment;
 ** stop if no point changed center, except at the first iteration; move every
 ** center to the integer part of the mean of its points, or to 0 if it has
 ** none). ::VL_IKM_ELKAN: one exact assignment and update, then at most
 ** `max_niters` iterations of VLFeat's pruned assignment (a point assigned to
 ** center a, at squared distance d from the best center found so far, skips
 ** center c when |c - a|^2 >= 4 d) followed by the same update; it stops when
 ** no point changes center. The pruning test uses the point's previous
 ** center rather than the best one found, so the result can differ from
 ** Lloyd's (this is VLFeat's algorithm, reproduced exactly).
 ** @return 0 on success, otherwise the error code (also the last error). */
VL_EXPORT int vl_ikm_train(VlIKMFilt *f, vl_uint8 const *data, vl_size N);
/** @brief Nearest center of each of N points into @p asgn (N values). */
VL_EXPORT void vl_ikm_push(VlIKMFilt *f, vl_uint32 *asgn, vl_uint8 const *data, vl_size N);
/** @brief Index of the center (of K x M @p centers) nearest to one point.
 ** @return the index, or 0 with the last error set on bad arguments. */
VL_EXPORT vl_uint vl_ikm_push_one(vl_ikmacc_t const *centers, vl_uint8 const *data, vl_size M,
                                  vl_size K);
/** @} */

/** @name Retrieve data and parameters
 ** @{ */
/** @return the dimension M (0 before centers are set). */
VL_EXPORT vl_size vl_ikm_get_ndims(VlIKMFilt const *f);
/** @return the number of centers K (0 before centers are set). */
VL_EXPORT vl_size vl_ikm_get_K(VlIKMFilt const *f);
VL_EXPORT int vl_ikm_get_verbosity(VlIKMFilt const *f);
VL_EXPORT vl_size vl_ikm_get_max_niters(VlIKMFilt const *f);
/** @return K x M centers owned by the filter (NULL if none); valid until the
 ** next call that changes them (init, train, delete). */
VL_EXPORT vl_ikmacc_t const *vl_ikm_get_centers(VlIKMFilt const *f);
/** @} */

/** @name Set parameters
 ** @{ */
/** @brief Verbosity: at 1 or more, training prints through the printf/log hook. */
VL_EXPORT void vl_ikm_set_verbosity(VlIKMFilt *f, int verb);
VL_EXPORT void vl_ikm_set_max_niters(VlIKMFilt *f, vl_size max_niters);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_IKMEANS_H */
