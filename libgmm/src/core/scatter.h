/* scatter.h: the statistics passes of the full and tied covariance types
 * (the diagonal and spherical types use pass.h).
 *
 * A pass gives the gmm_stats of pass.h, with second moments per type:
 *   full: S_k = sum_i q_ik (x_i - ref_k)(x_i - ref_k)^T      (K x D x D)
 *   tied: P   = sum_k S_k                                      (D x D)
 * with every posterior kept (these types only have the exact EM).
 *
 * Full: S_k is a sum of rank-n updates W^T W (the `scatter` kernel) with
 * rows w_i = sqrt(q_ik) (x_i - ref_k). The data is walked in chunks of
 * GMM_SCATTER_BLOCKS blocks; per chunk, the E-step of its blocks runs in
 * parallel over the blocks (posteriors kept for the chunk), then the
 * statistics of each component in parallel over the components: each
 * component gathers its rows with q_ik > 0, in point order, GMM_BLOCK at a
 * time (a long update even when the posteriors are sparse). So every sum
 * runs in the same order for any number of threads, and the accumulators
 * are one set of statistics, whatever K and D (slabs would need one each).
 *
 * Tied: with z = x - shift and r_k = ref_k - shift,
 *   P = sum_k sum_i q_ik (z_i - r_k)(z_i - r_k)^T
 *     = sum_i w_i z_i z_i^T - sum_k (s1_k r_k^T + r_k s1_k^T + s0_k r_k r_k^T)
 * with w_i = sum_k q_ik (1 up to rounding). So P costs one rank-n update
 * per block (in double: the two terms cancel where the components are far
 * apart compared to their spread) and a K-term once per pass, instead of
 * an update per component. Blocks run in parallel; their results are
 * added in block order.
 *
 * Within a scatter update and a block, s1 is summed in the data type and
 * then added in double, as in pass.h.
 *
 * Posteriors come from the E-step (`ep`), from a stored N x K matrix, or
 * from hard labels (one-hot rows, for the initialisation from labels).
 * Posteriors that are exactly 0 are skipped (they add exactly nothing).
 */
#ifndef GMM_CORE_SCATTER_H
#define GMM_CORE_SCATTER_H

#include "core/pass.h"

/* Blocks per chunk (a constant: results must not depend on the machine). */
#define GMM_SCATTER_BLOCKS 32

typedef struct gmm_spass {
  vl_type type;
  int cov;
  size_t K, D, N, dp; /* dp = gmm_kpad(D): the stride of the scatter rows */
  int nw;
  gmm_ework *ws;      /* nw E-step workspaces (with ep) */
  void *q;            /* a chunk's posteriors, GMM_SCATTER_BLOCKS * GMM_BLOCK x K */
  void *qt;           /* full: the same transposed, K x GMM_SCATTER_BLOCKS * GMM_BLOCK */
  double *block_ll;   /* GMM_SCATTER_BLOCKS */
  void **wbuf;        /* nw scratch buffers (the scatter rows) */
  double *tied;       /* tied: GMM_SCATTER_BLOCKS block results (D x D, K, K x D) */
  double *rref;       /* tied: K x D, ref - shift */
  size_t wstride;     /* bytes of one wbuf */
} gmm_spass;

/* Prepare passes over N points for the parameters `ep` (a full or tied
 * type; its E-step workspaces are made only if `estep`). */
GMM_HIDDEN int gmm_spass_init(gmm_spass *p, gmm_eparams const *ep, size_t N, int estep);
GMM_HIDDEN void gmm_spass_free(gmm_spass *p);

#define GMM_TEMPLATE "core/scatter.th"
#include "util/instantiate.h"

#endif /* GMM_CORE_SCATTER_H */
