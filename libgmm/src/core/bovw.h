/* bovw.h: bag of visual words histograms, one image or a batch (hidden core
 * of vl_bovw_encode*).
 *
 * Each descriptor casts one vote, spread over the K bins:
 *  - codebook, hard: all of it to the nearest center (squared L2 from the
 *    SIMD distance kernel, first minimum wins);
 *  - codebook, SOFT (kernel codebook): w_k = exp(-(d_k - d_min) / (2 sigma^2)),
 *    normalised to sum 1 (subtracting the smallest distance first keeps the
 *    largest weight at exactly 1, so nothing underflows to 0/0);
 *  - GMM, SOFT: the posteriors of the shared E-step; GMM, hard: all of it to
 *    the most likely component (first maximum wins).
 * Votes are summed in double; then FREQUENCIES (divide by the number of
 * descriptors), SQUARE_ROOT, NORMALIZED (divide by max(L2 norm, 1e-12)), and
 * one rounding to the data type. An image without descriptors gives zeros.
 *
 * Determinism: as in vlad.c, the rows of an image are cut into slabs that
 * depend only on the image size; slab sums are added in slab order, so one
 * image (slabs in parallel) and a batch (one image per thread) agree bit for
 * bit whatever the thread count. */
#ifndef GMM_CORE_BOVW_H
#define GMM_CORE_BOVW_H

#include "core/estep.h"
#include "vl/libgmm.h"

#define BOVW_ALL_FLAGS                                                                   \
  (VL_BOVW_FLAG_SOFT | VL_BOVW_FLAG_FREQUENCIES | VL_BOVW_FLAG_SQUARE_ROOT |             \
   VL_BOVW_FLAG_NORMALIZED)
#define BOVW_MIN_NORM 1e-12

/* Per-worker scratch. */
typedef struct gmm_bovw_ws {
  void *tile;    /* codebook: GMM_BLOCK x kp distances */
  gmm_ework ew;  /* GMM: E-step workspace (its tile receives the posteriors) */
  double *row;   /* K */
  double *total; /* K (batch) */
  double *acc;   /* K (batch) */
} gmm_bovw_ws;

GMM_HIDDEN gmm_bovw_ws *gmm_bovw_ws_alloc(size_t K, size_t kp, size_t elem,
                                          gmm_eparams const *ep, int n);
GMM_HIDDEN void gmm_bovw_ws_free(gmm_bovw_ws *ws, int n);
/* Adds the votes of one descriptor to h: w holds its K posteriors (gmm) or
 * its K squared distances (codebook; overwritten), `scale` = 1/(2 sigma^2)
 * times the factor the distances are to be multiplied by. */
GMM_HIDDEN void gmm_bovw_vote(double *w, size_t K, int gmm, int flags, double scale, double *h);
/* FREQUENCIES (n descriptors), SQUARE_ROOT, NORMALIZED, in this order. */
GMM_HIDDEN void gmm_bovw_normalize(double *h, size_t K, size_t n, int flags);
/* Sets VL_ERR_OVERFLOW: the votes of `image` are not computable. */
GMM_HIDDEN int gmm_bovw_overflow(char const *fn, size_t image);

#define GMM_TEMPLATE "core/bovw.th"
#include "util/instantiate.h"

#endif /* GMM_CORE_BOVW_H */
