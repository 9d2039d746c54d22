/* vlad_api.c: vl_vlad_encode and vl_vlad_encode_batch (vl/vlad.h,
 * vl/libgmm/encode.h): argument checks, then the typed encoder. */
#include "core/vlad.h"
#include "vl/libgmm.h"

/* All argument checks; nothing is written before they pass. On success *off
 * is the checked copy of the offsets (free it with gmm_free). */
static int check(char const *fn, void const *enc, vl_type type, void const *means, size_t D,
                 size_t K, void const *data, vl_size const *offsets, size_t numImages,
                 void const *assign, int flags, int assign_required, vl_size **off)
{
  size_t kd, na, bytes;
  int err;
  *off = NULL;
  GMM_REQUIRE(enc || !numImages, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  GMM_REQUIRE(!(flags & ~VLAD_ALL_FLAGS), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: unknown flags 0x%x (known: 0x%x)", fn, (unsigned)(flags & ~VLAD_ALL_FLAGS),
              (unsigned)VLAD_ALL_FLAGS);
  if ((err = gmm_check_type(type, fn))) return err;
  GMM_REQUIRE(means, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: means is NULL", fn);
  GMM_REQUIRE(D && K, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: dimension (%zu) and numClusters (%zu) must be >= 1", fn, D, K);
  /* K*D encoding elements, K*(D+1) accumulators per slab */
  if (gmm_mul_size(K, D, &kd)) return gmm_last_error();
  GMM_REQUIRE(kd <= SIZE_MAX - K, VL_ERR_OVERFLOW, VL_ERR_OVERFLOW,
              "%s: numClusters x dimension is too large", fn);
  if (gmm_mul_size(kd + K, sizeof(double), &bytes)) return gmm_last_error();
  GMM_REQUIRE(gmm_all_finite(type, means, kd), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: means contain NaN or Inf", fn);
  if (gmm_mul_size(numImages, kd, &na) || gmm_mul_size(na, gmm_type_size(type), &bytes))
    return gmm_last_error();
  if ((err = gmm_batch_offsets(fn, type, data, D, offsets, numImages, off))) return err;
  if (gmm_mul_size((*off)[numImages], K, &na) || gmm_mul_size(na, gmm_type_size(type), &bytes)) {
    err = gmm_last_error();
  } else if (!assign && assign_required && (*off)[numImages] > 0) {
    err = gmm_error(VL_ERR_BAD_ARG,
                    "%s: assignments is NULL (for nearest-center assignments use "
                    "vl_vlad_encode_batch with assignments = NULL)", fn);
  }
  if (err) {
    gmm_free(*off);
    *off = NULL;
  }
  return err;
}

VL_EXPORT void vl_vlad_encode(void *enc, vl_type dataType, void const *means, vl_size dimension,
                              vl_size numClusters, void const *data, vl_size numData,
                              void const *assignments, int flags)
{
  static char const fn[] = "vl_vlad_encode";
  vl_size const offsets[2] = {0, numData};
  vl_size *off;
  gmm_clear_error();
  if (check(fn, enc, dataType, means, dimension, numClusters, data, offsets, 1, assignments,
            flags, 1, &off))
    return;
  GMM_DISPATCH(dataType, gmm_vlad_encode, fn, enc, means, dimension, numClusters, data, off, 1,
               assignments, flags);
  gmm_free(off);
}

VL_EXPORT int vl_vlad_encode_batch(void *enc, vl_type dataType, void const *means,
                                   vl_size dimension, vl_size numClusters, void const *data,
                                   vl_size const *offsets, vl_size numImages,
                                   void const *assignments, int flags)
{
  static char const fn[] = "vl_vlad_encode_batch";
  vl_size *off;
  int err;
  gmm_clear_error();
  if ((err = check(fn, enc, dataType, means, dimension, numClusters, data, offsets, numImages,
                   assignments, flags, 0, &off)))
    return err;
  if (numImages > 0)
    err = GMM_DISPATCH(dataType, gmm_vlad_encode, fn, enc, means, dimension, numClusters, data,
                       off, numImages, assignments, flags);
  gmm_free(off);
  return err;
}
