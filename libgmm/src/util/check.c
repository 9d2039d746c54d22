/* check.c: the argument validators, one per concern. */
#include <string.h>

#include "simd/kernels.h"
#include "util/internal.h"

#define GMM_TEMPLATE "util/check.tc"
#include "util/instantiate.h"

size_t gmm_type_size(vl_type t)
{
  return t == VL_TYPE_FLOAT ? sizeof(float) : t == VL_TYPE_DOUBLE ? sizeof(double) : 0;
}

int gmm_check_type(vl_type t, char const *fn)
{
  if (t == VL_TYPE_FLOAT || t == VL_TYPE_DOUBLE) return VL_ERR_OK;
  return gmm_error(VL_ERR_BAD_ARG,
                   "%s: data type %u is not supported (use VL_TYPE_FLOAT=1 or VL_TYPE_DOUBLE=2)",
                   fn, (unsigned)t);
}

int gmm_all_finite(vl_type t, void const *x, size_t n)
{
  return GMM_DISPATCH(t, all_finite, x, n);
}

int gmm_check_data(char const *fn, char const *what, vl_type t, void const *data, size_t n,
                   size_t D)
{
  size_t nd, bytes;
  if (n == 0) return VL_ERR_OK;
  if (!data) return gmm_error(VL_ERR_BAD_ARG, "%s: %s is NULL", fn, what);
  if (gmm_mul_size(n, D, &nd) || gmm_mul_size(nd, gmm_type_size(t), &bytes))
    return gmm_error(VL_ERR_OVERFLOW, "%s: %s size %zu x %zu overflows", fn, what, n, D);
  if (!gmm_all_finite(t, data, nd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: %s contains NaN or Inf", fn, what);
  return VL_ERR_OK;
}

int gmm_check_gmm_params(char const *fn, vl_type t, size_t K, size_t D, void const *means,
                         void const *covs, void const *priors, double const *bounds,
                         int require_prior, int *any_prior)
{
  size_t kd, bytes;
  int any = 0, err;
  if ((err = gmm_check_type(t, fn))) return err;
  if (gmm_mul_size(K, D, &kd) || gmm_mul_size(kd, gmm_type_size(t), &bytes))
    return gmm_last_error();
  err = GMM_DISPATCH(t, check_gmm_params, fn, K, D, means, covs, priors, bounds, require_prior,
                     &any);
  if (any_prior) *any_prior = any;
  return err;
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
  int err = VL_ERR_OK;
  *out = NULL;
  GMM_REQUIRE(offsets, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: offsets is NULL", fn);
  GMM_REQUIRE(numImages < SIZE_MAX, VL_ERR_OVERFLOW, VL_ERR_OVERFLOW, "%s: numImages is too large",
              fn);
  if (!(off = gmm_alloc_array(numImages + 1, 1, sizeof *off, 0))) return gmm_last_error();
  memcpy(off, offsets, (numImages + 1) * sizeof *off);
  if (off[0] != 0) {
    err = gmm_error(VL_ERR_BAD_ARG, "%s: offsets[0] is %zu, not 0", fn, (size_t)off[0]);
    goto done;
  }
  for (size_t j = 0; j < numImages; ++j)
    if (off[j + 1] < off[j]) {
      err = gmm_error(VL_ERR_BAD_ARG, "%s: offsets decrease at image %zu (%zu > %zu)", fn, j,
                      (size_t)off[j], (size_t)off[j + 1]);
      goto done;
    }
  total = off[numImages];
  if (total && !data) {
    err = gmm_error(VL_ERR_BAD_ARG, "%s: data is NULL", fn);
    goto done;
  }
  if (gmm_mul_size(total, D, &nd) || gmm_mul_size(nd, gmm_type_size(type), &bytes)) {
    err = gmm_last_error();
    goto done;
  }
  if (total && !gmm_all_finite(type, data, nd))
    err = gmm_error(VL_ERR_BAD_ARG, "%s: data contains NaN or Inf", fn);
done:
  if (err == VL_ERR_OK)
    *out = off;
  else
    gmm_free(off);
  return err;
}

int gmm_check_weights(char const *fn, double const *w, size_t n, int allow_all_zero)
{
  int any = 0;
  if (!w) return VL_ERR_OK;
  for (size_t i = 0; i < n; ++i) {
    if (!(w[i] >= 0) || !isfinite(w[i]))
      return gmm_error(VL_ERR_BAD_ARG, "%s: weights[%zu] is %g (must be finite and >= 0)", fn, i,
                       w[i]);
    any |= w[i] > 0;
  }
  if (!any && !allow_all_zero && n > 0)
    return gmm_error(VL_ERR_BAD_ARG,
                     "%s: every weight is 0 (at least one point needs a positive weight)", fn);
  return VL_ERR_OK;
}

static double max_abs(double const *a, size_t n, double m)
{
  for (size_t j = 0; j < n; ++j)
    if (fabs(a[j]) > m) m = fabs(a[j]);
  return m;
}

double gmm_norm2(double const *a, size_t na, double const *b, size_t nb)
{
  double s = 0, amax;
  for (size_t j = 0; j < na; ++j) s += a[j] * a[j];
  for (size_t j = 0; j < nb; ++j) s += b[j] * b[j];
  if (isfinite(s)) return sqrt(s);
  amax = max_abs(b, nb, max_abs(a, na, 0));
  if (amax == 0 || !isfinite(amax)) return amax;
  s = 0;
  for (size_t j = 0; j < na; ++j) s += (a[j] / amax) * (a[j] / amax);
  for (size_t j = 0; j < nb; ++j) s += (b[j] / amax) * (b[j] / amax);
  return amax * sqrt(s);
}
