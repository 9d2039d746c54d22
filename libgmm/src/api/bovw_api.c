/* bovw_api.c: bags of visual words (vl/libgmm/encode.h): argument checks,
 * then the typed encoders. */
#include "core/bovw.h"

/* Checks shared by the three entry points (flags, type, sizes of the
 * output); centers/means are checked by the caller. */
static int check_common(char const *fn, void const *enc, vl_type type, size_t D, size_t K,
                        size_t numImages, int flags)
{
  size_t n, bytes;
  int err;
  GMM_REQUIRE(enc || !numImages, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  GMM_REQUIRE(!(flags & ~BOVW_ALL_FLAGS), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: unknown flags 0x%x (known: 0x%x)", fn, (unsigned)(flags & ~BOVW_ALL_FLAGS),
              (unsigned)BOVW_ALL_FLAGS);
  if ((err = gmm_check_type(type, fn))) return err;
  GMM_REQUIRE(D && K, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: dimension (%zu) and numClusters (%zu) must be >= 1", fn, D, K);
  if (gmm_mul_size(numImages, K, &n) || gmm_mul_size(n, gmm_type_size(type), &bytes))
    return gmm_last_error();
  return VL_ERR_OK;
}

static int codebook(char const *fn, void *enc, vl_type type, void const *centers, size_t D,
                    size_t K, void const *data, vl_size const *offsets, size_t numImages,
                    double sigma, int flags)
{
  size_t kd, bytes;
  vl_size *off;
  int err;
  if ((err = check_common(fn, enc, type, D, K, numImages, flags))) return err;
  GMM_REQUIRE(centers, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: centers is NULL", fn);
  if (gmm_mul_size(K, D, &kd) || gmm_mul_size(kd, gmm_type_size(type), &bytes))
    return gmm_last_error();
  GMM_REQUIRE(gmm_all_finite(type, centers, kd), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: centers contain NaN or Inf", fn);
  GMM_REQUIRE(!(flags & VL_BOVW_FLAG_SOFT) || (sigma > 0 && isfinite(sigma)), VL_ERR_BAD_ARG,
              VL_ERR_BAD_ARG, "%s: sigma is %g (must be finite and > 0 with VL_BOVW_FLAG_SOFT)",
              fn, sigma);
  if ((err = gmm_batch_offsets(fn, type, data, D, offsets, numImages, &off))) return err;
  if (numImages > 0)
    err = GMM_DISPATCH(type, gmm_bovw_encode, fn, enc, centers, D, K, data, off, numImages, sigma,
                       flags);
  gmm_free(off);
  return err;
}

VL_EXPORT int vl_bovw_encode(void *enc, vl_type dataType, void const *centers, vl_size dimension,
                             vl_size numClusters, void const *data, vl_size numData,
                             double sigma, int flags)
{
  vl_size const offsets[2] = {0, numData};
  gmm_clear_error();
  return codebook("vl_bovw_encode", enc, dataType, centers, dimension, numClusters, data,
                  offsets, 1, sigma, flags);
}

VL_EXPORT int vl_bovw_encode_batch(void *enc, vl_type dataType, void const *centers,
                                   vl_size dimension, vl_size numClusters, void const *data,
                                   vl_size const *offsets, vl_size numImages, double sigma,
                                   int flags)
{
  gmm_clear_error();
  return codebook("vl_bovw_encode_batch", enc, dataType, centers, dimension, numClusters, data,
                  offsets, numImages, sigma, flags);
}

VL_EXPORT int vl_bovw_encode_gmm_batch(void *enc, vl_type dataType, void const *means,
                                       vl_size dimension, vl_size numClusters,
                                       void const *covariances, void const *priors,
                                       void const *data, vl_size const *offsets,
                                       vl_size numImages, int flags)
{
  static char const fn[] = "vl_bovw_encode_gmm_batch";
  vl_size *off;
  int err;
  gmm_clear_error();
  if ((err = check_common(fn, enc, dataType, dimension, numClusters, numImages, flags)))
    return err;
  GMM_REQUIRE(means && covariances && priors, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: NULL GMM parameter", fn);
  if ((err = gmm_check_gmm_params(fn, dataType, numClusters, dimension, means, covariances,
                                  priors, NULL, 0, NULL)) ||
      (err = gmm_batch_offsets(fn, dataType, data, dimension, offsets, numImages, &off)))
    return err;
  if (numImages > 0)
    err = GMM_DISPATCH(dataType, gmm_bovw_encode_gmm, fn, enc, means, dimension, numClusters,
                       covariances, priors, data, off, numImages, flags);
  gmm_free(off);
  return err;
}
