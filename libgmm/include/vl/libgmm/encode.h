/** @file libgmm/encode.h
 ** @brief libgmm extensions: batch encoding and bag of visual words
 ** (include it through <vl/libgmm.h>).
 **
 ** Batch functions encode many images in one call: the descriptor sets are
 ** concatenated in @p data (row-major, offsets[numImages] rows in total) and
 ** image j owns rows offsets[j] .. offsets[j+1]-1 (offsets has numImages+1
 ** non-decreasing entries, offsets[0] = 0). Output row j (of the per-image
 ** encoding size) is what the single-image function gives for image j, bit
 ** for bit; images are spread over the threads. An image with no descriptors
 ** encodes to zeros.
 **
 ** Functions return 0 (VL_ERR_OK) or an error code, with the message in
 ** ::vl_get_last_error_message. Flags not listed are rejected. The offsets
 ** are copied once on entry (a caller changing them during the call gets an
 ** error or the result of the values read, never an out-of-bounds read).
 ** An encoding that is not representable in the data type (descriptors too
 ** far from the centers or the model) is VL_ERR_OVERFLOW, naming the first
 ** such image; the contents of @p enc are then unspecified.
 **/
#ifndef VL_LIBGMM_ENCODE_H
#define VL_LIBGMM_ENCODE_H

#include "../fisher.h"
#include "../vlad.h"
#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Fisher vectors (see fisher.h for the encoding and the flags)
 ** @{ */
/** @param enc numImages x (2*numClusters*dimension) elements.
 ** @param numTerms NULL, or numImages counts (vl_fisher_encode's return value per image). */
VL_EXPORT int vl_fisher_encode_batch(void *enc, vl_type dataType, void const *means,
                                     vl_size dimension, vl_size numClusters,
                                     void const *covariances, void const *priors,
                                     void const *data, vl_size const *offsets,
                                     vl_size numImages, int flags, vl_size *numTerms);
/** @} */

/** @name VLAD (see vlad.h for the encoding and the flags)
 ** @{ */
/** @param assignments N_total x numClusters weights of @p dataType, or NULL for
 ** hard assignment of each descriptor to its nearest center (squared L2,
 ** first minimum wins).
 ** @param enc numImages x (numClusters*dimension) elements. */
VL_EXPORT int vl_vlad_encode_batch(void *enc, vl_type dataType, void const *means,
                                   vl_size dimension, vl_size numClusters, void const *data,
                                   vl_size const *offsets, vl_size numImages,
                                   void const *assignments, int flags);
/** @} */

/** @name Bag of visual words
 ** A histogram of numClusters bins per image. Hard (default): each
 ** descriptor votes 1 for its nearest center (squared L2, first minimum
 ** wins). ::VL_BOVW_FLAG_SOFT: kernel codebook, each descriptor spreads one
 ** vote over the centers with weights proportional to
 ** exp(-||x - c_k||^2 / (2 sigma^2)). The GMM variant uses the GMM's
 ** posteriors as the votes (soft) or their argmax (hard).
 ** Then, in this order: ::VL_BOVW_FLAG_FREQUENCIES divides by the number of
 ** descriptors, ::VL_BOVW_FLAG_SQUARE_ROOT takes square roots,
 ** ::VL_BOVW_FLAG_NORMALIZED divides by the L2 norm.
 ** @{ */
#define VL_BOVW_FLAG_SOFT (0x1 << 0)
#define VL_BOVW_FLAG_FREQUENCIES (0x1 << 1)
#define VL_BOVW_FLAG_SQUARE_ROOT (0x1 << 2)
#define VL_BOVW_FLAG_NORMALIZED (0x1 << 3)

/** @param centers numClusters x dimension. @param sigma > 0, used with ::VL_BOVW_FLAG_SOFT.
 ** @param enc numClusters elements of @p dataType. */
VL_EXPORT int vl_bovw_encode(void *enc, vl_type dataType, void const *centers, vl_size dimension,
                             vl_size numClusters, void const *data, vl_size numData,
                             double sigma, int flags);
VL_EXPORT int vl_bovw_encode_batch(void *enc, vl_type dataType, void const *centers,
                                   vl_size dimension, vl_size numClusters, void const *data,
                                   vl_size const *offsets, vl_size numImages, double sigma,
                                   int flags);
/** Votes from the GMM's posteriors (soft) or their argmax (hard). */
VL_EXPORT int vl_bovw_encode_gmm_batch(void *enc, vl_type dataType, void const *means,
                                       vl_size dimension, vl_size numClusters,
                                       void const *covariances, void const *priors,
                                       void const *data, vl_size const *offsets,
                                       vl_size numImages, int flags);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_ENCODE_H */
