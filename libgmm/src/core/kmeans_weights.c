/* kmeans_weights.c: the type-independent parts of weighted k-means (see
 * vl/libgmm/kmeans.h for the semantics): the preparation of a call's
 * weights, the weighted draw of one point and the exponential clocks of
 * weighted random selection. The typed parts are in kmeans.tc,
 * kmeans_refine.tc and kmeans_weights.tc. */
#include <stdlib.h>
#include <string.h>

#include "core/kmeans.h"

void gmm_kmeans_weights_free(gmm_kmeans_weights *kw)
{
  gmm_free(kw->w);
  gmm_free(kw->pos);
  kw->w = NULL;
  kw->pos = NULL;
}

/* The weights are copied (checked, then used: another thread changing the
 * caller's array cannot change what was checked) and rescaled: the results
 * depend only on the weights up to a common factor. When every positive
 * weight is the same the copy holds 0 or 1, and is dropped when every
 * weight is positive (the unweighted computation); otherwise the weights are
 * multiplied by the power of two that puts the largest in [1, 2), which
 * changes no rounding (a weight that this makes smaller than the smallest
 * double, 2^-1074, counts as 0). Energies are computed with these weights
 * and multiplied back by `scale`. */
int gmm_kmeans_weights_init(gmm_kmeans_weights *kw, double const *weights, size_t N, size_t K,
                            char const *fn)
{
  double wmin = INFINITY, wmax = 0;
  size_t npos = 0;
  int err;
  kw->w = NULL;
  kw->pos = NULL;
  kw->npos = N;
  kw->scale = 1;
  kw->equal = 1;
  if (!weights) return VL_ERR_OK;
  if (!(kw->w = gmm_alloc_array(N, 1, sizeof *kw->w, 0))) return gmm_last_error();
  memcpy(kw->w, weights, N * sizeof *kw->w);
  if ((err = gmm_check_weights(fn, kw->w, N, 0))) goto fail;
  for (size_t i = 0; i < N; ++i)
    if (kw->w[i] > 0) {
      if (kw->w[i] < wmin) wmin = kw->w[i];
      if (kw->w[i] > wmax) wmax = kw->w[i];
    }
  if (wmin == wmax) {
    kw->scale = wmax;
    for (size_t i = 0; i < N; ++i) kw->w[i] = kw->w[i] > 0 ? 1.0 : 0.0;
  } else {
    int e;
    (void)frexp(wmax, &e); /* wmax = m 2^e, m in [0.5, 1) */
    kw->scale = ldexp(1.0, e - 1);
    kw->equal = 0;
    for (size_t i = 0; i < N; ++i) kw->w[i] = ldexp(kw->w[i], 1 - e);
  }
  for (size_t i = 0; i < N; ++i) npos += kw->w[i] > 0;
  kw->npos = npos;
  if (K > npos) {
    err = gmm_error(VL_ERR_BAD_ARG,
                    "%s: numCenters (%zu) exceeds the number of points with a positive weight "
                    "(%zu)", fn, K, npos);
    goto fail;
  }
  if (npos == N) {
    if (kw->equal) { /* all equal: the unweighted computation, energies x scale */
      gmm_free(kw->w);
      kw->w = NULL;
    }
    return VL_ERR_OK;
  }
  if (!(kw->pos = gmm_alloc_array(npos, 1, sizeof *kw->pos, 0))) {
    err = gmm_last_error();
    goto fail;
  }
  for (size_t i = 0, j = 0; i < N; ++i)
    if (kw->w[i] > 0) kw->pos[j++] = i;
  return VL_ERR_OK;
fail:
  gmm_kmeans_weights_free(kw);
  return err;
}

size_t gmm_kmeans_pick_weighted(double const *w, size_t N, VlRand *rand)
{
  double total = 0, acc = 0, thresh;
  size_t last = 0;
  for (size_t i = 0; i < N; ++i) total += w[i];
  thresh = gmm_rand_real1(rand) * total;
  for (size_t i = 0; i < N; ++i) {
    if (!(w[i] > 0)) continue;
    acc += w[i];
    last = i;
    if (acc >= thresh) return i;
  }
  return last; /* rounding only: acc ends at total >= thresh */
}

/* A uniform draw in (0, 1) with 53 random bits (two uint32 draws). */
static double open_uniform(VlRand *rand)
{
  double const hi = (double)(gmm_rand_uint32(rand) >> 5), lo = (double)(gmm_rand_uint32(rand) >> 6);
  return (hi * 67108864.0 + lo + 0.5) * (1.0 / 9007199254740992.0);
}

static int key_cmp(void const *a, void const *b)
{
  gmm_kmeans_key const *x = (gmm_kmeans_key const *)a, *y = (gmm_kmeans_key const *)b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* The first of independent exponential clocks of rates w_i is point i with
 * probability w_i / sum w, and the clocks have no memory: their order is
 * successive sampling without replacement in proportion to the weights. */
size_t gmm_kmeans_clocks(gmm_kmeans_key *keys, double const *w, size_t N, VlRand *rand)
{
  size_t m = 0;
  for (size_t i = 0; i < N; ++i) {
    if (!(w[i] > 0)) continue;
    keys[m].key = -log(open_uniform(rand)) / w[i];
    keys[m].i = i;
    ++m;
  }
  return m;
}

static void key_swap(gmm_kmeans_key *a, gmm_kmeans_key *b)
{
  gmm_kmeans_key t = *a;
  *a = *b;
  *b = t;
}

/* Moves the k smallest keys of keys[0..n) (k <= n) to the front, in
 * increasing order (key_cmp is a total order: the keys are distinct by
 * index). A quickselect with a median-of-three pivot, then a sort of the
 * front: the same order as sorting everything. */
void gmm_kmeans_sort_front(gmm_kmeans_key *keys, size_t n, size_t k)
{
  size_t lo = 0, hi = n;
  if (k == 0) return;
  while (k < n && hi - lo > 1) {
    size_t const mid = lo + (hi - lo) / 2, last = hi - 1;
    size_t store = lo;
    /* median of keys[lo], keys[mid], keys[last] into keys[last] as the pivot */
    if (key_cmp(&keys[mid], &keys[lo]) < 0) key_swap(&keys[mid], &keys[lo]);
    if (key_cmp(&keys[last], &keys[lo]) < 0) key_swap(&keys[last], &keys[lo]);
    if (key_cmp(&keys[mid], &keys[last]) < 0) key_swap(&keys[mid], &keys[last]);
    for (size_t j = lo; j < last; ++j)
      if (key_cmp(&keys[j], &keys[last]) < 0) key_swap(&keys[j], &keys[store++]);
    key_swap(&keys[store], &keys[last]); /* keys[store] is the (store+1)-th smallest */
    if (store + 1 == k || store == k) break;
    if (store + 1 < k) lo = store + 1;
    else hi = store;
  }
  qsort(keys, k, sizeof *keys, key_cmp);
}
