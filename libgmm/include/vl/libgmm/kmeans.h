/** @file libgmm/kmeans.h
 ** @brief libgmm extensions to k-means: iteration callback, Lloyd by sufficient statistics.
 **
 ** libgmm's own API (not in VLFeat); include it through <vl/libgmm.h>.
 **/
#ifndef VL_LIBGMM_KMEANS_H
#define VL_LIBGMM_KMEANS_H

#include "../kmeans.h"
#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Iteration callback and Lloyd by sufficient statistics
 ** @{ */
/** @brief Set (or clear, with NULL) the iteration callback. */
VL_EXPORT void vl_kmeans_set_iteration_callback(VlKMeans *self, vl_iteration_callback callback,
                                                void *user);
/** @brief Lloyd's iteration by sufficient statistics, for data that is
 ** not in one array (chunks, a cluster). A statistics buffer has
 ** ::vl_kmeans_stats_size doubles: [counts (K) | sums (K x D, row-major) |
 ** energy | number of points]. Accumulate every chunk's statistics against
 ** the current centers (exact nearest center, first minimum wins; squared
 ** L2 distance only), add buffers together (::vl_kmeans_stats_merge), then
 ** ::vl_kmeans_update_from_stats moves every center to the mean of its
 ** points. The energy is that of the centers the statistics were taken for.
 ** A center with no point keeps its position (in-memory Lloyd instead
 ** restarts it at a random data point). */
VL_EXPORT vl_size vl_kmeans_stats_size(VlKMeans const *self);
/** Adds the statistics of @p numData points (N x D of the object's type). */
VL_EXPORT int vl_kmeans_stats_accumulate(VlKMeans const *self, double *stats, void const *data,
                                         vl_size numData);
VL_EXPORT int vl_kmeans_stats_merge(VlKMeans const *self, double *dst, double const *src);
/** New centers from statistics; sets the energy to the buffer's. */
VL_EXPORT int vl_kmeans_update_from_stats(VlKMeans *self, double const *stats);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_KMEANS_H */
