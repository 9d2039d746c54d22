/* vlad.c: VLAD encoding, one image or a batch.
 *
 * Per image and component k, in double: mass_k = sum of the weights a_ik > 0
 * and S_k = sum of a_ik x_i; then v_k = S_k - mass_k mu_k (or S_k / mass_k -
 * mu_k with NORMALIZE_MASS; zeros if mass_k = 0), signed square root,
 * per-component L2, global L2 (unless UNNORMALIZED), rounded once to the
 * data type. Without explicit weights (batch only) each descriptor goes to
 * its nearest center.
 *
 * Determinism: the rows of an image are split into slabs whose number and
 * boundaries depend only on the image size (and K, D); each slab is summed
 * in row order and the slab sums are added in slab order. One image runs its
 * slabs in parallel; a batch runs one image per thread with the same slabs
 * one after the other, so batch and single results are identical bit for
 * bit, whatever the number of threads. */
#include <float.h>
#include <string.h>

#include "internal.h"
#include "simd/kernels.h"
#include "template.h"
#include "vl/encode.h"
#include "vl/vlad.h"

#define VLAD_ALL_FLAGS                                                                   \
  (VL_VLAD_FLAG_NORMALIZE_COMPONENTS | VL_VLAD_FLAG_SQUARE_ROOT |                        \
   VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_NORMALIZE_MASS)
#define VLAD_MIN_NORM 1e-12
/* Rows per distance tile (hard assignment). */
#define VLAD_BLOCK 128
/* Slabs: one per GMM_SLAB_POINTS rows, at most VLAD_MAX_SLABS, and at most
 * VLAD_SLAB_BYTES_CAP of accumulators. Never a function of the thread count. */
#define VLAD_MAX_SLABS 16
#define VLAD_SLAB_BYTES_CAP ((size_t)64 << 20)

typedef struct vlad_ctx {
  vl_type type;
  size_t D, K, kp;
  int flags;
  void const *means;
  void const *data;
  void const *assign; /* N_total x K weights, or NULL: hard assignment */
  void *ct;           /* D x kp transposed centers (hard assignment only) */
  gmm_kernels const *kern;
} vlad_ctx;

#define T float
#define SFX f
#include "vlad.tc"
#undef T
#undef SFX

#define T double
#define SFX d
#include "vlad.tc"
#undef T
#undef SFX

static size_t slab_count(size_t n, size_t K, size_t D)
{
  size_t const per_slab = K * (D + 1) * sizeof(double);
  size_t s = n / GMM_SLAB_POINTS;
  size_t const cap = VLAD_SLAB_BYTES_CAP / per_slab;
  if (s > VLAD_MAX_SLABS) s = VLAD_MAX_SLABS;
  if (s > cap) s = cap;
  return s ? s : 1;
}

/* Rows [*a, *b) of slab s of S over an image of n rows (on block boundaries). */
static void slab_bounds(size_t n, size_t S, size_t s, size_t *a, size_t *b)
{
  size_t const nb = (n + VLAD_BLOCK - 1) / VLAD_BLOCK;
  *a = (s * nb / S) * VLAD_BLOCK;
  *b = ((s + 1) * nb / S) * VLAD_BLOCK;
  if (*b > n) *b = n;
  if (*a > *b) *a = *b;
}

/* Sum rows [a, b) of the image starting at row r0 into acc (VL_ERR_OK or VL_ERR_OVERFLOW). */
static int rows(vlad_ctx const *c, void *tile, size_t r0, size_t a, size_t b, double *acc)
{
  if (a >= b) return VL_ERR_OK; /* nothing to add; data may be NULL (no pointer arithmetic on NULL) */
  if (c->type == VL_TYPE_FLOAT)
    return vlad_rows_f(c, tile, (float const *)c->data + r0 * c->D,
                c->assign ? (float const *)c->assign + r0 * c->K : NULL, a, b, acc);
  return vlad_rows_d(c, tile, (double const *)c->data + r0 * c->D,
                c->assign ? (double const *)c->assign + r0 * c->K : NULL, a, b, acc);
}

static int finish(vlad_ctx const *c, void *enc, double *v)
{
  if (c->type == VL_TYPE_FLOAT)
    return vlad_finish_f((float *)enc, v, (float const *)c->means, c->D, c->K, c->flags);
  return vlad_finish_d((double *)enc, v, (double const *)c->means, c->D, c->K, c->flags);
}

static void add_into(double *dst, double const *src, size_t n)
{
  for (size_t j = 0; j < n; ++j) dst[j] += src[j];
}

/* One image, sequentially (batch worker): the same slabs and the same
 * reduction order as the parallel single-image path. */
static int image_seq(vlad_ctx const *c, void *tile, size_t r0, size_t n, double *total,
                     double *acc, void *enc)
{
  size_t const len = c->K * (c->D + 1), S = slab_count(n, c->K, c->D);
  memset(total, 0, len * sizeof *total);
  for (size_t s = 0; s < S; ++s) {
    size_t a, b;
    slab_bounds(n, S, s, &a, &b);
    memset(acc, 0, len * sizeof *acc);
    if (rows(c, tile, r0, a, b, acc)) return VL_ERR_OVERFLOW;
    add_into(total, acc, len);
  }
  return finish(c, enc, total);
}

static int overflow_error(char const *fn, size_t image)
{
  return gmm_error(VL_ERR_OVERFLOW,
                   "%s: image %zu: the VLAD vector is not representable: sums or distances of "
                   "the descriptors exceed the data type's range, or the values do without "
                   "normalisation; rescale the data or use double", fn, image);
}

/* Encodes images [0, numImages) (arguments checked, offsets owned). */
static int vlad_run(char const *fn, void *enc, vl_type type, void const *means, size_t D, size_t K,
                    void const *data, vl_size const *offsets, size_t numImages,
                    void const *assign, int flags)
{
  size_t const es = gmm_type_size(type), len = K * (D + 1), row = K * D;
  size_t const ntotal = offsets[numImages];
  int const nt = gmm_num_threads();
  vlad_ctx c;
  double *buf = NULL;
  void *tiles = NULL;
  size_t tile_elems;
  atomic_size_t first_bad = SIZE_MAX; /* the first image (or slab) that overflowed */
  int err = VL_ERR_OK;

  c.type = type;
  c.D = D;
  c.K = K;
  c.kp = gmm_kpad(K);
  c.flags = flags;
  c.means = means;
  c.data = data;
  c.assign = assign;
  c.ct = NULL;
  c.kern = gmm_kernels_get();
  tile_elems = VLAD_BLOCK * c.kp;

  if (!assign && ntotal > 0) {
    c.ct = gmm_alloc_aligned(D, c.kp, es);
    if (!c.ct) return gmm_last_error();
    if (type == VL_TYPE_FLOAT)
      vlad_transpose_f((float *)c.ct, (float const *)means, K, D, c.kp);
    else
      vlad_transpose_d((double *)c.ct, (double const *)means, K, D, c.kp);
  }

  if (numImages == 1) {
    /* One image: its slabs in parallel, then added in slab order. */
    size_t const n = offsets[1], S = slab_count(n, K, D);
    int const nw = S > 1 ? nt : 1;
    buf = gmm_alloc_array(S + 1, len, sizeof(double), 0);
    if (buf && c.ct) tiles = gmm_alloc_aligned((size_t)nw, tile_elems, es);
    if (!buf || (c.ct && !tiles)) {
      err = gmm_last_error();
    } else {
      double *total = buf + S * len;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nw) schedule(dynamic, 1) if (S > 1)
#endif
      for (size_t s = 0; s < S; ++s) {
        size_t a, b;
        double *acc = buf + s * len;
        void *tile = tiles ? (char *)tiles + (size_t)gmm_thread_id() * tile_elems * es : NULL;
        slab_bounds(n, S, s, &a, &b);
        memset(acc, 0, len * sizeof *acc);
        if (rows(&c, tile, 0, a, b, acc)) gmm_atomic_min(&first_bad, s);
      }
      memset(total, 0, len * sizeof *total);
      for (size_t s = 0; s < S; ++s) add_into(total, buf + s * len, len);
      if (atomic_load(&first_bad) != SIZE_MAX || finish(&c, enc, total))
        err = overflow_error(fn, 0);
    }
  } else {
    /* Many images: one image per thread at a time. */
    buf = gmm_alloc_array((size_t)nt * 2, len, sizeof(double), 0);
    if (buf && c.ct) tiles = gmm_alloc_aligned((size_t)nt, tile_elems, es);
    if (!buf || (c.ct && !tiles)) {
      err = gmm_last_error();
    } else {
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
      for (size_t j = 0; j < numImages; ++j) {
        int const tid = gmm_thread_id();
        double *total = buf + (size_t)tid * 2 * len;
        void *tile = tiles ? (char *)tiles + (size_t)tid * tile_elems * es : NULL;
        if (image_seq(&c, tile, offsets[j], offsets[j + 1] - offsets[j], total, total + len,
                      (char *)enc + j * row * es))
          gmm_atomic_min(&first_bad, j);
      }
      if (atomic_load(&first_bad) != SIZE_MAX) err = overflow_error(fn, atomic_load(&first_bad));
    }
  }
  gmm_free(buf);
  gmm_free_aligned(tiles);
  gmm_free_aligned(c.ct);
  return err;
}

/* All argument checks; nothing is written before they pass. On success *off
 * is the checked copy of the offsets (free it with gmm_free). */
static int vlad_check(char const *fn, void const *enc, vl_type type, void const *means, size_t D,
                      size_t K, void const *data, vl_size const *offsets, size_t numImages,
                      void const *assign, int flags, int assign_required, vl_size **off)
{
  size_t kd, total, na, bytes;
  int err;
  *off = NULL;
  if (!enc && numImages) return gmm_error(VL_ERR_BAD_ARG, "%s: enc is NULL", fn);
  if (flags & ~VLAD_ALL_FLAGS)
    return gmm_error(VL_ERR_BAD_ARG, "%s: unknown flags 0x%x (known: 0x%x)", fn,
                     (unsigned)(flags & ~VLAD_ALL_FLAGS), (unsigned)VLAD_ALL_FLAGS);
  if (gmm_check_type(type, fn)) return gmm_last_error();
  if (!means) return gmm_error(VL_ERR_BAD_ARG, "%s: means is NULL", fn);
  if (D == 0 || K == 0)
    return gmm_error(VL_ERR_BAD_ARG, "%s: dimension (%zu) and numClusters (%zu) must be >= 1",
                     fn, D, K);
  /* K*D encoding elements, K*(D+1) accumulators per slab */
  if (gmm_mul_size(K, D, &kd)) return gmm_last_error();
  if (kd > SIZE_MAX - K) return gmm_error(VL_ERR_OVERFLOW, "%s: numClusters x dimension is too large", fn);
  if (gmm_mul_size(kd + K, sizeof(double), &bytes)) return gmm_last_error();
  if (!gmm_all_finite(type, means, kd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: means contain NaN or Inf", fn);
  if (gmm_mul_size(numImages, kd, &na) || gmm_mul_size(na, gmm_type_size(type), &bytes))
    return gmm_last_error();
  if ((err = gmm_batch_offsets(fn, type, data, D, offsets, numImages, off))) return err;
  total = (*off)[numImages];
  if (gmm_mul_size(total, K, &na) || gmm_mul_size(na, gmm_type_size(type), &bytes)) {
    err = gmm_last_error();
    goto fail;
  }
  if (assign) {
    size_t where = 0;
    int const bad = type == VL_TYPE_FLOAT ? vlad_has_pos_inf_f((float const *)assign, na, &where)
                                          : vlad_has_pos_inf_d((double const *)assign, na, &where);
    if (bad) {
      err = gmm_error(VL_ERR_BAD_ARG,
                      "%s: assignment (%zu, %zu) is +Inf (weights must be finite; entries <= 0 "
                      "or NaN are ignored)",
                      fn, where / K, where % K);
      goto fail;
    }
  } else if (assign_required && total > 0) {
    err = gmm_error(VL_ERR_BAD_ARG,
                    "%s: assignments is NULL (for nearest-center assignments use "
                    "vl_vlad_encode_batch with assignments = NULL)",
                    fn);
    goto fail;
  }
  return VL_ERR_OK;
fail:
  gmm_free(*off);
  *off = NULL;
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
  if (vlad_check(fn, enc, dataType, means, dimension, numClusters, data, offsets, 1, assignments,
                 flags, 1, &off))
    return;
  vlad_run(fn, enc, dataType, means, dimension, numClusters, data, off, 1, assignments, flags);
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
  if (vlad_check(fn, enc, dataType, means, dimension, numClusters, data, offsets, numImages,
                 assignments, flags, 0, &off))
    return gmm_last_error();
  err = numImages == 0 ? VL_ERR_OK
                       : vlad_run(fn, enc, dataType, means, dimension, numClusters, data, off,
                                  numImages, assignments, flags);
  gmm_free(off);
  return err;
}
