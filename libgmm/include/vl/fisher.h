/** @file fisher.h
 ** @brief Fisher vector encoding (VLFeat-compatible API).
 **
 ** The encoding of N descriptors (N x D, row-major) under a GMM with K
 ** components (means and diagonal covariances K x D, priors K) has 2*K*D
 ** elements: first the K mean blocks u_0..u_{K-1}, then the K covariance
 ** blocks v_0..v_{K-1}, each of length D:
 **
 **   u_k = 1/(N sqrt(pi_k))  sum_i q_ik (x_i - mu_k)/sigma_k
 **   v_k = 1/(N sqrt(2 pi_k)) sum_i q_ik ((x_i - mu_k)^2/sigma_k^2 - 1)
 **
 ** with q the GMM posteriors (components with pi_k < 1e-6 are skipped and
 ** encode to zeros; posteriors below 1e-6 are ignored). Flags: signed square
 ** root, then L2 normalisation; FAST replaces the posteriors by a hard
 ** assignment to the most likely component.
 **
 ** An empty descriptor set (N = 0) encodes to all zeros, whatever the flags.
 ** The encoding is computed in double and rounded once to the data type.
 **/
#ifndef VL_FISHER_H
#define VL_FISHER_H

#include "generic.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VL_FISHER_FLAG_SQUARE_ROOT (0x1 << 0)
#define VL_FISHER_FLAG_NORMALIZED (0x1 << 1)
#define VL_FISHER_FLAG_IMPROVED (VL_FISHER_FLAG_NORMALIZED | VL_FISHER_FLAG_SQUARE_ROOT)
#define VL_FISHER_FLAG_FAST (0x1 << 2)

/** @brief Fisher vector of one descriptor set.
 ** @param enc output, 2*numClusters*dimension elements of @p dataType (overwritten).
 ** @return the number of (point, component) pairs accumulated, or 0 with the
 ** last error set on bad arguments (NULL, zero sizes, unknown flags,
 ** non-finite values, non-positive covariances, negative priors), or with
 ** VL_ERR_OVERFLOW when the vector is not representable in the data type
 ** (unnormalised values beyond its range, or double data whose squared
 ** distances to the model exceed 1e308); @p enc is then unchanged. */
VL_EXPORT vl_size vl_fisher_encode(void *enc, vl_type dataType, void const *means,
                                   vl_size dimension, vl_size numClusters,
                                   void const *covariances, void const *priors,
                                   void const *data, vl_size numData, int flags);

#ifdef __cplusplus
}
#endif

#endif /* VL_FISHER_H */
