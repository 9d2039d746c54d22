/** @file libgmm/kmeans.h
 ** @brief libgmm extensions to k-means: iteration callback, Lloyd by sufficient statistics,
 ** sample weights, scikit-learn's stopping rule.
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

/** @name Stopping rule: VLFeat's (default) or scikit-learn's
 ** ::vl_kmeans_cluster, ::vl_kmeans_refine_centers and their weighted and
 ** `_with_assignments` forms run Lloyd, Elkan or ANN iterations until a
 ** stopping rule says so.
 **
 ** ::VlKMeansStopVLFeat (the default; VLFeat's results bit for bit):
 ** Lloyd and ANN stop when the energy is unchanged or its relative decrease
 ** (E_prev - E) / (E_0 - E) is below the minimum energy variation, Elkan
 ** when no point changed cluster; an empty cluster restarts at a random
 ** data point (of positive weight).
 **
 ** ::VlKMeansStopSklearn (scikit-learn's KMeans, the same for Lloyd, Elkan
 ** and ANN; squared L2 distance only, BAD_ARG with L1): iteration t
 ** (from 0) assigns every point to its nearest center, reports the
 ** (weighted) energy of that assignment to the iteration callback, then
 ** moves every center to the weighted mean of its points. Before the means
 ** are taken, the empty clusters (no point of positive weight), in
 ** increasing order, take the points farthest from their centers (the
 ** largest distances of the assignment first, ties to the lower index):
 ** each such point, with its weight, leaves its cluster's sums and becomes
 ** the empty cluster's only point. Nothing moves when every point sits on
 ** its center; a cluster that is still without weight is then put on the
 ** center of the heaviest cluster (the first of the largest weights). The
 ** loop ends
 ** * by strict convergence: no point changed cluster in this iteration's
 **   assignment (never at iteration 0); the centers are those just
 **   computed, the assignments this iteration's;
 ** * when the total squared center shift of the update, the sum over
 **   centers of |new - old|^2, is at most the threshold: the center shift
 **   tolerance times the mean over dimensions of the data's variance
 **   (population variance of the unweighted data, computed once per call;
 **   0 when the tolerance is 0);
 ** * after maxNumIterations updates;
 ** and, unless it ended by strict convergence or by the callback, a last
 ** assignment to the final centers gives the returned assignments. The
 ** returned energy is that of the returned assignments under the returned
 ** centers. The number of iterations is the number of center updates
 ** (maxNumIterations = 0: none, the initial centers are kept).
 ** Repetitions (::vl_kmeans_cluster) keep the run of lowest energy, as
 ** with VLFeat's rule.
 ** @{ */
/** Stopping rules (::vl_kmeans_set_stopping_rule). */
typedef enum VlKMeansStoppingRule_ {
  VlKMeansStopVLFeat = 0, /**< VLFeat's rule and empty-cluster restarts (default) */
  VlKMeansStopSklearn = 1 /**< scikit-learn's rule and empty-cluster relocation */
} VlKMeansStoppingRule;

/** Why the last run (the kept repetition) stopped (::vl_kmeans_get_stop_reason). */
typedef enum VlKMeansStopReason_ {
  VlKMeansNotRun = 0,              /**< no cluster/refine yet (or the last one failed) */
  VlKMeansStopMaxIterations = 1,   /**< maxNumIterations updates */
  VlKMeansStopNoChange = 2,        /**< no point changed cluster (strict convergence) */
  VlKMeansStopCenterShift = 3,     /**< total squared center shift within the threshold */
  VlKMeansStopEnergyUnchanged = 4, /**< VLFeat's Lloyd/ANN: the energy did not change */
  VlKMeansStopEnergyVariation = 5, /**< VLFeat's Lloyd/ANN: relative decrease below the minimum */
  VlKMeansStopCallback = 6         /**< the iteration callback asked to stop */
} VlKMeansStopReason;

/** Sets the stopping rule (BAD_ARG for an unknown value: the rule is unchanged). */
VL_EXPORT void vl_kmeans_set_stopping_rule(VlKMeans *self, VlKMeansStoppingRule rule);
VL_EXPORT VlKMeansStoppingRule vl_kmeans_get_stopping_rule(VlKMeans const *self);
/** scikit-learn's `tol`: the center shift threshold relative to the data's
 ** mean variance (finite and >= 0, else BAD_ARG; default 1e-4). Used by
 ** ::VlKMeansStopSklearn only. */
VL_EXPORT void vl_kmeans_set_center_shift_tolerance(VlKMeans *self, double tolerance);
VL_EXPORT double vl_kmeans_get_center_shift_tolerance(VlKMeans const *self);

/** @brief ::vl_kmeans_refine_centers_weighted (@p weights may be NULL) that
 ** also writes the final assignment of every point to @p assignments
 ** (@p numData values, or NULL): the last assignment of the loop (see the
 ** stopping rules). @return the energy, or NaN on error (@p assignments
 ** then undefined). Stopped by the callback, the assignments and the
 ** centers are those the reported energy was computed for. */
VL_EXPORT double vl_kmeans_refine_centers_with_assignments(VlKMeans *self, void const *data,
                                                           vl_size numData, double const *weights,
                                                           vl_uint32 *assignments);
/** @brief ::vl_kmeans_cluster_weighted (@p weights may be NULL) that also
 ** writes the final assignments of the kept repetition (or NULL). */
VL_EXPORT double vl_kmeans_cluster_with_assignments(VlKMeans *self, void const *data,
                                                    vl_size dimension, vl_size numData,
                                                    vl_size numCenters, double const *weights,
                                                    vl_uint32 *assignments);

/** What the last successful cluster/refine call did (its kept repetition;
 ** with either rule). Iterations: center updates. */
VL_EXPORT vl_size vl_kmeans_get_num_iterations(VlKMeans const *self);
VL_EXPORT VlKMeansStopReason vl_kmeans_get_stop_reason(VlKMeans const *self);
/** The total squared center shift of the last update (scikit-learn's rule;
 ** 0 without an update; NaN with VLFeat's rule). */
VL_EXPORT double vl_kmeans_get_center_shift(VlKMeans const *self);
/** The absolute threshold the shift was compared with (scikit-learn's rule:
 ** the tolerance times the data's mean variance; NaN with VLFeat's rule). */
VL_EXPORT double vl_kmeans_get_center_shift_threshold(VlKMeans const *self);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_KMEANS_H */
