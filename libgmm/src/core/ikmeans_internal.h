/* ikmeans_internal.h: the integer k-means filter and tree objects, and the
 * hidden numerics behind vl_ikm_* and vl_hikm_* (core/ikmeans.c,
 * core/hikmeans.c). The exported shims (api/ikmeans.c, api/hikmeans.c) check
 * arguments and call these; nothing here is exported, and nothing here calls
 * an exported vl_* function. */
#ifndef GMM_IKMEANS_INTERNAL_H
#define GMM_IKMEANS_INTERNAL_H

#include "core/sched.h"
#include "util/internal.h"
#include "vl/ikmeans.h"
#include "vl/hikmeans.h"

/* Centers whose values all lie in [0, 255] are also kept as 16-bit integers
 * (when M is at most this): the distance to a point then fits in 32 bits and
 * the kernel vectorises with 16-bit multiply-adds. Training always produces
 * such centers. */
#define GMM_IKM_SMALL_MAX_DIM 32768
/* Deepest tree vl_hikm_init accepts: training recurses once per level (a
 * tree of depth 256 with K = 2 already has 2^256 leaves). */
#define GMM_HIKM_MAX_DEPTH 256
/* Parallel loops only above this many byte-distance operations (see core/ikmeans.c). */
#define GMM_IKM_PAR_WORK 4194304.0

struct VlIKMFilt_ {
  size_t M;              /* dimension (0: no centers) */
  size_t K;              /* number of centers (0: no centers) */
  size_t max_niters;
  int method;            /* VL_IKM_LLOYD or VL_IKM_ELKAN */
  int verb;
  vl_ikmacc_t *centers;  /* K x M, NULL when K = 0 */
  vl_int16 *centers16;   /* K x M: the same values as 16-bit integers, valid if `small` */
  int small;             /* every center lies in [0, 255] and M <= GMM_IKM_SMALL_MAX_DIM */
};

struct VlHIKMTree_ {
  size_t M, K, depth;    /* 0 until vl_hikm_init */
  size_t max_niters;
  int method;
  int verb;
  VlHIKMNode *root;      /* NULL until trained */
};

/* ---- filter (core/ikmeans.c) ------------------------------------------------ */

/* NULL + last error on failure; the method is not checked here. */
GMM_HIDDEN VlIKMFilt *gmm_ikm_new(int method);
GMM_HIDDEN void gmm_ikm_delete(VlIKMFilt *f);
/* Replace the centers with a copy of K x M `centers` (K >= 1, M >= 1).
 * VL_ERR_OK, or an error code with the filter unchanged. */
GMM_HIDDEN int gmm_ikm_set_centers(VlIKMFilt *f, vl_ikmacc_t const *centers, size_t M, size_t K);
/* Takes ownership of `centers` (K x M, from gmm_alloc_array). On failure
 * `centers` is freed and the filter unchanged. */
GMM_HIDDEN int gmm_ikm_adopt_centers(VlIKMFilt *f, vl_ikmacc_t *centers, size_t M, size_t K);
/* K*M draws of `rand` as signed 32-bit centers (VLFeat's vl_ikm_init_rand). */
GMM_HIDDEN int gmm_ikm_init_rand(VlIKMFilt *f, size_t M, size_t K, VlRand *rand);
/* VLFeat's selection of K distinct points (1 <= K <= N), N draws of `rand`. */
GMM_HIDDEN int gmm_ikm_init_rand_data(VlIKMFilt *f, vl_uint8 const *data, size_t M, size_t N,
                                      size_t K, VlRand *rand);
/* Lloyd or Elkan from the filter's centers (K >= 1) on N >= 1 points. */
GMM_HIDDEN int gmm_ikm_train(VlIKMFilt *f, vl_uint8 const *data, size_t N);
/* Nearest center of N points (the filter has centers). */
GMM_HIDDEN int gmm_ikm_push(VlIKMFilt const *f, vl_uint32 *asgn, vl_uint8 const *data, size_t N);
/* Nearest center of the filter (K >= 1) to one point (first minimum). */
GMM_HIDDEN size_t gmm_ikm_nearest(VlIKMFilt const *f, vl_uint8 const *x);
/* Nearest of K x M `centers` to one point (first minimum), K >= 1. */
GMM_HIDDEN size_t gmm_ikm_nearest_one(vl_ikmacc_t const *centers, vl_uint8 const *x, size_t M,
                                      size_t K);

/* ---- tree (core/hikmeans.c) ------------------------------------------------- */

GMM_HIDDEN VlHIKMTree *gmm_hikm_new(int method);
GMM_HIDDEN void gmm_hikm_delete(VlHIKMTree *t);
/* Frees a node and its subtree (NULL is accepted). */
GMM_HIDDEN void gmm_hikm_node_delete(VlHIKMNode *node);
/* Builds a new tree from N >= 1 points; the old one is freed only on success. */
GMM_HIDDEN int gmm_hikm_train(VlHIKMTree *t, vl_uint8 const *data, size_t N);
/* N x depth paths (the tree is trained). */
GMM_HIDDEN int gmm_hikm_push(VlHIKMTree const *t, vl_uint32 *asgn, vl_uint8 const *data,
                             size_t N);

#endif /* GMM_IKMEANS_INTERNAL_H */
