/* vlad.h: VLAD encoding, one image or a batch (hidden core of vl_vlad_encode*).
 *
 * Per image and component k, in double: mass_k = sum of the weights a_ik > 0
 * and S_k = sum of a_ik x_i; then v_k = S_k - mass_k mu_k (or S_k / mass_k -
 * mu_k with NORMALIZE_MASS; zeros if mass_k = 0), signed square root,
 * per-component L2, global L2 (unless UNNORMALIZED), rounded once to the
 * data type. Without explicit weights (batch only) each descriptor goes to
 * its nearest center.
 *
 * Determinism: the rows of an image are split into slabs whose number and
 * boundaries depend only on the image size (and K, D); each slab is summed
 * in row order and the slab sums are added in slab order. One image runs its
 * slabs in parallel; a batch runs one image per thread with the same slabs
 * one after the other, so batch and single results are identical bit for
 * bit, whatever the number of threads. */
#ifndef GMM_CORE_VLAD_H
#define GMM_CORE_VLAD_H

#include "core/sched.h"
#include "simd/kernels.h"
#include "vl/vlad.h"

#define VLAD_ALL_FLAGS                                                                   \
  (VL_VLAD_FLAG_NORMALIZE_COMPONENTS | VL_VLAD_FLAG_SQUARE_ROOT |                        \
   VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_NORMALIZE_MASS)
#define VLAD_MIN_NORM 1e-12

/* Sets VL_ERR_OVERFLOW: the encoding of `image` is not representable. */
GMM_HIDDEN int gmm_vlad_overflow(char const *fn, size_t image);

#define GMM_TEMPLATE "core/vlad.th"
#include "util/instantiate.h"

#endif /* GMM_CORE_VLAD_H */
