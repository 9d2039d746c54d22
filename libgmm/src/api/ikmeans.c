/* api/ikmeans.c: the exported vl_ikm_* functions (vl/ikmeans.h).
 *
 * Each clears the thread's last error, checks its arguments (NULL, zero or
 * overflowing sizes, K > N, unknown method, a filter without centers) and
 * calls the numerics in core/ikmeans.c. A rejected call leaves the filter as
 * it was. */
#include <string.h>

#include "core/ikmeans_internal.h"

#define IKM_SELF_OR(fn, ret)                                          \
  do {                                                                \
    gmm_clear_error();                                                \
    if (!f) {                                                         \
      gmm_error(VL_ERR_BAD_ARG, fn ": NULL integer k-means filter");  \
      return ret;                                                     \
    }                                                                 \
  } while (0)

static int check_method(int method, char const *fn)
{
  if (method == VL_IKM_LLOYD || method == VL_IKM_ELKAN) return VL_ERR_OK;
  return gmm_error(VL_ERR_BAD_ARG, "%s: unknown method %d (VL_IKM_LLOYD = 0, VL_IKM_ELKAN = 1)",
                   fn, method);
}

/* 1 <= M, 1 <= K <= 2^32 (assignments are 32-bit), K x M x 4 bytes addressable. */
static int check_shape(size_t M, size_t K, char const *fn)
{
  size_t n;
  if (M == 0) return gmm_error(VL_ERR_BAD_ARG, "%s: dimension M is 0", fn);
  if (K == 0) return gmm_error(VL_ERR_BAD_ARG, "%s: number of centers K is 0", fn);
  if (K > 0xffffffffU)
    return gmm_error(VL_ERR_BAD_ARG, "%s: K = %zu centers do not fit 32-bit assignments", fn, K);
  if (gmm_mul_size(K, M, &n) || gmm_mul_size(n, sizeof(vl_ikmacc_t), &n))
    return gmm_error(VL_ERR_OVERFLOW, "%s: K x M = %zu x %zu overflows", fn, K, M);
  return VL_ERR_OK;
}

/* N x M bytes at `data`: non-NULL when N > 0, size addressable. */
static int check_data(void const *data, size_t M, size_t N, char const *fn)
{
  size_t n;
  if (gmm_mul_size(N, M, &n))
    return gmm_error(VL_ERR_OVERFLOW, "%s: N x M = %zu x %zu overflows", fn, N, M);
  if (N > 0 && !data) return gmm_error(VL_ERR_BAD_ARG, "%s: data is NULL", fn);
  return VL_ERR_OK;
}

static int check_trained(VlIKMFilt const *f, char const *fn)
{
  if (!f->centers || f->K == 0)
    return gmm_error(VL_ERR_BAD_STATE,
                     "%s: the filter has no centers (call vl_ikm_init, vl_ikm_init_rand or "
                     "vl_ikm_init_rand_data first)", fn);
  return VL_ERR_OK;
}

VL_EXPORT VlIKMFilt *vl_ikm_new(int method)
{
  gmm_clear_error();
  if (check_method(method, "vl_ikm_new")) return NULL;
  return gmm_ikm_new(method);
}

VL_EXPORT void vl_ikm_delete(VlIKMFilt *f)
{
  gmm_clear_error();
  gmm_ikm_delete(f);
}

VL_EXPORT void vl_ikm_init(VlIKMFilt *f, vl_ikmacc_t const *centers, vl_size M, vl_size K)
{
  static char const fn[] = "vl_ikm_init";
  IKM_SELF_OR("vl_ikm_init", );
  if (check_shape(M, K, fn)) return;
  if (!centers) {
    gmm_error(VL_ERR_BAD_ARG, "%s: centers is NULL", fn);
    return;
  }
  gmm_ikm_set_centers(f, centers, M, K);
}

VL_EXPORT void vl_ikm_init_rand(VlIKMFilt *f, vl_size M, vl_size K)
{
  IKM_SELF_OR("vl_ikm_init_rand", );
  if (check_shape(M, K, "vl_ikm_init_rand")) return;
  gmm_ikm_init_rand(f, M, K, gmm_rand_default());
}

VL_EXPORT void vl_ikm_init_rand_data(VlIKMFilt *f, vl_uint8 const *data, vl_size M, vl_size N,
                                     vl_size K)
{
  static char const fn[] = "vl_ikm_init_rand_data";
  IKM_SELF_OR("vl_ikm_init_rand_data", );
  if (check_shape(M, K, fn) || check_data(data, M, N, fn)) return;
  if (K > N) {
    gmm_error(VL_ERR_BAD_ARG, "%s: K = %zu centers exceed the N = %zu data points", fn, K, N);
    return;
  }
  gmm_ikm_init_rand_data(f, data, M, N, K, gmm_rand_default());
}

VL_EXPORT int vl_ikm_train(VlIKMFilt *f, vl_uint8 const *data, vl_size N)
{
  static char const fn[] = "vl_ikm_train";
  int err;
  IKM_SELF_OR("vl_ikm_train", VL_ERR_BAD_ARG);
  if ((err = check_trained(f, fn)) || (err = check_data(data, f->M, N, fn))) return err;
  if (N == 0) return gmm_error(VL_ERR_BAD_ARG, "%s: no data (N = 0)", fn);
  return gmm_ikm_train(f, data, N);
}

VL_EXPORT void vl_ikm_push(VlIKMFilt *f, vl_uint32 *asgn, vl_uint8 const *data, vl_size N)
{
  static char const fn[] = "vl_ikm_push";
  IKM_SELF_OR("vl_ikm_push", );
  if (check_trained(f, fn) || check_data(data, f->M, N, fn)) return;
  if (N == 0) return;
  if (!asgn) {
    gmm_error(VL_ERR_BAD_ARG, "%s: asgn is NULL", fn);
    return;
  }
  gmm_ikm_push(f, asgn, data, N);
}

VL_EXPORT vl_uint vl_ikm_push_one(vl_ikmacc_t const *centers, vl_uint8 const *data, vl_size M,
                                  vl_size K)
{
  static char const fn[] = "vl_ikm_push_one";
  gmm_clear_error();
  if (check_shape(M, K, fn)) return 0;
  if (K - 1 > (vl_size)(vl_uint)-1) {
    gmm_error(VL_ERR_BAD_ARG, "%s: K = %zu does not fit the return type", fn, K);
    return 0;
  }
  if (!centers || !data) {
    gmm_error(VL_ERR_BAD_ARG, "%s: %s is NULL", fn, centers ? "data" : "centers");
    return 0;
  }
  return (vl_uint)gmm_ikm_nearest_one(centers, data, M, K);
}

/* getters */

VL_EXPORT vl_size vl_ikm_get_ndims(VlIKMFilt const *f)
{
  IKM_SELF_OR("vl_ikm_get_ndims", 0);
  return f->M;
}

VL_EXPORT vl_size vl_ikm_get_K(VlIKMFilt const *f)
{
  IKM_SELF_OR("vl_ikm_get_K", 0);
  return f->K;
}

VL_EXPORT int vl_ikm_get_verbosity(VlIKMFilt const *f)
{
  IKM_SELF_OR("vl_ikm_get_verbosity", 0);
  return f->verb;
}

VL_EXPORT vl_size vl_ikm_get_max_niters(VlIKMFilt const *f)
{
  IKM_SELF_OR("vl_ikm_get_max_niters", 0);
  return f->max_niters;
}

VL_EXPORT vl_ikmacc_t const *vl_ikm_get_centers(VlIKMFilt const *f)
{
  IKM_SELF_OR("vl_ikm_get_centers", NULL);
  return f->centers;
}

/* setters */

VL_EXPORT void vl_ikm_set_verbosity(VlIKMFilt *f, int verb)
{
  IKM_SELF_OR("vl_ikm_set_verbosity", );
  f->verb = verb;
}

VL_EXPORT void vl_ikm_set_max_niters(VlIKMFilt *f, vl_size max_niters)
{
  IKM_SELF_OR("vl_ikm_set_max_niters", );
  f->max_niters = max_niters;
}
