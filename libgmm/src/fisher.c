/* fisher.c: Fisher vector encoding, one image or a batch.
 *
 * The posteriors come from the shared E-step (estep.h) and the sums from
 * the same statistics pass as EM's M-step (gmm_pass.h), with VLFeat's
 * Fisher settings: posteriors below 1e-6 ignored, optionally a hard
 * assignment (FAST), moments taken around the means. */
#include <float.h>
#include <string.h>

#include "gmm_pass.h"
#include "template.h"
#include "vl/encode.h"
#include "vl/fisher.h"

#define FISHER_MIN_POSTERIOR 1e-6
#define FISHER_ALL_FLAGS (VL_FISHER_FLAG_SQUARE_ROOT | VL_FISHER_FLAG_NORMALIZED | VL_FISHER_FLAG_FAST)

#define T float
#define SFX f
#include "fisher.tc"
#undef T
#undef SFX

#define T double
#define SFX d
#include "fisher.tc"
#undef T
#undef SFX

/* The encoding of one descriptor set (rows x, n of them) from the fast
 * pass's statistics *st; if those are not finite (float sums or distances
 * that overflowed), from careful statistics recomputed in double (`l`: K
 * doubles of scratch). VL_ERR_OK or VL_ERR_OVERFLOW (enc unchanged). */
static int encode_one(vl_type type, void *enc, gmm_stats *st, void const *x, size_t n,
                      void const *means, void const *covs, void const *priors, size_t D,
                      size_t K, int flags, double *l)
{
  int const hard = (flags & VL_FISHER_FLAG_FAST) != 0;
  if (type == VL_TYPE_FLOAT) {
    if (!gmm_stats_finite(st) &&
        fisher_careful_stats_f((float const *)x, n, (float const *)means, (float const *)covs,
                               (float const *)priors, D, K, hard, l, st))
      return VL_ERR_OVERFLOW;
    return fisher_finish_f((float *)enc, st, (float const *)covs, (float const *)priors, D, K,
                           n, flags);
  }
  if (!gmm_stats_finite(st) &&
      fisher_careful_stats_d((double const *)x, n, (double const *)means,
                             (double const *)covs, (double const *)priors, D, K, hard, l, st))
    return VL_ERR_OVERFLOW;
  return fisher_finish_d((double *)enc, st, (double const *)covs, (double const *)priors, D, K,
                         n, flags);
}

static int overflow_error(char const *fn, size_t image)
{
  return gmm_error(VL_ERR_OVERFLOW,
                   "%s: image %zu: the Fisher vector is not representable: the descriptors are "
                   "too far from the model (in units of its standard deviations) for the data "
                   "type, or its values exceed the type's range without "
                   "VL_FISHER_FLAG_NORMALIZED; rescale the data or use double", fn, image);
}

static double value_at(vl_type type, void const *a, size_t j)
{
  return type == VL_TYPE_FLOAT ? (double)((float const *)a)[j] : ((double const *)a)[j];
}

/* Checks shared by the GMM-based encoders; also reports whether any prior
 * reaches 1e-6 (if none, every component is skipped). */
int gmm_check_gmm_args(char const *fn, vl_type type, void const *means, size_t D, size_t K,
                       void const *covs, void const *priors, int *any_prior)
{
  size_t kd, bytes;
  if (gmm_check_type(type, fn)) return gmm_last_error();
  if (!means || !covs || !priors) return gmm_error(VL_ERR_BAD_ARG, "%s: NULL GMM parameter", fn);
  if (D == 0 || K == 0)
    return gmm_error(VL_ERR_BAD_ARG, "%s: dimension (%zu) and numClusters (%zu) must be >= 1",
                     fn, D, K);
  /* K x D parameters; the encoding has 2 K D elements */
  if (gmm_mul_size(K, D, &kd) || gmm_mul_size(kd, 2 * gmm_type_size(type), &bytes))
    return gmm_last_error();
  if (!gmm_all_finite(type, means, kd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: means contain NaN or Inf", fn);
  for (size_t j = 0; j < kd; ++j) {
    double const v = value_at(type, covs, j);
    if (!(v > 0) || !isfinite(v))
      return gmm_error(VL_ERR_BAD_ARG, "%s: covariance %zu is %g (must be finite and > 0)", fn, j,
                       v);
  }
  *any_prior = 0;
  for (size_t k = 0; k < K; ++k) {
    double const p = value_at(type, priors, k);
    if (!(p >= 0) || !isfinite(p))
      return gmm_error(VL_ERR_BAD_ARG, "%s: prior %zu is %g (must be finite and >= 0)", fn, k, p);
    if (p >= GMM_MIN_PRIOR) *any_prior = 1;
  }
  return VL_ERR_OK;
}

/* The descriptor sets of a batch. The numImages + 1 offsets are copied
 * once, and only the copy is checked and used: another thread may change
 * the caller's array during the call (a race of the caller's, which must
 * not become an out-of-bounds read here). On success *out holds the copy
 * (free it with gmm_free); the offsets are valid and the data present and
 * finite. */
int gmm_batch_offsets(char const *fn, vl_type type, void const *data, size_t D,
                      vl_size const *offsets, size_t numImages, vl_size **out)
{
  size_t total, nd, bytes;
  vl_size *off;
  *out = NULL;
  if (!offsets) return gmm_error(VL_ERR_BAD_ARG, "%s: offsets is NULL", fn);
  if (numImages == SIZE_MAX) return gmm_error(VL_ERR_OVERFLOW, "%s: numImages is too large", fn);
  if (!(off = gmm_alloc_array(numImages + 1, 1, sizeof *off, 0))) return gmm_last_error();
  memcpy(off, offsets, (numImages + 1) * sizeof *off);
  if (off[0] != 0) {
    gmm_error(VL_ERR_BAD_ARG, "%s: offsets[0] is %zu, not 0", fn, (size_t)off[0]);
    goto fail;
  }
  for (size_t j = 0; j < numImages; ++j)
    if (off[j + 1] < off[j]) {
      gmm_error(VL_ERR_BAD_ARG, "%s: offsets decrease at image %zu (%zu > %zu)", fn, j,
                (size_t)off[j], (size_t)off[j + 1]);
      goto fail;
    }
  total = off[numImages];
  if (total && !data) {
    gmm_error(VL_ERR_BAD_ARG, "%s: data is NULL", fn);
    goto fail;
  }
  if (gmm_mul_size(total, D, &nd) || gmm_mul_size(nd, gmm_type_size(type), &bytes)) goto fail;
  if (total && !gmm_all_finite(type, data, nd)) {
    gmm_error(VL_ERR_BAD_ARG, "%s: data contains NaN or Inf", fn);
    goto fail;
  }
  *out = off;
  return VL_ERR_OK;
fail:
  gmm_free(off);
  return gmm_last_error();
}

static int check_flags(char const *fn, int flags)
{
  if (flags & ~FISHER_ALL_FLAGS)
    return gmm_error(VL_ERR_BAD_ARG, "%s: unknown flags 0x%x (known: 0x%x)", fn,
                     (unsigned)(flags & ~FISHER_ALL_FLAGS), (unsigned)FISHER_ALL_FLAGS);
  return VL_ERR_OK;
}

/* Encodes images [0, numImages) given by (checked, owned) offsets; enc rows of 2*K*D. */
static int fisher_batch(char const *fn, void *enc, vl_type type, void const *means, size_t D,
                        size_t K, void const *covs, void const *priors, void const *data,
                        vl_size const *offsets, size_t numImages, int flags, vl_size *numTerms,
                        int any_prior)
{
  size_t const es = gmm_type_size(type), row = 2 * K * D;
  gmm_pass_opts const opts = {FISHER_MIN_POSTERIOR, (flags & VL_FISHER_FLAG_FAST) != 0, 0, NULL, 0};
  gmm_eparams ep;
  gmm_pass pass;
  gmm_stats *st = NULL;
  atomic_size_t first_bad = SIZE_MAX; /* the first image that overflowed */
  int nt, err;

  if (!any_prior) {
    /* Every component is skipped: zeros, as VLFeat. */
    memset(enc, 0, numImages * row * es);
    if (numTerms) memset(numTerms, 0, numImages * sizeof *numTerms);
    return VL_ERR_OK;
  }
  if ((err = gmm_eparams_alloc(&ep, type, K, D)) != VL_ERR_OK) return err;
  gmm_eparams_set(&ep, priors, means, covs);

  if (numImages == 1) {
    /* One image: spread its points over the threads (fixed slabs). */
    gmm_stats total, scratch;
    size_t const N = offsets[1];
    memset(&scratch, 0, sizeof scratch);
    if ((err = gmm_pass_init(&pass, type, K, D, N ? N : 1, &ep)) == VL_ERR_OK &&
        (err = gmm_stats_alloc(&total, K, D)) == VL_ERR_OK) {
      if (N) gmm_pass_run(&pass, &ep, data, NULL, means, &opts, &total);
      else gmm_stats_zero(&total);
      if (!gmm_stats_finite(&total)) err = gmm_stats_alloc(&scratch, K, D);
      if (err == VL_ERR_OK) {
        if (encode_one(type, enc, &total, data, N, means, covs, priors, D, K, flags,
                       scratch.s0all))
          err = overflow_error(fn, 0);
        else if (numTerms)
          numTerms[0] = N ? (vl_size)total.nkept : 0;
      }
      gmm_stats_free(&scratch);
      gmm_stats_free(&total);
    }
    gmm_pass_free(&pass);
    gmm_eparams_free(&ep);
    return err;
  }

  /* Many images: one image per thread at a time. */
  if ((err = gmm_pass_init(&pass, type, K, D, 1, &ep)) != VL_ERR_OK) {
    gmm_eparams_free(&ep);
    return err;
  }
  nt = pass.nt;
  /* two statistics per thread: the image's, and scratch for its slabs */
  st = gmm_alloc_array((size_t)nt, 2, sizeof *st, 1);
  if (!st) err = gmm_last_error();
  for (int t = 0; st && t < 2 * nt && err == VL_ERR_OK; ++t) err = gmm_stats_alloc(&st[t], K, D);
  if (err == VL_ERR_OK) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (numImages > 1)
#endif
    for (size_t j = 0; j < numImages; ++j) {
      int const tid = gmm_thread_id();
      size_t const r0 = offsets[j], r1 = offsets[j + 1];
      void const *x = (char const *)data + r0 * D * es;
      gmm_pass_span(&pass, tid, &ep, data, means, &opts, r0, r1, &st[nt + tid], &st[tid]);
      if (encode_one(type, (char *)enc + j * row * es, &st[tid], x, r1 - r0, means, covs,
                     priors, D, K, flags, st[nt + tid].s0all))
        gmm_atomic_min(&first_bad, j);
      else if (numTerms)
        numTerms[j] = (vl_size)st[tid].nkept;
    }
    if (atomic_load(&first_bad) != SIZE_MAX) err = overflow_error(fn, atomic_load(&first_bad));
  }
  for (int t = 0; st && t < 2 * nt; ++t) gmm_stats_free(&st[t]);
  gmm_free(st);
  gmm_pass_free(&pass);
  gmm_eparams_free(&ep);
  return err;
}

VL_EXPORT vl_size vl_fisher_encode(void *enc, vl_type dataType, void const *means,
                                   vl_size dimension, vl_size numClusters,
                                   void const *covariances, void const *priors,
                                   void const *data, vl_size numData, int flags)
{
  static char const fn[] = "vl_fisher_encode";
  vl_size const offsets[2] = {0, numData};
  vl_size *off = NULL;
  vl_size terms = 0;
  int any_prior = 0, err;
  gmm_clear_error();
  if (!enc) return gmm_error(VL_ERR_BAD_ARG, "%s: enc is NULL", fn), 0;
  if (check_flags(fn, flags) ||
      gmm_check_gmm_args(fn, dataType, means, dimension, numClusters, covariances, priors,
                         &any_prior) ||
      gmm_batch_offsets(fn, dataType, data, dimension, offsets, 1, &off))
    return 0;
  err = fisher_batch(fn, enc, dataType, means, dimension, numClusters, covariances, priors, data,
                     off, 1, flags, &terms, any_prior);
  gmm_free(off);
  return err == VL_ERR_OK ? terms : 0;
}

VL_EXPORT int vl_fisher_encode_batch(void *enc, vl_type dataType, void const *means,
                                     vl_size dimension, vl_size numClusters,
                                     void const *covariances, void const *priors,
                                     void const *data, vl_size const *offsets,
                                     vl_size numImages, int flags, vl_size *numTerms)
{
  static char const fn[] = "vl_fisher_encode_batch";
  vl_size *off = NULL;
  int any_prior = 0, err;
  size_t rows, bytes;
  gmm_clear_error();
  if (!enc && numImages) return gmm_error(VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  if (check_flags(fn, flags) ||
      gmm_check_gmm_args(fn, dataType, means, dimension, numClusters, covariances, priors,
                         &any_prior) ||
      gmm_mul_size(numImages, 2 * numClusters * dimension, &rows) ||
      gmm_mul_size(rows, gmm_type_size(dataType), &bytes) ||
      gmm_batch_offsets(fn, dataType, data, dimension, offsets, numImages, &off))
    return gmm_last_error();
  err = numImages == 0 ? VL_ERR_OK
                       : fisher_batch(fn, enc, dataType, means, dimension, numClusters,
                                      covariances, priors, data, off, numImages, flags, numTerms,
                                      any_prior);
  gmm_free(off);
  return err;
}
