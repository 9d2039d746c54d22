/* bovw.c: bag of visual words histograms, one image or a batch.
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
#include <string.h>

#include "estep.h"
#include "internal.h"
#include "simd/kernels.h"
#include "vl/encode.h"

#define BOVW_ALL_FLAGS                                                                   \
  (VL_BOVW_FLAG_SOFT | VL_BOVW_FLAG_FREQUENCIES | VL_BOVW_FLAG_SQUARE_ROOT |             \
   VL_BOVW_FLAG_NORMALIZED)
#define BOVW_MIN_NORM 1e-12
/* Rows per distance / E-step tile (the E-step takes at most GMM_EBLOCK). */
#define BOVW_BLOCK GMM_EBLOCK
/* Slabs: one per GMM_SLAB_POINTS rows, at most BOVW_MAX_SLABS (K doubles each). */
#define BOVW_MAX_SLABS 16

typedef struct bovw_ctx {
  vl_type type;
  size_t D, K, kp;
  int flags;
  double inv_2s2;          /* 1 / (2 sigma^2), SOFT codebook */
  void const *data;
  void *ct;                /* codebook: D x kp transposed centers */
  gmm_eparams const *ep;   /* GMM variant (NULL for the codebook) */
  int no_votes;            /* GMM without any prior >= 1e-6: nothing is counted */
  gmm_kernels const *kern;
} bovw_ctx;

/* Per-thread scratch. */
typedef struct bovw_ws {
  void *tile;    /* codebook: BOVW_BLOCK x kp distances */
  gmm_ework ew;  /* GMM: E-step workspace (its tile receives the posteriors) */
  double *row;   /* K */
  double *total; /* K (batch) */
  double *acc;   /* K (batch) */
} bovw_ws;

static void to_double(vl_type type, void const *src, size_t n, double *dst)
{
  if (type == VL_TYPE_FLOAT) {
    float const *s = (float const *)src;
    for (size_t k = 0; k < n; ++k) dst[k] = (double)s[k];
  } else {
    memcpy(dst, src, n * sizeof(double));
  }
}

/* Adds the votes of one descriptor (w = its K distances, times `mul`, or
 * its posteriors; overwritten) to h. */
static void vote(bovw_ctx const *c, double *w, double mul, double *h)
{
  size_t const K = c->K;
  int const soft = (c->flags & VL_BOVW_FLAG_SOFT) != 0;
  size_t best = 0;

  if (c->ep) {
    if (soft) {
      for (size_t k = 0; k < K; ++k) h[k] += w[k];
      return;
    }
    for (size_t k = 1; k < K; ++k)
      if (w[k] > w[best]) best = k;
    h[best] += 1.0;
    return;
  }
  for (size_t k = 1; k < K; ++k)
    if (w[k] < w[best]) best = k;
  if (soft) {
    double const dmin = w[best];
    double sum = 0;
    for (size_t k = 0; k < K; ++k) {
      w[k] = w[k] == dmin ? 1.0 : exp(-(w[k] - dmin) * mul * c->inv_2s2);
      sum += w[k];
    }
    for (size_t k = 0; k < K; ++k) h[k] += w[k] / sum;
    return;
  }
  h[best] += 1.0;
}

/* A codebook row without a finite distance (the descriptor is more than
 * ~1.8e19 from every center in float, ~1.3e154 in double): the squared
 * distances of the halved descriptor and centers, in double (w, K values;
 * the true distances are 4 w). Float data always fit; returns 0 if double
 * data do not. */
static int far_row(bovw_ctx const *c, void const *x, double *w)
{
  size_t const K = c->K, D = c->D, kp = c->kp;
  int ok = 0;
  for (size_t k = 0; k < K; ++k) {
    double acc = 0;
    for (size_t d = 0; d < D; ++d) {
      double const xd = c->type == VL_TYPE_FLOAT ? (double)((float const *)x)[d]
                                                 : ((double const *)x)[d];
      double const cd = c->type == VL_TYPE_FLOAT ? (double)((float const *)c->ct)[d * kp + k]
                                                 : ((double const *)c->ct)[d * kp + k];
      double const z = 0.5 * xd - 0.5 * cd;
      acc += z * z;
    }
    w[k] = acc;
    ok |= acc < INFINITY;
  }
  return ok;
}

/* Adds the votes of rows [a, b) of the image starting at row r0 into h.
 * VL_ERR_OK, or VL_ERR_OVERFLOW if a descriptor's votes are not computable
 * in the data type (distances or log-likelihoods beyond the double range). */
static int rows(bovw_ctx const *c, bovw_ws *ws, size_t r0, size_t a, size_t b, double *h)
{
  size_t const es = gmm_type_size(c->type), D = c->D, kp = c->kp;
  if (c->no_votes) return VL_ERR_OK;
  for (size_t i0 = a; i0 < b; i0 += BOVW_BLOCK) {
    size_t const n = b - i0 < BOVW_BLOCK ? b - i0 : BOVW_BLOCK;
    void const *x = (char const *)c->data + (r0 + i0) * D * es;
    void *tile;
    if (c->ep) {
      double ll[BOVW_BLOCK];
      tile = ws->ew.tile;
      gmm_estep_block(c->ep, c->kern, x, n, &ws->ew, tile, kp, ll);
      for (size_t r = 0; r < n; ++r)
        if (!isfinite(ll[r])) return VL_ERR_OVERFLOW;
    } else {
      tile = ws->tile;
      if (c->type == VL_TYPE_FLOAT)
        c->kern->l2dist_f(n, D, kp, (float const *)x, D, (float const *)c->ct, (float *)tile);
      else
        c->kern->l2dist_d(n, D, kp, (double const *)x, D, (double const *)c->ct,
                          (double *)tile);
    }
    for (size_t r = 0; r < n; ++r) {
      double mul = 1;
      to_double(c->type, (char const *)tile + r * kp * es, c->K, ws->row);
      if (!c->ep) {
        double dmin = INFINITY;
        for (size_t k = 0; k < c->K; ++k) dmin = ws->row[k] < dmin ? ws->row[k] : dmin;
        if (!(dmin < INFINITY)) {
          if (!far_row(c, (char const *)x + r * D * es, ws->row)) return VL_ERR_OVERFLOW;
          mul = 4;
        }
      }
      vote(c, ws->row, mul, h);
    }
  }
  return VL_ERR_OK;
}

static void finish(bovw_ctx const *c, void *enc, double *h, size_t n)
{
  size_t const K = c->K;
  if ((c->flags & VL_BOVW_FLAG_FREQUENCIES) && n > 0)
    for (size_t k = 0; k < K; ++k) h[k] /= (double)n;
  if (c->flags & VL_BOVW_FLAG_SQUARE_ROOT)
    for (size_t k = 0; k < K; ++k) h[k] = sqrt(h[k]);
  if (c->flags & VL_BOVW_FLAG_NORMALIZED) {
    double s = 0, den;
    for (size_t k = 0; k < K; ++k) s += h[k] * h[k];
    den = sqrt(s) > BOVW_MIN_NORM ? sqrt(s) : BOVW_MIN_NORM;
    for (size_t k = 0; k < K; ++k) h[k] /= den;
  }
  if (c->type == VL_TYPE_FLOAT) {
    float *e = (float *)enc;
    for (size_t k = 0; k < K; ++k) e[k] = (float)h[k];
  } else {
    memcpy(enc, h, K * sizeof(double));
  }
}

static size_t slab_count(size_t n)
{
  size_t s = n / GMM_SLAB_POINTS;
  if (s > BOVW_MAX_SLABS) s = BOVW_MAX_SLABS;
  return s ? s : 1;
}

static void slab_bounds(size_t n, size_t S, size_t s, size_t *a, size_t *b)
{
  size_t const nb = (n + BOVW_BLOCK - 1) / BOVW_BLOCK;
  *a = (s * nb / S) * BOVW_BLOCK;
  *b = ((s + 1) * nb / S) * BOVW_BLOCK;
  if (*b > n) *b = n;
  if (*a > *b) *a = *b;
}

/* One image, sequentially: the same slabs and reduction as the parallel path. */
static int image_seq(bovw_ctx const *c, bovw_ws *ws, size_t r0, size_t n, void *enc)
{
  size_t const K = c->K, S = slab_count(n);
  memset(ws->total, 0, K * sizeof(double));
  for (size_t s = 0; s < S; ++s) {
    size_t a, b;
    slab_bounds(n, S, s, &a, &b);
    memset(ws->acc, 0, K * sizeof(double));
    if (rows(c, ws, r0, a, b, ws->acc)) return VL_ERR_OVERFLOW;
    for (size_t k = 0; k < K; ++k) ws->total[k] += ws->acc[k];
  }
  finish(c, enc, ws->total, n);
  return VL_ERR_OK;
}

static void ws_free(bovw_ws *ws, int n)
{
  if (!ws) return;
  for (int t = 0; t < n; ++t) {
    gmm_free_aligned(ws[t].tile);
    gmm_ework_free(&ws[t].ew);
    gmm_free(ws[t].row);
  }
  gmm_free(ws);
}

static bovw_ws *ws_alloc(bovw_ctx const *c, int n)
{
  bovw_ws *ws = gmm_alloc_array((size_t)n, 1, sizeof *ws, 1);
  if (!ws) return NULL;
  for (int t = 0; t < n; ++t) {
    int ok;
    ws[t].row = gmm_alloc_array(3, c->K, sizeof(double), 0);
    ok = ws[t].row != NULL;
    if (ok) {
      ws[t].total = ws[t].row + c->K;
      ws[t].acc = ws[t].row + 2 * c->K;
      if (c->ep)
        ok = gmm_ework_alloc(&ws[t].ew, c->ep) == VL_ERR_OK;
      else
        ok = (ws[t].tile = gmm_alloc_aligned(BOVW_BLOCK, c->kp, gmm_type_size(c->type))) != NULL;
    }
    if (!ok) {
      ws_free(ws, t + 1);
      return NULL;
    }
  }
  return ws;
}

static int overflow_error(char const *fn, size_t image)
{
  return gmm_error(VL_ERR_OVERFLOW,
                   "%s: image %zu: a descriptor's votes are not computable: it is too far from "
                   "every center or component for the data type; rescale the data", fn, image);
}

/* Encodes images [0, numImages) into enc (K per image); arguments checked,
 * offsets owned. */
static int bovw_run(char const *fn, bovw_ctx *c, void *enc, vl_size const *offsets,
                    size_t numImages)
{
  size_t const es = gmm_type_size(c->type), K = c->K;
  int const nt = gmm_num_threads();
  atomic_size_t first_bad = SIZE_MAX; /* the first image (or slab) that overflowed */
  int err = VL_ERR_OK;

  c->kern = gmm_kernels_get();
  if (numImages == 1) {
    size_t const n = offsets[1], S = slab_count(n);
    int const nw = S > 1 ? nt : 1;
    double *h = gmm_alloc_array(S + 1, K, sizeof(double), 0);
    bovw_ws *ws = h ? ws_alloc(c, nw) : NULL;
    if (!ws) {
      err = gmm_last_error();
    } else {
      double *total = h + S * K;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nw) schedule(dynamic, 1) if (S > 1)
#endif
      for (size_t s = 0; s < S; ++s) {
        size_t a, b;
        slab_bounds(n, S, s, &a, &b);
        memset(h + s * K, 0, K * sizeof(double));
        if (rows(c, &ws[gmm_thread_id()], 0, a, b, h + s * K)) gmm_atomic_min(&first_bad, s);
      }
      memset(total, 0, K * sizeof(double));
      for (size_t s = 0; s < S; ++s)
        for (size_t k = 0; k < K; ++k) total[k] += h[s * K + k];
      if (atomic_load(&first_bad) != SIZE_MAX)
        err = overflow_error(fn, 0);
      else
        finish(c, enc, total, n);
    }
    ws_free(ws, nw);
    gmm_free(h);
    return err;
  }
  {
    bovw_ws *ws = ws_alloc(c, nt);
    if (!ws) return gmm_last_error();
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
    for (size_t j = 0; j < numImages; ++j)
      if (image_seq(c, &ws[gmm_thread_id()], offsets[j], offsets[j + 1] - offsets[j],
                    (char *)enc + j * K * es))
        gmm_atomic_min(&first_bad, j);
    ws_free(ws, nt);
    if (atomic_load(&first_bad) != SIZE_MAX) err = overflow_error(fn, atomic_load(&first_bad));
  }
  return err;
}

static int check_flags(char const *fn, int flags)
{
  if (flags & ~BOVW_ALL_FLAGS)
    return gmm_error(VL_ERR_BAD_ARG, "%s: unknown flags 0x%x (known: 0x%x)", fn,
                     (unsigned)(flags & ~BOVW_ALL_FLAGS), (unsigned)BOVW_ALL_FLAGS);
  return VL_ERR_OK;
}

static int check_out(char const *fn, void const *enc, vl_type type, size_t K, size_t numImages)
{
  size_t n, bytes;
  if (!enc && numImages) return gmm_error(VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  if (gmm_mul_size(numImages, K, &n) || gmm_mul_size(n, gmm_type_size(type), &bytes))
    return gmm_last_error();
  return VL_ERR_OK;
}

static int codebook_batch(char const *fn, void *enc, vl_type type, void const *centers, size_t D,
                          size_t K, void const *data, vl_size const *offsets, size_t numImages,
                          double sigma, int flags)
{
  size_t kd, bytes;
  vl_size *off = NULL;
  bovw_ctx c;
  int err;

  if (!enc && numImages) return gmm_error(VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  if (check_flags(fn, flags) || gmm_check_type(type, fn)) return gmm_last_error();
  if (!centers) return gmm_error(VL_ERR_BAD_ARG, "%s: centers is NULL", fn);
  if (D == 0 || K == 0)
    return gmm_error(VL_ERR_BAD_ARG, "%s: dimension (%zu) and numClusters (%zu) must be >= 1",
                     fn, D, K);
  if (gmm_mul_size(K, D, &kd) || gmm_mul_size(kd, gmm_type_size(type), &bytes))
    return gmm_last_error();
  if (!gmm_all_finite(type, centers, kd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: centers contain NaN or Inf", fn);
  if ((flags & VL_BOVW_FLAG_SOFT) && !(sigma > 0 && isfinite(sigma)))
    return gmm_error(VL_ERR_BAD_ARG, "%s: sigma is %g (must be finite and > 0 with VL_BOVW_FLAG_SOFT)",
                     fn, sigma);
  if (check_out(fn, enc, type, K, numImages) ||
      gmm_batch_offsets(fn, type, data, D, offsets, numImages, &off))
    return gmm_last_error();
  if (numImages == 0) {
    gmm_free(off);
    return VL_ERR_OK;
  }

  memset(&c, 0, sizeof c);
  c.type = type;
  c.D = D;
  c.K = K;
  c.kp = gmm_kpad(K);
  c.flags = flags;
  c.inv_2s2 = (flags & VL_BOVW_FLAG_SOFT) ? 1.0 / (2.0 * sigma * sigma) : 0;
  c.data = data;
  c.ct = gmm_alloc_aligned(D, c.kp, gmm_type_size(type));
  if (!c.ct) {
    gmm_free(off);
    return gmm_last_error();
  }
  for (size_t d = 0; d < D; ++d) {
    for (size_t k = 0; k < c.kp; ++k) {
      if (type == VL_TYPE_FLOAT)
        ((float *)c.ct)[d * c.kp + k] = k < K ? ((float const *)centers)[k * D + d] : 0.f;
      else
        ((double *)c.ct)[d * c.kp + k] = k < K ? ((double const *)centers)[k * D + d] : 0.0;
    }
  }
  err = bovw_run(fn, &c, enc, off, numImages);
  gmm_free_aligned(c.ct);
  gmm_free(off);
  return err;
}

VL_EXPORT int vl_bovw_encode(void *enc, vl_type dataType, void const *centers, vl_size dimension,
                             vl_size numClusters, void const *data, vl_size numData,
                             double sigma, int flags)
{
  vl_size const offsets[2] = {0, numData};
  gmm_clear_error();
  return codebook_batch("vl_bovw_encode", enc, dataType, centers, dimension, numClusters, data,
                        offsets, 1, sigma, flags);
}

VL_EXPORT int vl_bovw_encode_batch(void *enc, vl_type dataType, void const *centers,
                                   vl_size dimension, vl_size numClusters, void const *data,
                                   vl_size const *offsets, vl_size numImages, double sigma,
                                   int flags)
{
  gmm_clear_error();
  return codebook_batch("vl_bovw_encode_batch", enc, dataType, centers, dimension, numClusters,
                        data, offsets, numImages, sigma, flags);
}

VL_EXPORT int vl_bovw_encode_gmm_batch(void *enc, vl_type dataType, void const *means,
                                       vl_size dimension, vl_size numClusters,
                                       void const *covariances, void const *priors,
                                       void const *data, vl_size const *offsets,
                                       vl_size numImages, int flags)
{
  static char const fn[] = "vl_bovw_encode_gmm_batch";
  gmm_eparams ep;
  vl_size *off = NULL;
  bovw_ctx c;
  int any_prior = 0, err;

  gmm_clear_error();
  if (!enc && numImages) return gmm_error(VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  if (check_flags(fn, flags) ||
      gmm_check_gmm_args(fn, dataType, means, dimension, numClusters, covariances, priors,
                         &any_prior) ||
      check_out(fn, enc, dataType, numClusters, numImages) ||
      gmm_batch_offsets(fn, dataType, data, dimension, offsets, numImages, &off))
    return gmm_last_error();
  if (numImages == 0 ||
      (err = gmm_eparams_alloc(&ep, dataType, numClusters, dimension)) != VL_ERR_OK) {
    gmm_free(off);
    return numImages == 0 ? VL_ERR_OK : err;
  }
  gmm_eparams_set(&ep, priors, means, covariances);
  memset(&c, 0, sizeof c);
  c.type = dataType;
  c.D = dimension;
  c.K = numClusters;
  c.kp = ep.kp;
  c.flags = flags;
  c.data = data;
  c.ep = &ep;
  c.no_votes = !any_prior;
  err = bovw_run(fn, &c, enc, off, numImages);
  gmm_eparams_free(&ep);
  gmm_free(off);
  return err;
}
