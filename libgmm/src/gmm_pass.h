/* gmm_pass.h: one pass over the data computing EM's sufficient statistics.
 *
 * A pass takes, block by block, the posteriors of the points (from the
 * E-step, or from a stored N x K posterior matrix) and accumulates, per
 * component k and around reference means ref_k:
 *   s0_k    = sum of q_ik over the kept posteriors (q_ik >= threshold)
 *   s0all_k = sum of q_ik over all posteriors
 *   s1_k    = sum of kept q_ik (x_i - ref_k)
 *   s2_k    = sum of kept q_ik (x_i - ref_k)^2   (element-wise)
 * plus the summed log-likelihood. The M-step is a function of these alone,
 * which is what makes chunked and distributed EM give in-memory results.
 *
 * Determinism: the points are split into a number of slabs that depends only
 * on N, K and D; each slab is processed in point order by one thread and the
 * slab statistics are added in slab order. Within a block, moments are
 * accumulated in the data type and flushed to double per block.
 */
#ifndef GMM_PASS_H
#define GMM_PASS_H

#include "estep.h"

typedef struct gmm_stats {
  size_t K, D;
  double *s0, *s0all; /* K */
  double *s1, *s2;    /* K x D */
  double ll;          /* summed log-likelihood (E-step passes) */
  double nsparse;     /* posteriors below 1e-2 (for the verbose sparsity report) */
  double nkept;       /* (point, component) pairs kept */
  double n;           /* points seen */
} gmm_stats;

/* The restart of a nearly empty mode (spec 2.7) as an edit of the
 * posteriors: for every point, with s = q_empty + q_split, the whole of s
 * goes to `empty` if x[dim] < tau, else to `split`. Passes replay such edits
 * on recomputed posteriors, so restarts need no stored N x K matrix. */
typedef struct gmm_split {
  size_t empty, split, dim;
  double tau;
} gmm_split;

/* How a pass turns posteriors into statistics. */
typedef struct gmm_pass_opts {
  double threshold;        /* keep posteriors q >= threshold */
  int hard;                /* replace each point's posteriors by a one-hot argmax (first max wins) */
  int count_sparse;        /* count posteriors below 1e-2 into nsparse */
  gmm_split const *splits; /* edits applied, in order, to E-step posteriors (not to stored ones) */
  size_t nsplits;
} gmm_pass_opts;

GMM_HIDDEN int gmm_stats_alloc(gmm_stats *st, size_t K, size_t D);
GMM_HIDDEN void gmm_stats_free(gmm_stats *st);
GMM_HIDDEN void gmm_stats_zero(gmm_stats *st);
/* Nonzero if every sum (s0, s0all, s1, s2) is finite. */
GMM_HIDDEN int gmm_stats_finite(gmm_stats const *st);
/* dst += src, element by element. */
GMM_HIDDEN void gmm_stats_add(gmm_stats *dst, gmm_stats const *src);

typedef struct gmm_pass {
  vl_type type;
  size_t K, D, N;
  int nt;
  size_t nslabs;
  gmm_stats *slab;   /* nslabs */
  gmm_ework *ws;     /* nt, if E-step passes are used */
  void **acc;        /* nt per-thread block accumulators */
} gmm_pass;

/* Prepare passes over N points of K components in D dimensions. With
 * `ep` non-NULL, E-step workspaces are allocated too. */
GMM_HIDDEN int gmm_pass_init(gmm_pass *p, vl_type type, size_t K, size_t D, size_t N,
                             gmm_eparams const *ep);
GMM_HIDDEN void gmm_pass_free(gmm_pass *p);

/* Run one pass over data (N x D), in parallel over slabs. With `ep`,
 * posteriors come from the E-step (and are stored in `post`, N x K, if
 * post != NULL); without, they are read from `post`. Moments around `ref`
 * (K x D). Writes the totals to *out (allocated for K x D). */
GMM_HIDDEN void gmm_pass_run(gmm_pass *p, gmm_eparams const *ep, void const *data, void *post,
                             void const *ref, gmm_pass_opts const *opts, gmm_stats *out);

/* gmm_pass_run's result for rows [r0, r1) computed by one thread `tid` (call
 * it from inside a parallel region, one thread per call), bit for bit: the
 * rows are split into the slabs gmm_pass_run would use for r1 - r0 points
 * and their sums are added in the same order. `tmp` is scratch statistics.
 * Used by batch encoders, one image per call. Writes (not adds) *out. */
GMM_HIDDEN void gmm_pass_span(gmm_pass const *p, int tid, gmm_eparams const *ep,
                              void const *data, void const *ref, gmm_pass_opts const *opts,
                              size_t r0, size_t r1, gmm_stats *tmp, gmm_stats *out);

/* The same over rows [r0, r1) of data, sequentially, with thread `tid`'s
 * workspaces (call it from inside a parallel region, one thread per call);
 * adds into *st. Used by batch encoders (one image per call). */
GMM_HIDDEN void gmm_pass_rows(gmm_pass const *p, int tid, gmm_eparams const *ep,
                              void const *data, void *post, void const *ref,
                              gmm_pass_opts const *opts, size_t r0, size_t r1, gmm_stats *st);

#endif /* GMM_PASS_H */
