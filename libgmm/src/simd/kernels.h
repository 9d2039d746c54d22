/* kernels.h: the hot loops, one table of function pointers per SIMD level.
 *
 * Layout conventions shared by every kernel:
 *  - point blocks are row-major, n rows of D elements, row stride `ldx`;
 *  - component-side parameters are stored transposed, D rows of `kp`
 *    elements (components contiguous), where kp is a multiple of GMM_KPAD
 *    and the arrays are GMM_ALIGN-byte aligned; padding columns hold zeros;
 *  - tile outputs are n rows of kp elements (row stride kp), 64-byte aligned.
 * Every SIMD kernel must give the scalar kernel's result up to the order of
 * floating-point summation (tests compare every level with scalar).
 */
#ifndef GMM_SIMD_KERNELS_H
#define GMM_SIMD_KERNELS_H

#include <stddef.h>
#include "util/internal.h"

/* Padding of the component dimension: a multiple of every vector width
 * (16 floats = one AVX-512 register) so kernels need no column tails. */
#define GMM_KPAD 16

typedef struct gmm_kernels {
  char const *name; /* "scalar", "sse2", "avx2", "avx512", "neon" */
  int level;        /* VL_SIMD_* */

  /* Scaled squared distances (the E-step's Mahalanobis term):
   *   out[i*kp + k] = sum_d (x[i*ldx + d] * s[d*kp + k] - m[d*kp + k])^2
   * for i < n, k < kp. With s = 1/sigma and m = (mu - shift)/sigma this is
   * the Mahalanobis distance of the shifted point x to component k. */
  void (*wdist_f)(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                  float const *s, float const *m, float *out);
  void (*wdist_d)(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                  double const *s, double const *m, double *out);

  /* Squared Euclidean distances to centers (k-means assignment):
   *   out[i*kp + k] = sum_d (x[i*ldx + d] - c[d*kp + k])^2 */
  void (*l2dist_f)(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                   float const *c, float *out);
  void (*l2dist_d)(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                   double const *c, double *out);

  /* Nearest center (k-means assignment): for i < n, the first k < K with
   * the smallest l2dist distance out[i*kp + k] (the same values, compared
   * with a strict "<" from +inf, so ties go to the lowest k and NaN never
   * wins): assign[i] = k and, if dist != NULL, dist[i] = the distance; a row
   * with no distance below +inf gets k = 0 and +inf. `tile` (n x kp) is
   * scratch for levels that compute the distances first (l2dist, then a
   * scan); levels that keep the running minimum in registers do not use it. */
  void (*l2argmin_f)(size_t n, size_t D, size_t kp, size_t K, float const *x, size_t ldx,
                     float const *c, float *tile, vl_uint32 *assign, float *dist);
  void (*l2argmin_d)(size_t n, size_t D, size_t kp, size_t K, double const *x, size_t ldx,
                     double const *c, double *tile, vl_uint32 *assign, double *dist);

  /* Squared Euclidean distance of two D-vectors: sum_d (x[d] - y[d])^2. */
  float (*dist_l2_f)(size_t D, float const *x, float const *y);
  double (*dist_l2_d)(size_t D, double const *x, double const *y);

  /* Log-sum-exp of E-step rows (fused with the posterior normalisation).
   * On entry tile[i*kp + k] holds the scaled squared distance d_ik (from
   * wdist); for each row i < n, with l_k = c[k] - d_ik / 2 over k < K:
   *   m = max_k l_k,  S = sum_k exp(l_k - m),
   *   q[i*ldq + k] = exp(l_k - m) / S  (k < K),  ll[i] = log(S) + m (double).
   * c[k] may be -inf (component skipped): its posterior is exactly 0.
   * q may alias tile (ldq == kp). exp must be accurate to a few ulp. */
  void (*lse_f)(size_t n, size_t K, size_t kp, float const *c, float *tile, float *q,
                size_t ldq, double *ll);
  void (*lse_d)(size_t n, size_t K, size_t kp, double const *c, double *tile, double *q,
                size_t ldq, double *ll);

  /* Weighted centred moments (M-step, Fisher), for d < D (s2 is always
   * double: q (x - mu)^2 in float overflows for spreads near 1e18):
   *   s1[d] += q * (x[d] - mu[d]);  s2[d] += q * (x[d] - mu[d])^2 */
  void (*accum_f)(size_t D, float q, float const *x, float const *mu, float *s1, double *s2);
  void (*accum_d)(size_t D, double q, double const *x, double const *mu, double *s1,
                  double *s2);

  /* The moments of one component over the rows of a block that kept it
   * (the M-step's and Fisher's accumulation, one component at a time so
   * its sums stay in registers). For r < nr, with i = rows[r] (increasing),
   * v = q[i*ldq] (v = 1 if q is NULL), z_d = x[i*ldx + d] - mu[d] and
   * t_d = v z_d rounded to T:
   *   a = sum_r v and a1_d = sum_r t_d, in T, from 0, in list order;
   *   a2_d = sum_r t_d z_d in double, from 0, in list order;
   * then *s0 += a, s1[d] += a1_d, s2[d] += a2_d (d < D), in double.
   * The arithmetic of one term is accum's at the same level (accum from
   * zero over the same rows, then added, gives the same bits). */
  void (*moments_f)(size_t D, size_t nr, unsigned char const *rows, float const *q, size_t ldq,
                    float const *x, size_t ldx, float const *mu, double *s0, double *s1,
                    double *s2);
  void (*moments_d)(size_t D, size_t nr, unsigned char const *rows, double const *q,
                    size_t ldq, double const *x, size_t ldx, double const *mu, double *s0,
                    double *s1, double *s2);

  /* Posterior selection for the M-step: colsum[k] += q[k] for k < K, and
   * the indices k (increasing) with q[k] >= thr are written to idx; returns
   * their number. */
  size_t (*select_f)(size_t K, float const *q, float thr, float *colsum, vl_uint32 *idx);
  size_t (*select_d)(size_t K, double const *q, double thr, double *colsum, vl_uint32 *idx);

  /* The full and tied covariance types (core/estep.tc, core/scatter.tc).
   * Points are stored transposed: xt holds D rows of ldx elements (point i
   * of row c is xt[c*ldx + i]), ldx a multiple of GMM_KPAD; the kernels
   * work on whole vectors of points, so they may read xt and write their
   * output at lanes i in [n, ceil(n / GMM_KPAD) * GMM_KPAD), which must
   * exist (their values there are meaningless). u is a lower-triangular
   * D x D matrix, row-major (row stride D); its entries above the diagonal
   * are never read. In every kernel the sum over c runs in increasing order.
   *
   * Mahalanobis distances with a Cholesky factor (full E-step), u = L^{-1}
   * for the covariance L L^T and um = u (mu - shift):
   *   out[i] = sum_{r<D} (sum_{c<=r} u[r*D + c] xt[c*ldx + i] - um[r])^2 */
  void (*chol_dist_f)(size_t n, size_t D, float const *xt, size_t ldx, float const *u,
                      float const *um, float *out);
  void (*chol_dist_d)(size_t n, size_t D, double const *xt, size_t ldx, double const *u,
                      double const *um, double *out);

  /* Whitening (tied E-step): yt[r*ldx + i] = sum_{c<=r} u[r*D + c] xt[c*ldx + i]. */
  void (*chol_whiten_f)(size_t n, size_t D, float const *xt, size_t ldx, float const *u,
                        float *yt);
  void (*chol_whiten_d)(size_t n, size_t D, double const *xt, size_t ldx, double const *u,
                        double *yt);

  /* Scatter matrix (full and tied M-step): for r < D and r <= c < D,
   *   acc[r*lda + c] += sum_{i<n} w[i*ldw + r] w[i*ldw + c]
   * with the sum over i (increasing) in the element type, then added to acc
   * in double. w has n rows of ldw >= gmm_kpad(D) elements, readable up to
   * gmm_kpad(D) (kernels load whole vectors of columns; the values past D
   * are ignored). Entries with c < r may be updated the same way or left
   * alone; nothing at c >= D is written. */
  void (*scatter_f)(size_t n, size_t D, float const *w, size_t ldw, double *acc, size_t lda);
  void (*scatter_d)(size_t n, size_t D, double const *w, size_t ldw, double *acc, size_t lda);

  /* Rows written once and not read back soon (the stored N x K posteriors):
   *   dst[i*ldd + k] = src[i*lds + k] for i < n, k < K.
   * Levels with non-temporal stores use them where dst is aligned (the
   * lines of dst are not read into the cache first, which halves the memory
   * traffic of a large write) and fence them before returning. */
  void (*copy_rows_f)(size_t n, size_t K, float const *src, size_t lds, float *dst, size_t ldd);
  void (*copy_rows_d)(size_t n, size_t K, double const *src, size_t lds, double *dst,
                      size_t ldd);

  /* The Fisher vector's terms of one component (core/fisher.tc), in double:
   * for d < D, with w = 1 / (double)cov[d],
   *   u[d] = u[d] * sqrt(w) * a;  v[d] = (v[d] * w - s0) * b;
   * then, if `sqroot`, u[d] = copysign(sqrt(|u[d]|), u[d]) and the same for
   * v[d]. Each operation is correctly rounded and taken in this order (no
   * FMA), so every level gives the scalar kernel's bits. */
  void (*fisher_terms_f)(size_t D, float const *cov, double a, double b, double s0, int sqroot,
                         double *u, double *v);
  void (*fisher_terms_d)(size_t D, double const *cov, double a, double b, double s0, int sqroot,
                         double *u, double *v);

  /* The diagonal E-step set-up of one component (core/estep.tc), in double
   * from the variances cov (already bounded), for d < D:
   *   s[d] = (T)(1 / sqrt(cov[d])),  m[d] = (T)((mean[d] - shift[d]) * (1 / sqrt(cov[d])))
   * (each operation correctly rounded, none fused: every level gives the
   * scalar kernel's bits). */
  void (*eparams_row_f)(size_t D, float const *cov, float const *mean, float const *shift,
                        float *s, float *m);
  void (*eparams_row_d)(size_t D, double const *cov, double const *mean, double const *shift,
                        double *s, double *m);

  /* Argument checks: 1 if lo < x[i] < +inf for every i < n (so NaN fails;
   * lo = -inf asks "all finite", lo = 0 "all finite and positive"), else 0. */
  int (*all_above_f)(size_t n, float const *x, float lo);
  int (*all_above_d)(size_t n, double const *x, double lo);

  /* Test hook, not used by the library: y[i] = exp(x[i]) for i < n with the
   * exp the level's lse uses (libm for scalar), so tests can measure its
   * accuracy directly. */
  void (*vexp_f)(size_t n, float const *x, float *y);
  void (*vexp_d)(size_t n, double const *x, double *y);
} gmm_kernels;

/* The level in use (detected once; GMM_SIMD and vl_set_simd_level honoured),
 * the best level built and supported here, and the setters behind
 * vl_set_simd_level (VL_ERR_BAD_ARG if unavailable) and vl_set_simd_enabled. */
GMM_HIDDEN int gmm_simd_level(void);
GMM_HIDDEN int gmm_simd_max_level(void);
GMM_HIDDEN int gmm_simd_set_level(int level);
GMM_HIDDEN void gmm_simd_set_enabled(int enabled);
/* "scalar", "sse2", "avx2", "avx512", "neon" by VL_SIMD_* level, or NULL
 * for an unknown level (no error set). */
GMM_HIDDEN char const *gmm_simd_level_name(int level);

/* The table in use. */
GMM_HIDDEN gmm_kernels const *gmm_kernels_get(void);
/* The table of one level, or NULL if not compiled in or not supported by the CPU. */
GMM_HIDDEN gmm_kernels const *gmm_kernels_for_level(int level);

/* Per-level tables (defined only when compiled). */
GMM_HIDDEN extern gmm_kernels const gmm_kernels_scalar;
GMM_HIDDEN extern gmm_kernels const gmm_kernels_sse2;
GMM_HIDDEN extern gmm_kernels const gmm_kernels_avx2;
GMM_HIDDEN extern gmm_kernels const gmm_kernels_avx512;
GMM_HIDDEN extern gmm_kernels const gmm_kernels_neon;

/* The scalar log-sum-exp, for tables of levels without their own. */
GMM_HIDDEN void gmm_lse_scalar_f(size_t n, size_t K, size_t kp, float const *c, float *tile,
                                 float *q, size_t ldq, double *ll);
GMM_HIDDEN void gmm_lse_scalar_d(size_t n, size_t K, size_t kp, double const *c, double *tile,
                                 double *q, size_t ldq, double *ll);

/* The scalar Fisher terms, for tables of levels without their own. */
GMM_HIDDEN void gmm_fisher_terms_scalar_f(size_t D, float const *cov, double a, double b,
                                          double s0, int sqroot, double *u, double *v);
GMM_HIDDEN void gmm_fisher_terms_scalar_d(size_t D, double const *cov, double a, double b,
                                          double s0, int sqroot, double *u, double *v);

/* The scalar E-step set-up row, for tables of levels without their own. */
GMM_HIDDEN void gmm_eparams_row_scalar_f(size_t D, float const *cov, float const *mean,
                                         float const *shift, float *s, float *m);
GMM_HIDDEN void gmm_eparams_row_scalar_d(size_t D, double const *cov, double const *mean,
                                         double const *shift, double *s, double *m);

/* The scalar check, for tables of levels without their own. */
GMM_HIDDEN int gmm_all_above_scalar_f(size_t n, float const *x, float lo);
GMM_HIDDEN int gmm_all_above_scalar_d(size_t n, double const *x, double lo);

/* Row copies: plain stores (scalar, NEON), and SSE2's non-temporal ones
 * (the SSE2, AVX2 and AVX-512 tables). */
GMM_HIDDEN void gmm_copy_rows_scalar_f(size_t n, size_t K, float const *src, size_t lds,
                                       float *dst, size_t ldd);
GMM_HIDDEN void gmm_copy_rows_scalar_d(size_t n, size_t K, double const *src, size_t lds,
                                       double *dst, size_t ldd);
GMM_HIDDEN void gmm_copy_rows_sse2_f(size_t n, size_t K, float const *src, size_t lds, float *dst,
                                     size_t ldd);
GMM_HIDDEN void gmm_copy_rows_sse2_d(size_t n, size_t K, double const *src, size_t lds,
                                     double *dst, size_t ldd);

/* The scalar covariance-type kernels, for tables of levels without their own. */
GMM_HIDDEN void gmm_chol_dist_scalar_f(size_t n, size_t D, float const *xt, size_t ldx,
                                       float const *u, float const *um, float *out);
GMM_HIDDEN void gmm_chol_dist_scalar_d(size_t n, size_t D, double const *xt, size_t ldx,
                                       double const *u, double const *um, double *out);
GMM_HIDDEN void gmm_chol_whiten_scalar_f(size_t n, size_t D, float const *xt, size_t ldx,
                                         float const *u, float *yt);
GMM_HIDDEN void gmm_chol_whiten_scalar_d(size_t n, size_t D, double const *xt, size_t ldx,
                                         double const *u, double *yt);
GMM_HIDDEN void gmm_scatter_scalar_f(size_t n, size_t D, float const *w, size_t ldw, double *acc,
                                     size_t lda);
GMM_HIDDEN void gmm_scatter_scalar_d(size_t n, size_t D, double const *w, size_t ldw,
                                     double *acc, size_t lda);

/* The covariance-type kernels of the SIMD levels (kernels_cov_<isa>.c,
 * defined only when compiled; their tables point to them). */
#define GMM_DECLARE_COV_KERNELS(isa)                                                          \
  GMM_HIDDEN void gmm_chol_dist_##isa##_f(size_t n, size_t D, float const *xt, size_t ldx,   \
                                          float const *u, float const *um, float *out);     \
  GMM_HIDDEN void gmm_chol_dist_##isa##_d(size_t n, size_t D, double const *xt, size_t ldx,  \
                                          double const *u, double const *um, double *out);  \
  GMM_HIDDEN void gmm_chol_whiten_##isa##_f(size_t n, size_t D, float const *xt, size_t ldx, \
                                            float const *u, float *yt);                     \
  GMM_HIDDEN void gmm_chol_whiten_##isa##_d(size_t n, size_t D, double const *xt,            \
                                            size_t ldx, double const *u, double *yt);       \
  GMM_HIDDEN void gmm_scatter_##isa##_f(size_t n, size_t D, float const *w, size_t ldw,      \
                                        double *acc, size_t lda);                           \
  GMM_HIDDEN void gmm_scatter_##isa##_d(size_t n, size_t D, double const *w, size_t ldw,     \
                                        double *acc, size_t lda);
GMM_DECLARE_COV_KERNELS(avx2)
GMM_DECLARE_COV_KERNELS(avx512)

/* The scalar moments, for tables of levels without their own. */
GMM_HIDDEN void gmm_moments_scalar_f(size_t D, size_t nr, unsigned char const *rows,
                                     float const *q, size_t ldq, float const *x, size_t ldx,
                                     float const *mu, double *s0, double *s1, double *s2);
GMM_HIDDEN void gmm_moments_scalar_d(size_t D, size_t nr, unsigned char const *rows,
                                     double const *q, size_t ldq, double const *x, size_t ldx,
                                     double const *mu, double *s0, double *s1, double *s2);

/* The l2argmin of levels without their own: the level's l2dist into the
 * tile, then a scan of each row (called with that level's l2dist). */
GMM_HIDDEN void gmm_l2argmin_tile_f(void (*l2dist)(size_t, size_t, size_t, float const *, size_t,
                                                   float const *, float *),
                                    size_t n, size_t D, size_t kp, size_t K, float const *x,
                                    size_t ldx, float const *c, float *tile, vl_uint32 *assign,
                                    float *dist);
GMM_HIDDEN void gmm_l2argmin_tile_d(void (*l2dist)(size_t, size_t, size_t, double const *,
                                                   size_t, double const *, double *),
                                    size_t n, size_t D, size_t kp, size_t K, double const *x,
                                    size_t ldx, double const *c, double *tile, vl_uint32 *assign,
                                    double *dist);

/* Round K up to the padding multiple. */
static inline size_t gmm_kpad(size_t K) { return (K + GMM_KPAD - 1) / GMM_KPAD * GMM_KPAD; }

#endif /* GMM_SIMD_KERNELS_H */
