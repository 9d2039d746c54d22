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
 ** double, as in VLFeat. libgmm's extensions (iteration callback, E-step
 ** outputs, EM by sufficient statistics) are in vl/libgmm/gmm.h. Differences from VLFeat are listed in
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
