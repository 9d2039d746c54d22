/** @file libgmm/gmm.h
 ** @brief libgmm extensions to the GMM: iteration callback, options, E-step outputs, EM by sufficient statistics.
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
 ** restart of nearly empty modes (see docs/c-api.md) is reproduced with "splits":
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

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_GMM_H */
