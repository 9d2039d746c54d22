/** @file vlad.h
 ** @brief VLAD encoding (VLFeat-compatible API).
 **
 ** The encoding of N descriptors (N x D) with K centers (K x D) and
 ** non-negative assignment weights (N x K, same type; hard assignments are
 ** one-hot rows; entries <= 0 or NaN are ignored) has K*D elements,
 ** v_k = sum_i a_ik (x_i - mu_k) (or, with NORMALIZE_MASS, divided by the
 ** mass sum_i a_ik), then optionally a signed square root, a per-component L2
 ** normalisation and, unless UNNORMALIZED, a global L2 normalisation.
 ** A component with zero mass encodes to zeros; so does an empty set (N = 0).
 **/
#ifndef VL_VLAD_H
#define VL_VLAD_H

#include "generic.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VL_VLAD_FLAG_NORMALIZE_COMPONENTS (0x1 << 0)
#define VL_VLAD_FLAG_SQUARE_ROOT (0x1 << 1)
#define VL_VLAD_FLAG_UNNORMALIZED (0x1 << 2)
#define VL_VLAD_FLAG_NORMALIZE_MASS (0x1 << 3)

/** @brief VLAD of one descriptor set.
 ** @param enc output, numClusters*dimension elements of @p dataType.
 ** On bad arguments the last error is set and @p enc is left unchanged; so
 ** it is with VL_ERR_OVERFLOW, when the encoding is not representable in the
 ** data type (sums beyond the double range, or unnormalised values beyond the
 ** type's). */
VL_EXPORT void vl_vlad_encode(void *enc, vl_type dataType, void const *means, vl_size dimension,
                              vl_size numClusters, void const *data, vl_size numData,
                              void const *assignments, int flags);

#ifdef __cplusplus
}
#endif

#endif /* VL_VLAD_H */
