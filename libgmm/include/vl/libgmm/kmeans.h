/** @file libgmm/kmeans.h
 ** @brief libgmm extensions to k-means: iteration callback, Lloyd by sufficient statistics,
 ** sample weights.
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

/** @name Sample weights
 ** Weighted k-means (scikit-learn's `sample_weight`): point i counts
 ** @p weights[i] times. @p weights holds @p numData doubles, each finite and
 ** >= 0 (BAD_ARG otherwise), or is NULL: every point weighs 1, and the call
 ** is its unweighted counterpart. The weights are read once (a private copy
 ** is checked and used) and never written. Integer weights give the results
 ** of the points repeated that many times (the same centers and energy up
 ** to rounding, exactly when the sums are exact; the random draws differ);
 ** a point of weight 0 is as if removed (bit for bit, random draws included);
 ** all weights equal to 1 give the unweighted results bit for bit; the
 ** results depend on the weights only up to a common factor (bit for bit for
 ** a power of two, and whenever all positive weights are equal), and the
 ** energy is in the weights' scale: sum over points of w_i d(x_i, c_a(i))
 ** (squared L2, or L1).
 **
 ** The training calls (cluster, refine, init) need a positive weight on at
 ** least one point and on at least numCenters points (BAD_ARG `every weight
 ** is 0`, `numCenters (K) exceeds the number of points with a positive
 ** weight (M)`). Weighted, they
 ** * seed by random selection with probabilities proportional to the
 **   weights, without replacement (uniform among the points of positive
 **   weight when these are all equal: VLFeat's draws on those points), and
 **   by k-means++ with the first center drawn in proportion to the weights and
 **   every later one in proportion to weight x distance (zero-weight points
 **   are never chosen);
 ** * move a center to the weighted mean of its points (L2) or, per
 **   dimension, their lower weighted median (L1: the smallest value whose
 **   cumulative weight reaches half the cluster's weight);
 ** * treat a cluster whose points all weigh 0 as empty: in-memory Lloyd,
 **   Elkan and ANN restart it at a point drawn uniformly among the points
 **   of positive weight;
 ** * measure the energy, and test convergence, on the weighted energy
 **   (the iteration callback receives it too).
 ** Results do not depend on the number of threads or the SIMD level, as
 ** without weights.
 ** @{ */
/** Weighted ::vl_kmeans_cluster. @return the energy, or NaN on error. */
VL_EXPORT double vl_kmeans_cluster_weighted(VlKMeans *self, void const *data, vl_size dimension,
                                            vl_size numData, vl_size numCenters,
                                            double const *weights);
/** Weighted ::vl_kmeans_refine_centers. @return the energy, or NaN on error. */
VL_EXPORT double vl_kmeans_refine_centers_weighted(VlKMeans *self, void const *data,
                                                   vl_size numData, double const *weights);
/** Weighted ::vl_kmeans_init_centers_with_rand_data. @return an error code. */
VL_EXPORT int vl_kmeans_init_centers_with_rand_data_weighted(VlKMeans *self, void const *data,
                                                             vl_size dimension, vl_size numData,
                                                             vl_size numCenters,
                                                             double const *weights);
/** Weighted ::vl_kmeans_init_centers_plus_plus. @return an error code. */
VL_EXPORT int vl_kmeans_init_centers_plus_plus_weighted(VlKMeans *self, void const *data,
                                                        vl_size dimension, vl_size numData,
                                                        vl_size numCenters,
                                                        double const *weights);
/** ::vl_kmeans_quantize (exact nearest center) that also returns the energy
 ** of the @p numData points under the object's centers: the sum, in double
 ** and in point order, of w_i times the distance to the nearest center.
 ** @p assignments and @p distances may each be NULL; the weights may all be 0
 ** (the energy is then 0). @return the energy (0 for numData = 0), or NaN on
 ** error. */
VL_EXPORT double vl_kmeans_quantize_energy(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                           void const *data, vl_size numData,
                                           double const *weights);
/** Weighted ::vl_kmeans_stats_accumulate: the first K entries of the buffer
 ** receive the sums of the weights per center, the sums are weighted sums
 ** of the points, the energy the weighted energy; the last entry still
 ** counts points. A chunk's weights may all be 0. Use the weights as given
 ** in every chunk (no rescaling): a center's new position is its weighted
 ** sum over its weight. */
VL_EXPORT int vl_kmeans_stats_accumulate_weighted(VlKMeans const *self, double *stats,
                                                  void const *data, vl_size numData,
                                                  double const *weights);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_KMEANS_H */
