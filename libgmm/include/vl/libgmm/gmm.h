/** @file libgmm/gmm.h
 ** @brief libgmm extensions to the GMM: covariance types, iteration callback, options, E-step outputs, EM by sufficient statistics.
 **
 ** libgmm's own API (not in VLFeat); include it through <vl/libgmm.h>.
 **/
#ifndef VL_LIBGMM_GMM_H
#define VL_LIBGMM_GMM_H

#include "../gmm.h"
#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Covariance types and scikit-learn's EM
 ** A VlGMM has diagonal covariances (VLFeat's model, the default) unless
 ** another type is chosen before training. The covariances, as set and got
 ** by ::vl_gmm_set_covariances and ::vl_gmm_get_covariances, are in the
 ** type's layout (row-major, of the data type):
 **
 **   ::VlGMMDiagonal    K x D      the variances (VLFeat's layout)
 **   ::VlGMMFull        K x D x D  one symmetric positive definite matrix per component
 **   ::VlGMMTied        D x D      one matrix shared by every component
 **   ::VlGMMSpherical   K          one variance per component (every dimension)
 **
 ** The covariance lower bounds (::vl_gmm_set_covariance_lower_bounds) apply
 ** to every type: the diagonal entries of every covariance are raised to
 ** them (a spherical variance to the largest bound). ::vl_gmm_set_reg_covar
 ** adds scikit-learn's `reg_covar` to the diagonals after every M-step.
 **
 ** EM comes in two variants. VLFeat's (the default, diagonal type only)
 ** keeps posteriors >= 1e-2/K in the M-step, skips components with priors
 ** below 1e-6 in the E-step and restarts nearly empty components. The exact
 ** variant (::vl_gmm_set_exact_em; the only one of the other types) is
 ** scikit-learn's EM: every posterior counts, nothing is restarted, the
 ** masses are N_k = sum_i q_ik + 10 eps (eps of the data type), the priors
 ** N_k / sum_j N_j. Its M-step fails with ::VL_ERR_BAD_ARG, naming the
 ** component and leaving the parameters and the log-likelihood of the
 ** E-step before it, when a covariance is not positive definite (scikit-
 ** learn's "ill-defined empirical covariance": a component collapsed on a
 ** point or a subspace, with no `reg_covar` or lower bound to keep it
 ** regular); ::vl_gmm_em then returns NaN.
 ** @{ */
/** @brief Covariance types. */
typedef enum VlGMMCovarianceType_ {
  VlGMMDiagonal = 0,  /**< K x D variances (VLFeat) */
  VlGMMFull = 1,      /**< K x D x D matrices */
  VlGMMTied = 2,      /**< one D x D matrix */
  VlGMMSpherical = 3  /**< K variances */
} VlGMMCovarianceType;

/** @brief Choose the covariance type. The parameters (means, covariances,
 ** priors), the posteriors and the log-likelihood are reset to zero: set or
 ** initialise them afterwards. An unknown type is ::VL_ERR_BAD_ARG, a
 ** covariance array too large for memory ::VL_ERR_OVERFLOW or
 ** ::VL_ERR_ALLOC; the object is then unchanged. */
VL_EXPORT void vl_gmm_set_covariance_type(VlGMM *self, VlGMMCovarianceType type);
VL_EXPORT VlGMMCovarianceType vl_gmm_get_covariance_type(VlGMM const *self);
/** @return the number of elements of the covariances in the type's layout
 ** (K*D, K*D*D, D*D or K). */
VL_EXPORT vl_size vl_gmm_get_covariances_size(VlGMM const *self);
/** @brief scikit-learn's `reg_covar`: a value >= 0 added to the diagonal of
 ** every covariance after every M-step (including the M-step of the k-means
 ** initialisation), before the lower bounds. Default 0. */
VL_EXPORT void vl_gmm_set_reg_covar(VlGMM *self, double regCovar);
VL_EXPORT double vl_gmm_get_reg_covar(VlGMM const *self);
/** @brief Use the exact EM variant (see above) for the diagonal type, or
 ** VLFeat's (the default). The other types are always exact: turning it off
 ** for them is ::VL_ERR_BAD_ARG. */
VL_EXPORT void vl_gmm_set_exact_em(VlGMM *self, vl_bool exact);
/** @return whether EM is the exact variant (always for the non-diagonal types). */
VL_EXPORT vl_bool vl_gmm_get_exact_em(VlGMM const *self);
/** @brief Initialise from a hard assignment of the N x D points: one
 ** M-step on one-hot posteriors (@p labels, N values < K), as
 ** scikit-learn's initialisation from k-means labels. The posteriors, if
 ** kept, are the one-hot matrix. A label >= K is ::VL_ERR_BAD_ARG (the
 ** object is then unchanged); an exact M-step may fail as above. */
VL_EXPORT void vl_gmm_init_with_labels(VlGMM *self, void const *data, vl_size numData,
                                       vl_uint32 const *labels);
/** @} */

/** @name Training options and the E-step
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

/** @name EM by sufficient statistics
 ** EM over data that is not in one array (chunks, files, a cluster): every
 ** chunk's E-step statistics are accumulated into a buffer of
 ** ::vl_gmm_stats_size doubles, buffers are added together, and one M-step
 ** runs from the sum. With the same initialisation and data this gives
 ** ::vl_gmm_em's parameters up to floating-point rounding (the order of the
 ** sums differs). Buffer layout (K components, D dimensions, S the size of
 ** the second moments):
 **
 **   [0, K)                s0: sum of the kept posteriors q_ik >= 1e-2/K (exact EM: all)
 **   [K, 2K)               s0all: sum of all posteriors
 **   [2K, 2K+KD)           s1: sum of kept q_ik (x_i - ref_k), row-major K x D
 **   [2K+KD, 2K+KD+S)      s2: second moments, by covariance type:
 **                           diagonal, spherical (S = KD): sum of kept q_ik (x_i - ref_k)^2, K x D
 **                           full (S = KDD): sum of q_ik (x_i - ref_k)(x_i - ref_k)^T, K x D x D
 **                           tied (S = DD): the sum of the full type's matrices over k, D x D
 **   2K+KD+S               the summed log-likelihood
 **   2K+KD+S+1             the number of points
 **
 ** where ref are reference means (normally the means of the E-step). The
 ** restart of nearly empty modes (see docs/c-api.md; VLFeat's variant only)
 ** is reproduced with "splits": 4 doubles (empty mode, split mode,
 ** dimension, threshold) that edit the posteriors of the E-step;
 ** ::vl_gmm_plan_restart finds them.
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
 ** and empty-component rule of ::vl_gmm_em. @return 0 or an error code
 ** (the exact variant's ::VL_ERR_BAD_ARG for a covariance that is not
 ** positive definite, the object unchanged). */
VL_EXPORT int vl_gmm_mstep_from_stats(VlGMM *self, double const *stats, void const *ref);
/** @brief EM's restart rule: the first component i >= @p start whose mass
 ** (@p mass, K doubles: the s0all of the E-step's statistics over @p numData
 ** points) is below 1e-2 max(1, N/K) and for which a component to split
 ** exists under @p self's current parameters. Fills @p split (4 doubles).
 ** @return i + 1, or 0 if there is none (always with the exact variant,
 ** which restarts nothing). */
VL_EXPORT vl_size vl_gmm_plan_restart(VlGMM const *self, double const *mass, vl_size numData,
                                      vl_size start, double *split);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_GMM_H */
