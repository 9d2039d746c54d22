/* api/hikmeans.c: the exported vl_hikm_* functions (vl/hikmeans.h).
 *
 * Each clears the thread's last error, checks its arguments and calls the
 * numerics in core/hikmeans.c. A rejected call leaves the tree as it was. */
#include "core/ikmeans_internal.h"

#define HIKM_SELF_OR(fn, ret)                                  \
  do {                                                         \
    gmm_clear_error();                                         \
    if (!f) {                                                  \
      gmm_error(VL_ERR_BAD_ARG, fn ": NULL tree");             \
      return ret;                                              \
    }                                                          \
  } while (0)

/* N x M bytes at data, N x depth assignments: sizes addressable. */
static int check_data(VlHIKMTree const *f, void const *data, size_t N, char const *fn)
{
  size_t n;
  if (f->depth == 0)
    return gmm_error(VL_ERR_BAD_STATE, "%s: the tree has no shape (call vl_hikm_init first)", fn);
  if (gmm_mul_size(N, f->M, &n) || gmm_mul_size(N, f->depth, &n) ||
      gmm_mul_size(n, sizeof(vl_uint32), &n))
    return gmm_error(VL_ERR_OVERFLOW, "%s: N = %zu points overflow the buffer sizes", fn, N);
  if (N > 0 && !data) return gmm_error(VL_ERR_BAD_ARG, "%s: data is NULL", fn);
  return VL_ERR_OK;
}

VL_EXPORT VlHIKMTree *vl_hikm_new(int method)
{
  gmm_clear_error();
  if (method != VL_IKM_LLOYD && method != VL_IKM_ELKAN) {
    gmm_error(VL_ERR_BAD_ARG, "vl_hikm_new: unknown method %d (VL_IKM_LLOYD = 0, VL_IKM_ELKAN = 1)",
              method);
    return NULL;
  }
  return gmm_hikm_new(method);
}

VL_EXPORT void vl_hikm_delete(VlHIKMTree *f)
{
  gmm_clear_error();
  gmm_hikm_delete(f);
}

/* getters */

VL_EXPORT vl_size vl_hikm_get_ndims(VlHIKMTree const *f)
{
  HIKM_SELF_OR("vl_hikm_get_ndims", 0);
  return f->M;
}

VL_EXPORT vl_size vl_hikm_get_K(VlHIKMTree const *f)
{
  HIKM_SELF_OR("vl_hikm_get_K", 0);
  return f->K;
}

VL_EXPORT vl_size vl_hikm_get_depth(VlHIKMTree const *f)
{
  HIKM_SELF_OR("vl_hikm_get_depth", 0);
  return f->depth;
}

VL_EXPORT int vl_hikm_get_verbosity(VlHIKMTree const *f)
{
  HIKM_SELF_OR("vl_hikm_get_verbosity", 0);
  return f->verb;
}

VL_EXPORT vl_size vl_hikm_get_max_niters(VlHIKMTree const *f)
{
  HIKM_SELF_OR("vl_hikm_get_max_niters", 0);
  return f->max_niters;
}

VL_EXPORT VlHIKMNode const *vl_hikm_get_root(VlHIKMTree const *f)
{
  HIKM_SELF_OR("vl_hikm_get_root", NULL);
  return f->root;
}

/* setters */

VL_EXPORT void vl_hikm_set_verbosity(VlHIKMTree *f, int verb)
{
  HIKM_SELF_OR("vl_hikm_set_verbosity", );
  f->verb = verb;
}

VL_EXPORT void vl_hikm_set_max_niters(VlHIKMTree *f, int max_niters)
{
  HIKM_SELF_OR("vl_hikm_set_max_niters", );
  if (max_niters < 0) {
    gmm_error(VL_ERR_BAD_ARG, "vl_hikm_set_max_niters: max_niters must be >= 0, got %d",
              max_niters);
    return;
  }
  f->max_niters = (size_t)max_niters;
}

/* processing */

VL_EXPORT void vl_hikm_init(VlHIKMTree *f, vl_size M, vl_size K, vl_size depth)
{
  static char const fn[] = "vl_hikm_init";
  size_t n;
  HIKM_SELF_OR("vl_hikm_init", );
  if (M == 0 || K == 0 || depth == 0) {
    gmm_error(VL_ERR_BAD_ARG, "%s: M, K and depth must be >= 1 (got %zu, %zu, %zu)", fn,
              (size_t)M, (size_t)K, (size_t)depth);
    return;
  }
  if (K > 0xffffffffU) {
    gmm_error(VL_ERR_BAD_ARG, "%s: K = %zu does not fit 32-bit assignments", fn, (size_t)K);
    return;
  }
  if (depth > GMM_HIKM_MAX_DEPTH) {
    gmm_error(VL_ERR_BAD_ARG, "%s: depth = %zu is more than the maximum of %d", fn, (size_t)depth,
              GMM_HIKM_MAX_DEPTH);
    return;
  }
  if (gmm_mul_size(K, M, &n) || gmm_mul_size(n, sizeof(vl_ikmacc_t), &n) ||
      gmm_mul_size(K + 1, depth, &n) || gmm_mul_size(n, sizeof(size_t), &n)) {
    gmm_error(VL_ERR_OVERFLOW, "%s: M = %zu, K = %zu, depth = %zu overflow the buffer sizes", fn,
              (size_t)M, (size_t)K, (size_t)depth);
    return;
  }
  gmm_hikm_node_delete(f->root);
  f->root = NULL;
  f->M = M;
  f->K = K;
  f->depth = depth;
}

VL_EXPORT void vl_hikm_train(VlHIKMTree *f, vl_uint8 const *data, vl_size N)
{
  static char const fn[] = "vl_hikm_train";
  HIKM_SELF_OR("vl_hikm_train", );
  if (check_data(f, data, N, fn)) return;
  if (N == 0) {
    gmm_error(VL_ERR_BAD_ARG, "%s: no data (N = 0)", fn);
    return;
  }
  gmm_hikm_train(f, data, N);
}

VL_EXPORT void vl_hikm_push(VlHIKMTree *f, vl_uint32 *asgn, vl_uint8 const *data, vl_size N)
{
  static char const fn[] = "vl_hikm_push";
  HIKM_SELF_OR("vl_hikm_push", );
  if (check_data(f, data, N, fn)) return;
  if (!f->root) {
    gmm_error(VL_ERR_BAD_STATE, "%s: the tree is not trained (call vl_hikm_train first)", fn);
    return;
  }
  if (N == 0) return;
  if (!asgn) {
    gmm_error(VL_ERR_BAD_ARG, "%s: asgn is NULL", fn);
    return;
  }
  gmm_hikm_push(f, asgn, data, N);
}
