/* estep.h: the one E-step of libgmm, shared by EM, the stateless posterior
 * function, the encoders and the sufficient-statistics path.
 *
 * For a GMM with priors pi, means mu and diagonal variances s2, the
 * log-joint of point x and component k is
 *   l_k = log pi_k - D/2 log(2 pi) - 1/2 sum_d log s2_kd
 *         - 1/2 sum_d ((x_d - mu_kd) / sigma_kd)^2
 * (minus infinity when pi_k < 1e-6, as in VLFeat), the posteriors are
 * q_k = exp(l_k - max l) / sum_j exp(l_j - max l), and the point's
 * log-likelihood is log sum_j exp(l_j - max l) + max l.
 *
 * The Mahalanobis term is computed by the SIMD `wdist` kernel as
 * sum_d (x'_d s_kd - m_kd)^2 with x' = x - shift, s = 1/sigma and
 * m = (mu - shift)/sigma: two FMAs per (point, component, dimension), like
 * a matrix product, but without the cancellation of the expanded form
 * x^2/s2 - 2 x mu/s2 + mu^2/s2. The shift (the prior-weighted mean of the
 * means) keeps m small when the data sit far from the origin.
 *
 * The other covariance types (vl/libgmm/gmm.h) use the same c_k and
 * log-sum-exp; only the Mahalanobis term changes. A spherical component is
 * a diagonal one with equal variances. A full covariance L_k L_k^T is
 * whitened by U_k = L_k^{-1}: the term is |U_k (x - shift) - U_k (mu_k -
 * shift)|^2, the `chol_dist` kernel over the points of a block stored
 * transposed (a product with the triangle of U_k, then a sum of squares).
 * The tied type shares one U: a block is whitened once (`chol_whiten`), and
 * the term is the squared Euclidean distance of the whitened point to the
 * whitened means (the `l2dist` kernel of k-means). U_k, and U_k (mu_k -
 * shift), are computed in double from the covariances (core/linalg.h) and
 * rounded to the data type once.
 */
#ifndef GMM_CORE_ESTEP_H
#define GMM_CORE_ESTEP_H

#include "core/linalg.h"
#include "core/sched.h"
#include "simd/kernels.h"
#include "util/internal.h"

/* Minimum prior of a component that takes part in the E-step (VLFeat). */
#define GMM_MIN_PRIOR 1e-6

/* Precomputed per-component parameters of one GMM, in the data type. */
typedef struct gmm_eparams {
  vl_type type;
  int cov;          /* VlGMMCovarianceType */
  size_t K, D, kp;
  double minprior;  /* components with a smaller prior are skipped (VLFeat: 1e-6) */
  void *s;      /* diagonal, spherical: D x kp, 1/sigma (0 in padding columns) */
  void *m;      /* diagonal, spherical: D x kp, (mu - shift)/sigma; tied: D x kp, U (mu - shift) */
  void *c;      /* kp: log pi - D/2 log 2pi - 1/2 log det (-inf: skipped/padding) */
  void *shift;  /* D */
  void *u;      /* full: K x D x D, U_k = L_k^{-1}; tied: D x D */
  void *um;     /* full: K x D, U_k (mu_k - shift) */
  double *work; /* full, tied: 2 D x D, the factorisation's scratch */
} gmm_eparams;

/* Per-thread scratch for the block E-step. */
typedef struct gmm_ework {
  void *xpack;  /* GMM_BLOCK x D (tied: the whitened block) */
  void *tile;   /* GMM_BLOCK x kp */
  void *xt;     /* full, tied: D x GMM_BLOCK, the shifted block transposed */
  void *yt;     /* full: GMM_BLOCK distances; tied: D x GMM_BLOCK, whitened */
} gmm_ework;

/* Allocate for K components of dimension D (returns an error code; nothing
 * to free on failure): the diagonal type, or any type (gmm_eparams_alloc_cov). */
GMM_HIDDEN int gmm_eparams_alloc(gmm_eparams *ep, vl_type type, size_t K, size_t D);
GMM_HIDDEN int gmm_eparams_alloc_cov(gmm_eparams *ep, vl_type type, int cov, size_t K, size_t D);
GMM_HIDDEN void gmm_eparams_free(gmm_eparams *ep);

GMM_HIDDEN int gmm_ework_alloc(gmm_ework *w, gmm_eparams const *ep);
GMM_HIDDEN void gmm_ework_free(gmm_ework *w);
/* One workspace per worker (allocated by the calling thread, so an
 * allocation failure is reported there and never inside a parallel loop). */
GMM_HIDDEN gmm_ework *gmm_ework_alloc_n(gmm_eparams const *ep, int n);
GMM_HIDDEN void gmm_ework_free_n(gmm_ework *w, int n);

#define GMM_TEMPLATE "core/estep.th"
#include "util/instantiate.h"

#endif /* GMM_CORE_ESTEP_H */
