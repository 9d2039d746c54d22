/** @file libgmm/base.h
 ** @brief libgmm extensions: error codes, iteration callback, log hook.
 **
 ** libgmm's own API (not in VLFeat); include it through <vl/libgmm.h>.
 **/
#ifndef VL_LIBGMM_BASE_H
#define VL_LIBGMM_BASE_H

#include "../generic.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Error codes of libgmm (VLFeat's are in vl/generic.h)
 ** @{ */
#define VL_ERR_BAD_STATE 16  /**< the object is not ready for this call (e.g. no centers) */
#define VL_ERR_INTERRUPTED 17 /**< an iteration callback asked to stop (results are valid) */
/** @} */

/** @name Iteration callback (EM and k-means)
 ** @{ */
/** @brief Called once per iteration of EM or k-means with the iteration
 ** number (from 0) and the log-likelihood (EM) or energy (k-means) of the
 ** current parameters. A non-zero return stops training: the object keeps
 ** valid parameters (those the value was computed for) and the training call
 ** sets the last error to ::VL_ERR_INTERRUPTED. EM also accepts
 ** ::VL_ITERATION_FINISH: run this iteration's M-step, then return normally
 ** (no further E-step, no error): scikit-learn's loop, which tests
 ** convergence after the M-step and ends with one. */
typedef int (*vl_iteration_callback)(void *user, vl_size iteration, double value);
/** Return value of an EM iteration callback: finish with this iteration's M-step. */
#define VL_ITERATION_FINISH 2
/** @} */

/** @name Log hook
 ** When set, verbose messages (one line each, without the trailing newline)
 ** go to @p func instead of the printf hook. NULL restores the printf hook.
 ** @{ */
typedef void (*vl_log_func_t)(void *user, char const *message);
VL_EXPORT void vl_set_log_func(vl_log_func_t func, void *user);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_BASE_H */
