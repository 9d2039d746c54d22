/** @file gmm.h
 ** @brief Gaussian mixture models with diagonal covariances, trained by EM
 ** (VLFeat-compatible API).
 **
 ** Layouts (row-major): data N x D (`data[i*D + d]`), means and covariances
 ** (diagonal variances) K x D, priors K, posteriors N x K, covariance lower
 ** bounds D doubles. Arrays are of the object's data type (::VL_TYPE_FLOAT or
 ** ::VL_TYPE_DOUBLE) unless stated otherwise.
 **
 ** The log-likelihood is the sum over points of log p(x_i), accumulated in
 ** double, as in VLFeat. Differences from VLFeat are listed in
 ** docs/vlfeat-differences.md: bad arguments (NULL, zero sizes, K > N,
 ** NaN/Inf, non-positive covariances, negative priors) set the last error
 ** and the function returns a sentinel (NULL / NaN) instead of computing
 ** garbage or aborting; vl_gmm_em stores the log-likelihood it returns;
 ** vl_gmm_new_copy copies everything; results do not depend on the thread count.
 **/
#ifndef VL_GMM_H
#define VL_GMM_H

#include "kmeans.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief GMM initialisation methods. */
typedef enum VlGMMInitialization_ {
  VlGMMKMeans = 0, /**< k-means clustering, then one M-step on the hard assignments */
  VlGMMRand = 1,   /**< k-means++ seeded means, data variance, uniform priors */
  VlGMMCustom = 2  /**< the means, covariances and priors set by the user */
} VlGMMInitialization;

/** @brief Opaque GMM object. */
typedef struct VlGMM_ VlGMM;

/** @name Create and destroy
 ** @{ */
/** @return a new object (means/covariances/priors zero, bounds 1e-4,
 ** 50 iterations, 1 repetition, ::VlGMMRand), or NULL on error. */
VL_EXPORT VlGMM *vl_gmm_new(vl_type dataType, vl_size dimension, vl_size numComponents);
/** @return a deep copy (parameters, bounds, posteriors, settings), or NULL on error. */
VL_EXPORT VlGMM *vl_gmm_new_copy(VlGMM const *gmm);
VL_EXPORT void vl_gmm_delete(VlGMM *self);
/** @brief Free the posteriors and an owned k-means object; keep parameters. */
VL_EXPORT void vl_gmm_reset(VlGMM *self);
/** @} */

/** @name Basic data processing
 ** @{ */
/** @brief Initialise and run EM `numRepetitions` times; keep the best log-likelihood.
 ** @return the log-likelihood (also stored), or NaN on error. */
VL_EXPORT double vl_gmm_cluster(VlGMM *self, void const *data, vl_size numData);
/** @} */

/** @name Fine-grained data processing
 ** @{ */
VL_EXPORT void vl_gmm_init_with_rand_data(VlGMM *self, void const *data, vl_size numData);
/** @p kmeansInit may be NULL: a default approximate k-means object is then created and owned. */
VL_EXPORT void vl_gmm_init_with_kmeans(VlGMM *self, void const *data, vl_size numData,
                                       VlKMeans *kmeansInit);
/** @brief EM from the current parameters. @return the final log-likelihood, or NaN on error. */
VL_EXPORT double vl_gmm_em(VlGMM *self, void const *data, vl_size numData);
/** @} */

/** @name Set parameters
 ** @{ */
VL_EXPORT void vl_gmm_set_means(VlGMM *self, void const *means);
VL_EXPORT void vl_gmm_set_covariances(VlGMM *self, void const *covariances);
VL_EXPORT void vl_gmm_set_priors(VlGMM *self, void const *priors);
VL_EXPORT void vl_gmm_set_num_repetitions(VlGMM *self, vl_size numRepetitions);
VL_EXPORT void vl_gmm_set_max_num_iterations(VlGMM *self, vl_size maxNumIterations);
VL_EXPORT void vl_gmm_set_verbosity(VlGMM *self, int verbosity);
VL_EXPORT void vl_gmm_set_initialization(VlGMM *self, VlGMMInitialization init);
/** @brief Use @p kmeans (not owned) for ::VlGMMKMeans initialisation; NULL restores the default. */
VL_EXPORT void vl_gmm_set_kmeans_init_object(VlGMM *self, VlKMeans *kmeans);
/** @param bounds D doubles. */
VL_EXPORT void vl_gmm_set_covariance_lower_bounds(VlGMM *self, double const *bounds);
VL_EXPORT void vl_gmm_set_covariance_lower_bound(VlGMM *self, double bound);
/** @} */

/** @name Get parameters
 ** Array getters return object-owned storage, valid until the next call
 ** that changes it (cluster, em, init, set, reset, delete).
 ** @{ */
VL_EXPORT void const *vl_gmm_get_means(VlGMM const *self);
VL_EXPORT void const *vl_gmm_get_covariances(VlGMM const *self);
VL_EXPORT void const *vl_gmm_get_priors(VlGMM const *self);
/** @return N x K posteriors of the last E-step, or NULL if none. */
VL_EXPORT void const *vl_gmm_get_posteriors(VlGMM const *self);
VL_EXPORT vl_type vl_gmm_get_data_type(VlGMM const *self);
VL_EXPORT vl_size vl_gmm_get_dimension(VlGMM const *self);
VL_EXPORT vl_size vl_gmm_get_num_repetitions(VlGMM const *self);
VL_EXPORT vl_size vl_gmm_get_num_data(VlGMM const *self);
VL_EXPORT vl_size vl_gmm_get_num_clusters(VlGMM const *self);
VL_EXPORT double vl_gmm_get_loglikelihood(VlGMM const *self);
VL_EXPORT int vl_gmm_get_verbosity(VlGMM const *self);
VL_EXPORT vl_size vl_gmm_get_max_num_iterations(VlGMM const *self);
VL_EXPORT VlGMMInitialization vl_gmm_get_initialization(VlGMM const *self);
VL_EXPORT VlKMeans *vl_gmm_get_kmeans_init_object(VlGMM const *self);
VL_EXPORT double const *vl_gmm_get_covariance_lower_bounds(VlGMM const *self);
/** @} */

/** @name libgmm extensions
 ** @{ */
/** @brief Set (or clear, with NULL) the iteration callback of EM (see
 ** ::vl_iteration_callback); it is called after every E-step. */
VL_EXPORT void vl_gmm_set_iteration_callback(VlGMM *self, vl_iteration_callback callback,
                                             void *user);
/** @brief Keep the N x K posteriors (the default, as VLFeat) or not. Without
 ** them training needs memory independent of K*N; ::vl_gmm_get_posteriors
 ** then returns NULL. Turning storage off frees the current posteriors. */
VL_EXPORT void vl_gmm_set_store_posteriors(VlGMM *self, vl_bool store);
VL_EXPORT vl_bool vl_gmm_get_store_posteriors(VlGMM const *self);
/** @brief EM stops when the relative change of the log-likelihood,
 ** |(LL - previous LL) / LL|, falls below @p threshold (VLFeat: 1e-5, the
 ** default). 0 disables the test (EM then stops on the iteration limit or the
 ** callback). */
VL_EXPORT void vl_gmm_set_convergence_threshold(VlGMM *self, double threshold);
VL_EXPORT double vl_gmm_get_convergence_threshold(VlGMM const *self);
/** @brief E-step of @p numData points (N x D) under the object's parameters:
 ** any of @p posteriors (N x K of the data type), @p loglikelihoods (N
 ** doubles: log p(x_i)) and @p labels (N: the most likely component, first
 ** maximum wins) may be NULL. Needs no N x K memory unless @p posteriors is
 ** given. @return the summed log-likelihood, or NaN with the last error set. */
VL_EXPORT double vl_gmm_estep(VlGMM const *self, void const *data, vl_size numData,
                              void *posteriors, double *loglikelihoods, vl_uint32 *labels);
/** @} */

/** @name libgmm extensions: EM by sufficient statistics
 ** EM over data that is not in one array (chunks, files, a cluster): every
 ** chunk's E-step statistics are accumulated into a buffer of
 ** ::vl_gmm_stats_size doubles, buffers are added together, and one M-step
 ** runs from the sum. With the same initialisation and data this gives
 ** ::vl_gmm_em's parameters up to floating-point rounding (the order of the
 ** sums differs). Buffer layout (K components, D dimensions):
 **
 **   [0, K)                s0: sum of the kept posteriors q_ik >= 1e-2/K
 **   [K, 2K)               s0all: sum of all posteriors
 **   [2K, 2K+KD)           s1: sum of kept q_ik (x_i - ref_k), row-major K x D
 **   [2K+KD, 2K+2KD)       s2: sum of kept q_ik (x_i - ref_k)^2
 **   2K+2KD                the summed log-likelihood
 **   2K+2KD+1              the number of points
 **
 ** where ref are reference means (normally the means of the E-step). The
 ** restart of nearly empty modes (see gmm.c) is reproduced with "splits":
 ** 4 doubles (empty mode, split mode, dimension, threshold) that edit the
 ** posteriors of the E-step; ::vl_gmm_plan_restart finds them.
 ** @{ */
VL_EXPORT vl_size vl_gmm_stats_size(VlGMM const *self);
/** @brief Add the statistics of @p numData points (N x D) to @p stats.
 ** The E-step uses @p self's parameters (covariances raised to the bounds);
 ** moments are taken around @p ref (K x D of the data type; NULL: @p self's
 ** means); @p splits (numSplits x 4 doubles, may be NULL) edit the posteriors
 ** first. @return 0 or an error code. */
VL_EXPORT int vl_gmm_stats_accumulate(VlGMM const *self, double *stats, void const *data,
                                      vl_size numData, void const *ref, double const *splits,
                                      vl_size numSplits);
/** @brief @p dst += @p src (both ::vl_gmm_stats_size doubles). */
VL_EXPORT int vl_gmm_stats_merge(VlGMM const *self, double *dst, double const *src);
/** @brief The M-step: @p self's parameters from @p stats accumulated around
 ** @p ref (NULL: @p self's current means), with the lower bounds, thresholds
 ** and empty-component rule of ::vl_gmm_em. @return 0 or an error code. */
VL_EXPORT int vl_gmm_mstep_from_stats(VlGMM *self, double const *stats, void const *ref);
/** @brief EM's restart rule: the first component i >= @p start whose mass
 ** (@p mass, K doubles: the s0all of the E-step's statistics over @p numData
 ** points) is below 1e-2 max(1, N/K) and for which a component to split
 ** exists under @p self's current parameters. Fills @p split (4 doubles).
 ** @return i + 1, or 0 if there is none. */
VL_EXPORT vl_size vl_gmm_plan_restart(VlGMM const *self, double const *mass, vl_size numData,
                                      vl_size start, double *split);
/** @} */

/** @name Stateless E-step
 ** Writes N x K posteriors and returns the summed log-likelihood (NaN on error).
 ** Note VLFeat's argument order: numClusters before numData, dimension
 ** between means and covariances.
 ** @{ */
VL_EXPORT double vl_get_gmm_data_posteriors_f(float *posteriors, vl_size numClusters,
                                              vl_size numData, float const *priors,
                                              float const *means, vl_size dimension,
                                              float const *covariances, float const *data);
VL_EXPORT double vl_get_gmm_data_posteriors_d(double *posteriors, vl_size numClusters,
                                              vl_size numData, double const *priors,
                                              double const *means, vl_size dimension,
                                              double const *covariances, double const *data);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_GMM_H */
