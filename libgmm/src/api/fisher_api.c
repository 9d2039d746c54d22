/* fisher_api.c: vl_fisher_encode and vl_fisher_encode_batch (vl/fisher.h,
 * vl/libgmm/encode.h): argument checks, then the typed encoder. */
#include "core/fisher.h"
#include "vl/libgmm.h"

/* The checks of both entry points; on success *off is the checked copy of
 * the offsets (free it with gmm_free). */
static int check(char const *fn, void const *enc, vl_type type, void const *means, size_t D,
                 size_t K, void const *covs, void const *priors, void const *data,
                 vl_size const *offsets, size_t numImages, int flags, vl_size **off)
{
  size_t rows, bytes;
  int err;
  *off = NULL;
  GMM_REQUIRE(enc || !numImages, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  GMM_REQUIRE(!(flags & ~FISHER_ALL_FLAGS), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: unknown flags 0x%x (known: 0x%x)", fn, (unsigned)(flags & ~FISHER_ALL_FLAGS),
              (unsigned)FISHER_ALL_FLAGS);
  if ((err = gmm_check_type(type, fn))) return err;
  GMM_REQUIRE(means && covs && priors, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: NULL GMM parameter",
              fn);
  GMM_REQUIRE(D && K, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: dimension (%zu) and numClusters (%zu) must be >= 1", fn, D, K);
  if ((err = gmm_check_gmm_params(fn, type, K, D, means, covs, priors, NULL, 0, NULL)))
    return err;
  /* 2 K D elements per image */
  if (gmm_mul_size(K * D, 2 * gmm_type_size(type), &bytes) ||
      gmm_mul_size(numImages, 2 * K * D, &rows) || gmm_mul_size(rows, gmm_type_size(type), &bytes))
    return gmm_last_error();
  return gmm_batch_offsets(fn, type, data, D, offsets, numImages, off);
}

VL_EXPORT vl_size vl_fisher_encode(void *enc, vl_type dataType, void const *means,
                                   vl_size dimension, vl_size numClusters,
                                   void const *covariances, void const *priors,
                                   void const *data, vl_size numData, int flags)
{
  static char const fn[] = "vl_fisher_encode";
  vl_size const offsets[2] = {0, numData};
  vl_size *off;
  vl_size terms = 0;
  int err;
  gmm_clear_error();
  GMM_REQUIRE(enc, 0, VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  if (check(fn, enc, dataType, means, dimension, numClusters, covariances, priors, data, offsets,
            1, flags, &off))
    return 0;
  err = GMM_DISPATCH(dataType, gmm_fisher_encode, fn, enc, means, dimension, numClusters,
                     covariances, priors, data, off, 1, flags, &terms);
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
  vl_size *off;
  int err;
  gmm_clear_error();
  if ((err = check(fn, enc, dataType, means, dimension, numClusters, covariances, priors, data,
                   offsets, numImages, flags, &off)))
    return err;
  if (numImages > 0)
    err = GMM_DISPATCH(dataType, gmm_fisher_encode, fn, enc, means, dimension, numClusters,
                       covariances, priors, data, off, numImages, flags, numTerms);
  gmm_free(off);
  return err;
}
