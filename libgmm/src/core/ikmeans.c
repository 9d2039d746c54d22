/* core/ikmeans.c: integer k-means on 8-bit data (VLFeat 0.9.21 semantics).
 *
 * Reproduces, bit for bit, what VLFeat's vl_ikm_* compute on the same data
 * and random stream; the behaviour was established by probing libvl.so.1
 * (the tests compare every step with it):
 *
 *  - distances are squared Euclidean between a uint8 point and 32-bit
 *    centers; the nearest center is the first minimum;
 *  - a center moves to the integer part of the mean of its points (all
 *    values are >= 0, so this is floor), or to 0 if it has no point;
 *  - random selection (init_rand_data) orders the points by a key drawn from
 *    the generator, skips duplicates and pads with the last point visited;
 *  - Lloyd stops when no point changes center (the first iteration always
 *    updates); Elkan does one exact assignment and update, then iterations of
 *    a pruned assignment whose triangle-inequality test uses the point's
 *    previous center (VLFeat's rule, which is not exact: see train_elkan).
 *
 * Where VLFeat's 32-bit arithmetic overflows (centers far from the data,
 * sums of more than 2^31 / 255 points, huge dimensions), this code computes
 * exactly instead: 64-bit sums, saturating 64-bit distances. Where VLFeat
 * reads uninitialised memory (Lloyd's first "no change" test), this code
 * does what VLFeat does whenever that memory differs from the assignments.
 *
 * Parallelism: the assignment loops are split over points (each point's
 * result depends only on the previous iteration), and the means are exact
 * integer sums, so results do not depend on the number of threads. The
 * OpenMP pragmas are the only threading here. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ikmeans_internal.h"

/* Parallel loops only above GMM_IKM_PAR_WORK byte-distance operations
 * (about a millisecond of one core's work): a tree trains thousands of small
 * nodes, and a parallel region per small node costs more than it saves (much
 * more on a busy machine, where a descheduled thread stalls the barrier). */
#define IKM_PAR_WORK GMM_IKM_PAR_WORK
/* Rows per range of the parallel loops. */
#define IKM_GRAIN 256

/* ---- distances ------------------------------------------------------------------ */

/* Centers in [0, 255] as int16 and M <= GMM_IKM_SMALL_MAX_DIM: every
 * difference is in [-255, 255] and the sum is at most 65025 * 32768 < 2^31.
 * Written so that compilers use 16-bit multiply-adds (SSE2 pmaddwd). */
static inline vl_uint32 dist_small(vl_uint8 const *x, vl_int16 const *c, size_t M)
{
  vl_int32 acc = 0;
  for (size_t m = 0; m < M; ++m) {
    vl_int16 const d = (vl_int16)((vl_int16)x[m] - c[m]);
    acc += (vl_int32)d * (vl_int32)d;
  }
  return (vl_uint32)acc;
}

/* Any 32-bit centers: each squared difference is below 2^63 (|d| <= 2^31 +
 * 255); the sum saturates at the largest 64-bit value. */
static inline vl_uint64 dist_wide(vl_uint8 const *x, vl_ikmacc_t const *c, size_t M)
{
  vl_uint64 acc = 0;
  for (size_t m = 0; m < M; ++m) {
    vl_int64 const d = (vl_int64)x[m] - (vl_int64)c[m];
    vl_uint64 const a = (vl_uint64)(d < 0 ? -d : d);
    vl_uint64 const sq = a * a;
    acc = (acc > UINT64_MAX - sq) ? UINT64_MAX : acc + sq;
  }
  return acc;
}

/* Centers as the distance kernels read them. */
typedef struct {
  size_t M, K;
  vl_ikmacc_t const *c32;
  vl_int16 const *c16; /* NULL: use the wide kernel */
} ikm_view;

static ikm_view view_of(VlIKMFilt const *f)
{
  ikm_view v;
  v.M = f->M;
  v.K = f->K;
  v.c32 = f->centers;
  v.c16 = f->small ? f->centers16 : NULL;
  return v;
}

static inline vl_uint64 dist_to(ikm_view const *v, vl_uint8 const *x, size_t k)
{
  if (v->c16) return dist_small(x, v->c16 + k * v->M, v->M);
  return dist_wide(x, v->c32 + k * v->M, v->M);
}

/* First center at the smallest distance. */
static inline size_t nearest(ikm_view const *v, vl_uint8 const *x)
{
  size_t best_k = 0;
  if (v->c16) {
    vl_uint32 best = dist_small(x, v->c16, v->M);
    for (size_t k = 1; k < v->K; ++k) {
      vl_uint32 const d = dist_small(x, v->c16 + k * v->M, v->M);
      if (d < best) {
        best = d;
        best_k = k;
      }
    }
  } else {
    vl_uint64 best = dist_wide(x, v->c32, v->M);
    for (size_t k = 1; k < v->K; ++k) {
      vl_uint64 const d = dist_wide(x, v->c32 + k * v->M, v->M);
      if (d < best) {
        best = d;
        best_k = k;
      }
    }
  }
  return best_k;
}

size_t gmm_ikm_nearest(VlIKMFilt const *f, vl_uint8 const *x)
{
  ikm_view const v = view_of(f);
  return nearest(&v, x);
}

size_t gmm_ikm_nearest_one(vl_ikmacc_t const *centers, vl_uint8 const *x, size_t M, size_t K)
{
  ikm_view v;
  v.M = M;
  v.K = K;
  v.c32 = centers;
  v.c16 = NULL;
  return nearest(&v, x);
}

/* ---- the filter ------------------------------------------------------------------- */

VlIKMFilt *gmm_ikm_new(int method)
{
  VlIKMFilt *f = gmm_alloc_array(1, 1, sizeof *f, 1);
  if (!f) return NULL;
  f->method = method;
  f->max_niters = 200;
  return f;
}

static void drop_centers(VlIKMFilt *f)
{
  gmm_free(f->centers);
  gmm_free(f->centers16);
  f->centers = NULL;
  f->centers16 = NULL;
  f->small = 0;
  f->M = f->K = 0;
}

void gmm_ikm_delete(VlIKMFilt *f)
{
  if (!f) return;
  drop_centers(f);
  gmm_free(f);
}

/* Refreshes the int16 copy after the centers changed. */
static void refresh_small(VlIKMFilt *f)
{
  size_t const n = f->K * f->M;
  int small = f->M <= GMM_IKM_SMALL_MAX_DIM;
  for (size_t j = 0; j < n && small; ++j) small = f->centers[j] >= 0 && f->centers[j] <= 255;
  if (small)
    for (size_t j = 0; j < n; ++j) f->centers16[j] = (vl_int16)f->centers[j];
  f->small = small;
}

int gmm_ikm_adopt_centers(VlIKMFilt *f, vl_ikmacc_t *centers, size_t M, size_t K)
{
  vl_int16 *c16 = gmm_alloc_array(K, M, sizeof *c16, 0);
  if (!c16) {
    gmm_free(centers);
    return gmm_last_error();
  }
  drop_centers(f);
  f->centers = centers;
  f->centers16 = c16;
  f->M = M;
  f->K = K;
  refresh_small(f);
  return VL_ERR_OK;
}

int gmm_ikm_set_centers(VlIKMFilt *f, vl_ikmacc_t const *centers, size_t M, size_t K)
{
  vl_ikmacc_t *copy = gmm_alloc_array(K, M, sizeof *copy, 0);
  if (!copy) return gmm_last_error();
  memcpy(copy, centers, K * M * sizeof *copy);
  return gmm_ikm_adopt_centers(f, copy, M, K);
}

/* A 32-bit draw as VLFeat's signed center value (two's complement, written
 * without implementation-defined conversions). */
static vl_ikmacc_t as_signed32(vl_uint32 u)
{
  if (u <= 0x7fffffffU) return (vl_ikmacc_t)u;
  return (vl_ikmacc_t)(-(vl_int64)(0xffffffffU - u) - 1);
}

int gmm_ikm_init_rand(VlIKMFilt *f, size_t M, size_t K, VlRand *rand)
{
  vl_ikmacc_t *c = gmm_alloc_array(K, M, sizeof *c, 0);
  if (!c) return gmm_last_error();
  for (size_t j = 0; j < K * M; ++j) c[j] = as_signed32(gmm_rand_uint32(rand));
  return gmm_ikm_adopt_centers(f, c, M, K);
}

/* ---- random selection of distinct points ----------------------------------------------- */

typedef struct {
  vl_uint32 key;
  size_t index;
} ikm_key;

static int key_cmp(void const *a, void const *b)
{
  ikm_key const *p = a, *q = b;
  if (p->key != q->key) return p->key < q->key ? -1 : 1;
  return p->index < q->index ? -1 : (p->index > q->index);
}

static vl_uint64 hash_point(vl_uint8 const *x, size_t M)
{
  vl_uint64 h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t m = 0; m < M; ++m) h = (h ^ x[m]) * 1099511628211ULL;
  return h;
}

/* VLFeat visits the points by increasing key floor(s / 4), s being the
 * point's draw read as a signed 32-bit integer, ties by index. Flipping the
 * sign bit maps s + 2^31 to an unsigned number with the same order, and 2^31
 * is a multiple of 4, so (u ^ 2^31) >> 2 orders the points the same way.
 * Duplicates are detected with a hash set of the chosen points (VLFeat
 * compares with every chosen center, same outcome). */
int gmm_ikm_init_rand_data(VlIKMFilt *f, vl_uint8 const *data, size_t M, size_t N, size_t K,
                           VlRand *rand)
{
  ikm_key *order = NULL;
  size_t *table = NULL, cap = 1, chosen = 0, last = 0;
  vl_ikmacc_t *c = NULL;
  int err = VL_ERR_OK;

  while (cap < 2 * K) cap *= 2;
  order = gmm_alloc_array(N, 1, sizeof *order, 0);
  table = order ? gmm_alloc_array(cap, 1, sizeof *table, 0) : NULL;
  c = table ? gmm_alloc_array(K, M, sizeof *c, 0) : NULL;
  if (!c) {
    err = gmm_last_error();
    goto done;
  }
  for (size_t i = 0; i < N; ++i) {
    order[i].key = (gmm_rand_uint32(rand) ^ 0x80000000U) >> 2;
    order[i].index = i;
  }
  qsort(order, N, sizeof *order, key_cmp);
  for (size_t j = 0; j < cap; ++j) table[j] = SIZE_MAX;

  for (size_t r = 0; r < N && chosen < K; ++r) {
    vl_uint8 const *x = data + order[r].index * M;
    size_t slot = (size_t)hash_point(x, M) & (cap - 1);
    int dup = 0;
    last = order[r].index;
    while (table[slot] != SIZE_MAX) {
      if (memcmp(data + table[slot] * M, x, M) == 0) {
        dup = 1;
        break;
      }
      slot = (slot + 1) & (cap - 1);
    }
    if (dup) continue;
    table[slot] = order[r].index;
    for (size_t m = 0; m < M; ++m) c[chosen * M + m] = x[m];
    ++chosen;
  }
  /* Fewer than K distinct points: pad with the last point visited. */
  for (; chosen < K; ++chosen)
    for (size_t m = 0; m < M; ++m) c[chosen * M + m] = data[last * M + m];

  err = gmm_ikm_adopt_centers(f, c, M, K);
  c = NULL; /* adopted (or freed on failure) */
done:
  gmm_free(c);
  gmm_free(table);
  gmm_free(order);
  return err;
}

/* ---- assignment and update ----------------------------------------------------------- */

/* Exact nearest center of every point into `asgn`; returns how many differ
 * from `prev` (all N if prev is NULL). In parallel over ranges of rows (an
 * integer count: the same for any thread count). */
typedef struct {
  ikm_view const *v;
  vl_uint8 const *data;
  vl_uint32 *asgn;
  vl_uint32 const *prev;
  vl_uint32 const *cc; /* Elkan: center-center bounds */
  atomic_size_t changed, computed;
} assign_ctx;

static void exact_range(void *ctx, size_t i0, size_t i1, int worker)
{
  assign_ctx *c = ctx;
  size_t changed = 0;
  (void)worker;
  for (size_t i = i0; i < i1; ++i) {
    vl_uint32 const k = (vl_uint32)nearest(c->v, c->data + i * c->v->M);
    changed += !c->prev || c->prev[i] != k;
    c->asgn[i] = k;
  }
  atomic_fetch_add_explicit(&c->changed, changed, memory_order_relaxed);
}

/* Threads worth starting for `work` byte-distance operations. */
static int ikm_threads(double work) { return work >= IKM_PAR_WORK ? gmm_num_threads() : 1; }

static size_t assign_exact(ikm_view const *v, vl_uint8 const *data, size_t N, vl_uint32 *asgn,
                           vl_uint32 const *prev)
{
  assign_ctx c = {v, data, asgn, prev, NULL, 0, 0};
  gmm_run_ranges(N, IKM_GRAIN, ikm_threads((double)N * v->K * v->M), exact_range, &c);
  return atomic_load(&c.changed);
}

/* Centers <- integer part of the mean of their points (0 without points). */
static void update_centers(VlIKMFilt *f, vl_uint8 const *data, size_t N, vl_uint32 const *asgn,
                           vl_int64 *sums, size_t *counts)
{
  size_t const M = f->M, K = f->K;
  memset(sums, 0, K * M * sizeof *sums);
  memset(counts, 0, K * sizeof *counts);
  for (size_t i = 0; i < N; ++i) {
    vl_uint8 const *x = data + i * M;
    vl_int64 *s = sums + (size_t)asgn[i] * M;
    ++counts[asgn[i]];
    for (size_t m = 0; m < M; ++m) s[m] += x[m];
  }
  for (size_t k = 0; k < K; ++k)
    for (size_t m = 0; m < M; ++m)
      f->centers[k * M + m] = counts[k] ? (vl_ikmacc_t)(sums[k * M + m] / (vl_int64)counts[k]) : 0;
  refresh_small(f);
}

/* Squared distances between centers (all in [0, 255]), saturated to 32
 * bits: the pruning test compares them with 4 d, and saturation can only
 * make it compute a distance it could have skipped (M > 16000 or so). */
static void center_distances(VlIKMFilt const *f, vl_uint32 *cc)
{
  size_t const M = f->M, K = f->K;
  for (size_t a = 0; a < K; ++a) {
    cc[a * K + a] = 0;
    for (size_t b = a + 1; b < K; ++b) {
      vl_uint64 s = 0;
      for (size_t m = 0; m < M; ++m) {
        vl_int64 const d = (vl_int64)f->centers[a * M + m] - f->centers[b * M + m];
        s += (vl_uint64)(d * d);
      }
      cc[a * K + b] = cc[b * K + a] = s > 0xffffffffU ? 0xffffffffU : (vl_uint32)s;
    }
  }
}

/* One pruned assignment (VLFeat's integer Elkan step): a point assigned to
 * `a` starts from d = |x - c_a|^2 and visits the other centers in order,
 * skipping c when |c - c_a|^2 >= 4 d and moving to c when it is strictly
 * closer (d then shrinks). The skip test keeps using c_a after the point
 * found a closer center, which is not a valid bound: a skipped center can
 * be the nearest one. This is VLFeat's rule, kept so results match. */
static void elkan_range(void *ctx, size_t i0, size_t i1, int worker)
{
  assign_ctx *c = ctx;
  ikm_view const *v = c->v;
  size_t const K = v->K, M = v->M;
  size_t changed = 0, computed = 0;
  (void)worker;
  for (size_t i = i0; i < i1; ++i) {
    vl_uint8 const *x = c->data + i * M;
    size_t const a = c->prev[i];
    vl_uint32 const *cca = c->cc + a * K;
    vl_uint64 best = dist_to(v, x, a);
    size_t best_k = a;
    ++computed;
    for (size_t k = 0; k < K; ++k) {
      vl_uint64 d;
      if (k == a || (vl_uint64)cca[k] >= 4 * best) continue;
      d = dist_to(v, x, k);
      ++computed;
      if (d < best) {
        best = d;
        best_k = k;
      }
    }
    c->asgn[i] = (vl_uint32)best_k;
    changed += best_k != a;
  }
  atomic_fetch_add_explicit(&c->changed, changed, memory_order_relaxed);
  atomic_fetch_add_explicit(&c->computed, computed, memory_order_relaxed);
}

static size_t assign_elkan(ikm_view const *v, vl_uint32 const *cc, vl_uint8 const *data,
                           size_t N, vl_uint32 const *prev, vl_uint32 *asgn, size_t *ncomputed)
{
  assign_ctx c = {v, data, asgn, prev, cc, 0, 0};
  gmm_run_ranges(N, IKM_GRAIN, ikm_threads((double)N * v->K * v->M), elkan_range, &c);
  *ncomputed += atomic_load(&c.computed);
  return atomic_load(&c.changed);
}

int gmm_ikm_train(VlIKMFilt *f, vl_uint8 const *data, size_t N)
{
  size_t const M = f->M, K = f->K;
  vl_uint32 *asgn = NULL, *next = NULL, *cc = NULL;
  vl_int64 *sums = NULL;
  size_t *counts = NULL, iter = 0, computed = 0;
  int const elkan = f->method == VL_IKM_ELKAN;
  int err = VL_ERR_OK;

  asgn = gmm_alloc_array(N, 1, sizeof *asgn, 0);
  next = asgn ? gmm_alloc_array(N, 1, sizeof *next, 0) : NULL;
  sums = next ? gmm_alloc_array(K, M, sizeof *sums, 0) : NULL;
  counts = sums ? gmm_alloc_array(K, 1, sizeof *counts, 0) : NULL;
  cc = (counts && elkan) ? gmm_alloc_array(K, K, sizeof *cc, 0) : NULL;
  if (!counts || (elkan && !cc)) {
    err = gmm_last_error();
    goto done;
  }
  if (f->verb > 0) {
    gmm_printf("ikm: training with %zu data", N);
    gmm_printf("ikm: %zu clusters", K);
  }

  if (!elkan) {
    for (iter = 0; iter < f->max_niters; ++iter) {
      ikm_view const v = view_of(f);
      vl_uint32 *t;
      size_t const changed = assign_exact(&v, data, N, next, iter ? asgn : NULL);
      if (iter > 0 && changed == 0) break;
      t = asgn, asgn = next, next = t;
      update_centers(f, data, N, asgn, sums, counts);
    }
    if (f->verb > 0) gmm_printf("ikm: Lloyd algorithm: total iterations: %zu", iter);
  } else {
    ikm_view v = view_of(f);
    assign_exact(&v, data, N, asgn, NULL);
    computed = N * K;
    update_centers(f, data, N, asgn, sums, counts);
    for (iter = 0; iter < f->max_niters; ++iter) {
      vl_uint32 *t;
      size_t changed;
      v = view_of(f);
      center_distances(f, cc);
      changed = assign_elkan(&v, cc, data, N, asgn, next, &computed);
      if (changed == 0) break;
      t = asgn, asgn = next, next = t;
      update_centers(f, data, N, asgn, sums, counts);
    }
    if (f->verb > 0) {
      gmm_printf("ikm: Elkan algorithm: total iterations: %zu", iter);
      gmm_printf("ikm: Elkan algorithm: distance calculations: %zu (speedup: %.2f)", computed,
                 computed ? (double)N * K * (double)(iter + 1) / (double)computed : 0.0);
    }
  }
done:
  gmm_free(cc);
  gmm_free(counts);
  gmm_free(sums);
  gmm_free(next);
  gmm_free(asgn);
  return err;
}

int gmm_ikm_push(VlIKMFilt const *f, vl_uint32 *asgn, vl_uint8 const *data, size_t N)
{
  ikm_view const v = view_of(f);
  assign_exact(&v, data, N, asgn, NULL);
  return VL_ERR_OK;
}
