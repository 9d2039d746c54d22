/* pass.h: one pass over the data computing EM's sufficient statistics.
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
 * Determinism: the points are cut into slabs (core/sched.h) that depend only
 * on N, K and D; each slab is processed in point order by one thread and the
 * slab statistics are added in slab order. Within a block, moments are
 * accumulated in the data type and flushed to double per block.
 */
#ifndef GMM_CORE_PASS_H
#define GMM_CORE_PASS_H

#include "core/estep.h"

typedef struct gmm_stats {
  size_t K, D;
  int cov;            /* VlGMMCovarianceType: the layout of s2 */
  size_t n2;          /* doubles in s2 */
  double *s0, *s0all; /* K */
  double *s1;         /* K x D */
  double *s2;         /* diagonal, spherical: K x D; full: K x D x D; tied: D x D (vl/libgmm/gmm.h) */
  double ll;          /* summed log-likelihood (E-step passes) */
  double nsparse;     /* posteriors below 1e-2 (for the verbose sparsity report) */
  double nkept;       /* (point, component) pairs kept */
  double n;           /* points seen */
} gmm_stats;

/* The restart of a nearly empty mode as an edit of the posteriors: for
 * every point, with s = q_empty + q_split, the whole of s goes to `empty` if
 * x[dim] < tau, else to `split`. Passes replay such edits on recomputed
 * posteriors, so restarts need no stored N x K matrix. */
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

/* Doubles of the second moments of a covariance type (*n2); nonzero (and
 * VL_ERR_OVERFLOW set) if that overflows. */
GMM_HIDDEN int gmm_stats_s2_size(int cov, size_t K, size_t D, size_t *n2);
/* Statistics of the diagonal type, or of any type (gmm_stats_alloc_cov). */
GMM_HIDDEN int gmm_stats_alloc(gmm_stats *st, size_t K, size_t D);
GMM_HIDDEN int gmm_stats_alloc_cov(gmm_stats *st, int cov, size_t K, size_t D);
/* gmm_stats_alloc without zeroing: the sums are undefined until
 * gmm_stats_zero or gmm_stats_sum sets them. */
GMM_HIDDEN int gmm_stats_alloc_unset(gmm_stats *st, size_t K, size_t D);
GMM_HIDDEN void gmm_stats_free(gmm_stats *st);
GMM_HIDDEN void gmm_stats_zero(gmm_stats *st);
/* Bytes of one statistics set (the slab size for gmm_slab_count). */
GMM_HIDDEN size_t gmm_stats_bytes(size_t K, size_t D);
/* Nonzero if every sum (s0, s0all, s1, s2) is finite. */
GMM_HIDDEN int gmm_stats_finite(gmm_stats const *st);
/* dst += src, element by element. */
GMM_HIDDEN void gmm_stats_add(gmm_stats *dst, gmm_stats const *src);
/* out = the sum of slabs[0..ns) taken in order, element by element from 0
 * (the bits of gmm_stats_zero(out), then gmm_stats_add of each slab), the
 * elements split over `nthreads` threads; gmm_stats_finite(out). */
GMM_HIDDEN int gmm_stats_sum(gmm_stats *out, gmm_stats const *slabs, size_t ns, int nthreads);

typedef struct gmm_pass {
  vl_type type;
  size_t K, D, N;
  int nw;            /* workers */
  size_t nslabs;
  gmm_stats *slab;   /* nslabs */
  gmm_ework *ws;     /* nw, if E-step passes are used */
  void **acc;        /* nw per-worker block accumulators */
} gmm_pass;

/* Prepare passes over N points of K components in D dimensions: with
 * span_workers = 0, for gmm_pass_run (in parallel over the slabs); else for
 * gmm_pass_span called from a loop of that many workers. With `ep`
 * non-NULL, E-step workspaces are allocated too. */
GMM_HIDDEN int gmm_pass_init(gmm_pass *p, vl_type type, size_t K, size_t D, size_t N,
                             gmm_eparams const *ep, int span_workers);
GMM_HIDDEN void gmm_pass_free(gmm_pass *p);

#define GMM_TEMPLATE "core/pass.th"
#include "util/instantiate.h"

#endif /* GMM_CORE_PASS_H */
