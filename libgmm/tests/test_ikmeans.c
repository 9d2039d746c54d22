/* test_ikmeans.c: integer k-means (vl_ikm_*) and vocabulary trees (vl_hikm_*).
 *
 * Closed forms and invariants against naive references written here: exact
 * nearest centers (first minimum), floored means, the documented random
 * selection rule replayed from a copy of the generator, VLFeat's Elkan rule
 * written out plainly, tree partitions, thread-count independence, bad
 * input (error code + message, filter unchanged), allocation failures (clean
 * error, nothing leaked under ASan/valgrind) and verbose output through the
 * printf hook only. The differential tests against VLFeat itself are in
 * tests/test_ikmeans.py. */
#include <stdarg.h>
#include <stdint.h>

#include "core/ikmeans_internal.h" /* GMM_IKM_PAR_WORK */
#include "test_util.h"
#include "vl/hikmeans.h"
#include "vl/ikmeans.h"
#include "vl/random.h"

extern void gmm_alloc_fail_after(long n);

#define EXPECT_ERR(code, frag)                                                        \
  CHECK_MSG(vl_get_last_error() == (code) &&                                          \
                strstr(vl_get_last_error_message(), (frag)) != NULL,                  \
            "expected error %d \"%s\", got %d \"%s\"", (code), (frag),                \
            vl_get_last_error(), vl_get_last_error_message())
#define EXPECT_OK() \
  CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "unexpected error: %s", vl_get_last_error_message())

/* ---- test data and naive references ------------------------------------------------- */

/* N x M points around `nblobs` random centers (values clipped to [0, 255]). */
static vl_uint8 *make_data(size_t N, size_t M, size_t nblobs, unsigned long long seed, double spread)
{
  vl_uint8 *x = malloc(N * M);
  double *c = malloc(nblobs * M * sizeof *c);
  test_seed(seed);
  for (size_t j = 0; j < nblobs * M; ++j) c[j] = 20 + 215 * test_uniform();
  for (size_t i = 0; i < N; ++i) {
    size_t const b = (size_t)(test_uniform() * (double)nblobs) % nblobs;
    for (size_t m = 0; m < M; ++m) {
      double v = c[b * M + m] + spread * test_normal();
      x[i * M + m] = (vl_uint8)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
    }
  }
  free(c);
  return x;
}

static long double naive_dist(vl_uint8 const *x, vl_ikmacc_t const *c, size_t M)
{
  long double s = 0;
  for (size_t m = 0; m < M; ++m) {
    long double const d = (long double)x[m] - (long double)c[m];
    s += d * d;
  }
  return s;
}

static size_t naive_nearest(vl_uint8 const *x, vl_ikmacc_t const *c, size_t M, size_t K)
{
  size_t best = 0;
  for (size_t k = 1; k < K; ++k)
    if (naive_dist(x, c + k * M, M) < naive_dist(x, c + best * M, M)) best = k;
  return best;
}

/* floor(mean) of the points assigned to each center, 0 for an empty one */
static void naive_means(vl_uint8 const *x, size_t N, size_t M, size_t K, vl_uint32 const *a,
                        vl_ikmacc_t *out)
{
  for (size_t k = 0; k < K; ++k)
    for (size_t m = 0; m < M; ++m) {
      unsigned long long s = 0, n = 0;
      for (size_t i = 0; i < N; ++i)
        if (a[i] == k) s += x[i * M + m], ++n;
      out[k * M + m] = n ? (vl_ikmacc_t)(s / n) : 0;
    }
}

static void seed_default(vl_uint32 s) { vl_rand_seed(vl_get_rand(), s); }

static vl_ikmacc_t *copy_centers(VlIKMFilt const *f)
{
  size_t const n = vl_ikm_get_K(f) * vl_ikm_get_ndims(f);
  vl_ikmacc_t *c = malloc((n ? n : 1) * sizeof *c);
  if (n) memcpy(c, vl_ikm_get_centers(f), n * sizeof *c);
  return c;
}

/* ---- defaults, getters, setters ---------------------------------------------------------- */

static void test_defaults(void)
{
  for (int method = 0; method < 2; ++method) {
    VlIKMFilt *f = vl_ikm_new(method);
    VlHIKMTree *t = vl_hikm_new(method);
    CHECK(f && t);
    CHECK(vl_ikm_get_ndims(f) == 0 && vl_ikm_get_K(f) == 0 && vl_ikm_get_centers(f) == NULL);
    CHECK(vl_ikm_get_max_niters(f) == 200 && vl_ikm_get_verbosity(f) == 0);
    vl_ikm_set_max_niters(f, 7);
    vl_ikm_set_verbosity(f, 3);
    CHECK(vl_ikm_get_max_niters(f) == 7 && vl_ikm_get_verbosity(f) == 3);
    CHECK(vl_hikm_get_ndims(t) == 0 && vl_hikm_get_K(t) == 0 && vl_hikm_get_depth(t) == 0);
    CHECK(vl_hikm_get_max_niters(t) == 200 && vl_hikm_get_verbosity(t) == 0);
    CHECK(vl_hikm_get_root(t) == NULL);
    vl_hikm_set_max_niters(t, 9);
    vl_hikm_set_verbosity(t, 2);
    vl_hikm_init(t, 4, 3, 2);
    EXPECT_OK();
    CHECK(vl_hikm_get_max_niters(t) == 9 && vl_hikm_get_verbosity(t) == 2);
    CHECK(vl_hikm_get_ndims(t) == 4 && vl_hikm_get_K(t) == 3 && vl_hikm_get_depth(t) == 2);
    vl_ikm_delete(f);
    vl_hikm_delete(t);
  }
}

/* ---- push: exact nearest center ----------------------------------------------------------- */

static void test_push(void)
{
  size_t const N = 500, M = 13, K = 9;
  vl_uint8 *x = make_data(N, M, 5, 1, 30);
  vl_ikmacc_t c[9 * 13];
  vl_uint32 a[500];
  test_seed(2);
  /* small centers (16-bit path), then wide ones far outside [0, 255] */
  for (int wide = 0; wide < 2; ++wide) {
    for (size_t j = 0; j < K * M; ++j)
      c[j] = wide ? (vl_ikmacc_t)(test_uniform() * 4.0e9 - 2.0e9) : (vl_ikmacc_t)(test_uniform() * 256);
    if (wide) /* one center near the data */
      for (size_t m = 0; m < M; ++m) c[4 * M + m] = x[17 * M + m] + 3;
    for (int method = 0; method < 2; ++method) {
      VlIKMFilt *f = vl_ikm_new(method);
      vl_ikm_init(f, c, M, K);
      EXPECT_OK();
      vl_ikm_push(f, a, x, N);
      EXPECT_OK();
      for (size_t i = 0; i < N; ++i) {
        size_t const k = naive_nearest(x + i * M, c, M, K);
        CHECK_MSG(a[i] == k, "wide %d method %d point %zu: %u vs %zu", wide, method, i, a[i], k);
        CHECK(vl_ikm_push_one(c, x + i * M, M, K) == k);
      }
      vl_ikm_delete(f);
    }
  }
  /* ties: the first center wins */
  {
    vl_ikmacc_t const tc[3] = {10, 14, 10};
    vl_uint8 const p[3] = {12, 10, 13};
    CHECK(vl_ikm_push_one(tc, p + 0, 1, 3) == 0);
    CHECK(vl_ikm_push_one(tc, p + 1, 1, 3) == 0);
    CHECK(vl_ikm_push_one(tc, p + 2, 1, 3) == 1);
  }
  /* squared distances beyond 32 bits stay exact: 46341^2 > 2^31 */
  {
    vl_ikmacc_t const tc[2] = {46341, 5};
    vl_ikmacc_t const huge[4] = {INT32_MIN, INT32_MIN, 2147483647, 2147483647};
    vl_uint8 const z[2] = {0, 255};
    CHECK(vl_ikm_push_one(tc, z, 1, 2) == 1);
    CHECK(vl_ikm_push_one(huge, z, 2, 2) == 1); /* |255 - 2^31| < |255 + 2^31| */
  }
  free(x);
}

/* ---- random initialisations ----------------------------------------------------------------- */

/* the documented order: key floor(int32(draw) / 4), ties by index */
static void replay_order(VlRand *r, size_t N, size_t *order)
{
  long long *key = malloc(N * sizeof *key);
  for (size_t i = 0; i < N; ++i) {
    vl_uint32 const u = vl_rand_uint32(r);
    long long const s = u >= 0x80000000U ? (long long)u - 4294967296LL : (long long)u;
    key[i] = s >= 0 ? s / 4 : -((-s + 3) / 4);
    order[i] = i;
  }
  for (size_t i = 1; i < N; ++i) { /* insertion sort: stable */
    size_t const v = order[i];
    size_t j = i;
    while (j > 0 && key[order[j - 1]] > key[v]) order[j] = order[j - 1], --j;
    order[j] = v;
  }
  free(key);
}

/* MT19937's output tempering is invertible: these make the default
 * generator's next n <= 624 draws equal `out` exactly. */
static vl_uint32 untemper(vl_uint32 y)
{
  vl_uint32 r;
  r = y;
  for (int i = 0; i < 2; ++i) r = y ^ (r >> 18);
  y = r;
  r = y;
  for (int i = 0; i < 3; ++i) r = y ^ ((r << 15) & 0xefc60000U);
  y = r;
  r = y;
  for (int i = 0; i < 6; ++i) r = y ^ ((r << 7) & 0x9d2c5680U);
  y = r;
  r = y;
  for (int i = 0; i < 4; ++i) r = y ^ (r >> 11);
  return r;
}

static void set_next_draws(vl_uint32 const *out, size_t n)
{
  VlRand *r = vl_get_rand();
  for (size_t i = 0; i < n; ++i) r->mt[i] = untemper(out[i]);
  r->mti = 0;
}

/* The order of the documented rule on chosen draws (VLFeat gives the same
 * orders): keys are floor(int32(draw) / 4), ties by index. */
static void test_init_rand_data_order(void)
{
  struct {
    size_t n;
    vl_uint32 draws[8];
    vl_ikmacc_t order[8];
  } const cases[] = {
      {6, {5, 4, 3, 2, 1, 0}, {2, 3, 4, 5, 0, 1}},
      {8, {7, 7, 3, 3, 9, 9, 3, 7}, {2, 3, 6, 0, 1, 7, 4, 5}},
      {4, {0x80000000U, 0x7fffffffU, 0, 0xffffffffU}, {0, 3, 2, 1}},
      {2, {0xffffffffU, 0xfffffffcU}, {0, 1}},
      {2, {0xfffffffdU, 3}, {0, 1}},
      {2, {3, 0xfffffffdU}, {1, 0}},
      {3, {0x80000000U, 0x80000003U, 0x7fffffffU}, {0, 1, 2}},
      {2, {(1U << 30) + 3, 1U << 30}, {0, 1}},
      {2, {(1U << 30) + 4, 1U << 30}, {1, 0}},
  };
  vl_uint8 idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (size_t t = 0; t < sizeof cases / sizeof cases[0]; ++t) {
    VlIKMFilt *f = vl_ikm_new(VL_IKM_LLOYD);
    set_next_draws(cases[t].draws, cases[t].n);
    vl_ikm_init_rand_data(f, idx, 1, cases[t].n, cases[t].n);
    CHECK_MSG(memcmp(vl_ikm_get_centers(f), cases[t].order, cases[t].n * sizeof(vl_ikmacc_t)) == 0,
              "case %zu", t);
    vl_ikm_delete(f);
  }
}

static void test_init_rand_data(void)
{
  size_t const N = 400, M = 3;
  size_t order[400];
  vl_uint8 *x = make_data(N, M, 4, 3, 60);
  vl_uint8 *few = malloc(N * M);
  for (size_t i = 0; i < N * M; ++i) few[i] = (vl_uint8)((i / M) % 5 * 7 + i % M); /* 5 distinct rows */

  for (int dataset = 0; dataset < 2; ++dataset) {
    vl_uint8 const *d = dataset ? few : x;
    size_t const Ks[4] = {1, 5, 8, 40};
    for (int ki = 0; ki < 4; ++ki) {
      size_t const K = Ks[ki];
      VlIKMFilt *f = vl_ikm_new(VL_IKM_LLOYD);
      VlRand copy;
      vl_ikmacc_t expect[40 * 3];
      size_t chosen = 0, last = 0;
      seed_default(100 + (vl_uint32)ki);
      copy = *vl_get_rand();
      vl_ikm_init_rand_data(f, d, M, N, K);
      EXPECT_OK();
      CHECK(vl_ikm_get_K(f) == K && vl_ikm_get_ndims(f) == M);
      /* exactly N draws were taken */
      replay_order(&copy, N, order);
      CHECK(vl_rand_uint32(vl_get_rand()) == vl_rand_uint32(&copy));
      for (size_t r = 0; r < N && chosen < K; ++r) {
        vl_uint8 const *p = d + order[r] * M;
        int dup = 0;
        last = order[r];
        for (size_t k = 0; k < chosen && !dup; ++k) {
          dup = 1;
          for (size_t m = 0; m < M; ++m) dup &= expect[k * M + m] == p[m];
        }
        if (dup) continue;
        for (size_t m = 0; m < M; ++m) expect[chosen * M + m] = p[m];
        ++chosen;
      }
      for (; chosen < K; ++chosen)
        for (size_t m = 0; m < M; ++m) expect[chosen * M + m] = d[last * M + m];
      CHECK_MSG(memcmp(expect, vl_ikm_get_centers(f), K * M * sizeof *expect) == 0,
                "dataset %d K %zu", dataset, K);
      vl_ikm_delete(f);
    }
  }
  /* vl_ikm_init_rand: K*M draws, each read as a signed 32-bit integer */
  {
    VlIKMFilt *f = vl_ikm_new(VL_IKM_ELKAN);
    VlRand copy;
    vl_ikmacc_t const *c;
    seed_default(7);
    copy = *vl_get_rand();
    vl_ikm_init_rand(f, 4, 6);
    EXPECT_OK();
    c = vl_ikm_get_centers(f);
    for (size_t j = 0; j < 24; ++j) {
      vl_uint32 const u = vl_rand_uint32(&copy);
      long long const s = u >= 0x80000000U ? (long long)u - 4294967296LL : (long long)u;
      CHECK(c[j] == s);
    }
    vl_ikm_delete(f);
  }
  free(x);
  free(few);
}

/* ---- training ----------------------------------------------------------------------------------- */

/* Lloyd, written out: exact assignment, stop when nothing changes (after the
 * first iteration), floored means. */
static void naive_lloyd(vl_uint8 const *x, size_t N, size_t M, size_t K, vl_ikmacc_t *c,
                        size_t niters)
{
  vl_uint32 *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  for (size_t it = 0; it < niters; ++it) {
    int changed = it == 0;
    for (size_t i = 0; i < N; ++i) {
      b[i] = (vl_uint32)naive_nearest(x + i * M, c, M, K);
      changed |= it > 0 && b[i] != a[i];
    }
    if (!changed) break;
    memcpy(a, b, N * sizeof *a);
    naive_means(x, N, M, K, a, c);
  }
  free(a);
  free(b);
}

/* VLFeat's Elkan variant, written out: exact assignment and means, then
 * iterations in which a point assigned to a visits the other centers in
 * order, skipping c when |c_c - c_a|^2 >= 4 d (d: squared distance to the
 * best center so far) and moving when strictly closer. */
static void naive_elkan(vl_uint8 const *x, size_t N, size_t M, size_t K, vl_ikmacc_t *c,
                        size_t niters)
{
  vl_uint32 *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  for (size_t i = 0; i < N; ++i) a[i] = (vl_uint32)naive_nearest(x + i * M, c, M, K);
  naive_means(x, N, M, K, a, c);
  for (size_t it = 0; it < niters; ++it) {
    int changed = 0;
    for (size_t i = 0; i < N; ++i) {
      size_t const ai = a[i];
      long double best = naive_dist(x + i * M, c + ai * M, M);
      size_t bk = ai;
      for (size_t k = 0; k < K; ++k) {
        long double cc = 0, dk;
        if (k == ai) continue;
        for (size_t m = 0; m < M; ++m) {
          long double const d = (long double)c[k * M + m] - c[ai * M + m];
          cc += d * d;
        }
        if (cc >= 4 * best) continue;
        dk = naive_dist(x + i * M, c + k * M, M);
        if (dk < best) best = dk, bk = k;
      }
      b[i] = (vl_uint32)bk;
      changed |= bk != ai;
    }
    if (!changed) break;
    memcpy(a, b, N * sizeof *a);
    naive_means(x, N, M, K, a, c);
  }
  free(a);
  free(b);
}

static void test_train(void)
{
  size_t const cases[][4] = {/* N, M, K, niters */
                             {300, 2, 5, 200}, {700, 9, 12, 200}, {250, 1, 7, 3},
                             {900, 16, 20, 1}, {120, 5, 4, 0}, {1000, 3, 30, 200}};
  for (size_t t = 0; t < sizeof cases / sizeof cases[0]; ++t) {
    size_t const N = cases[t][0], M = cases[t][1], K = cases[t][2], niters = cases[t][3];
    vl_uint8 *x = make_data(N, M, K / 2 + 1, 10 + t, 25);
    for (int method = 0; method < 2; ++method) {
      VlIKMFilt *f = vl_ikm_new(method);
      vl_ikmacc_t *expect;
      vl_uint32 *a = malloc(N * sizeof *a);
      int rc;
      vl_ikm_set_max_niters(f, niters);
      seed_default((vl_uint32)t);
      vl_ikm_init_rand_data(f, x, M, N, K);
      expect = copy_centers(f);
      rc = vl_ikm_train(f, x, N);
      CHECK(rc == 0);
      EXPECT_OK();
      if (method == VL_IKM_LLOYD) naive_lloyd(x, N, M, K, expect, niters);
      else naive_elkan(x, N, M, K, expect, niters);
      CHECK_MSG(memcmp(expect, vl_ikm_get_centers(f), K * M * sizeof *expect) == 0,
                "case %zu method %d", t, method);
      /* converged Lloyd is a fixed point: centers are the floored means of the push */
      if (method == VL_IKM_LLOYD && niters == 200) {
        vl_ikmacc_t *means = malloc(K * M * sizeof *means);
        vl_ikm_push(f, a, x, N);
        naive_means(x, N, M, K, a, means);
        CHECK(memcmp(means, vl_ikm_get_centers(f), K * M * sizeof *means) == 0);
        free(means);
      }
      for (size_t j = 0; j < K * M; ++j)
        CHECK(vl_ikm_get_centers(f)[j] >= 0 && vl_ikm_get_centers(f)[j] <= 255);
      free(a);
      free(expect);
      vl_ikm_delete(f);
    }
    free(x);
  }
}

/* Coarse data (a few levels per coordinate): many ties and equalities in
 * the distances, where the rules (first minimum, strict moves, the >= of
 * the pruning test) matter. */
static void test_train_coarse(void)
{
  static double const levels[4] = {8, 16, 64, 256};
  test_seed(77);
  for (int trial = 0; trial < 2000; ++trial) {
    size_t const N = 2 + (size_t)(test_uniform() * 40), M = 1 + (size_t)(test_uniform() * 3);
    size_t const K = 2 + (size_t)(test_uniform() * (double)((N < 8 ? N : 8) - 1));
    double const lv = levels[(size_t)(test_uniform() * 4)];
    size_t const niters = 1 + (size_t)(test_uniform() * 4);
    int const method = trial % 2;
    vl_uint8 *x = malloc(N * M);
    vl_ikmacc_t *expect = malloc(K * M * sizeof *expect);
    VlIKMFilt *f = vl_ikm_new(method);
    for (size_t j = 0; j < N * M; ++j) x[j] = (vl_uint8)(test_uniform() * lv);
    seed_default((vl_uint32)trial);
    vl_ikm_init_rand_data(f, x, M, N, K); /* centers at data points, as in training */
    memcpy(expect, vl_ikm_get_centers(f), K * M * sizeof *expect);
    vl_ikm_set_max_niters(f, niters);
    vl_ikm_train(f, x, N);
    if (method == VL_IKM_LLOYD) naive_lloyd(x, N, M, K, expect, niters);
    else naive_elkan(x, N, M, K, expect, niters);
    CHECK_MSG(memcmp(expect, vl_ikm_get_centers(f), K * M * sizeof *expect) == 0, "trial %d",
              trial);
    vl_ikm_delete(f);
    free(x);
    free(expect);
  }
}

/* Closed forms: K = 1 gives the floored mean in one update; an empty center goes to 0. */
static void test_closed_forms(void)
{
  vl_uint8 const x[5] = {0, 1, 1, 4, 9}; /* mean 3 */
  vl_uint8 const y[4] = {0, 1, 2, 3};
  vl_ikmacc_t const c1[1] = {200};
  vl_ikmacc_t const c2[2] = {0, 200};
  for (int method = 0; method < 2; ++method) {
    VlIKMFilt *f = vl_ikm_new(method);
    vl_ikm_init(f, c1, 1, 1);
    vl_ikm_train(f, x, 5);
    CHECK(vl_ikm_get_centers(f)[0] == 3);
    /* Lloyd: 0..3 go to center 0 (mean 1), center 1 empties to 0; then 0 moves */
    vl_ikm_init(f, c2, 1, 2);
    vl_ikm_set_max_niters(f, 1);
    vl_ikm_train(f, y, 4);
    CHECK(vl_ikm_get_centers(f)[0] == (method ? 2 : 1) && vl_ikm_get_centers(f)[1] == 0);
    /* zero iterations: Lloyd keeps the centers, Elkan still does one update */
    vl_ikm_init(f, c2, 1, 2);
    vl_ikm_set_max_niters(f, 0);
    vl_ikm_train(f, y, 4);
    CHECK(vl_ikm_get_centers(f)[0] == (method ? 1 : 0));
    vl_ikm_delete(f);
  }
  /* Elkan's pruning is not exact (VLFeat's rule): point 9 of {10, 11, 2, 9},
   * with centers (11, 10, 5) after the first update, moves to center 0 (at
   * distance 2) although center 1 is at distance 1. */
  {
    vl_uint8 const z[4] = {10, 11, 2, 9};
    vl_ikmacc_t const c3[3] = {11, 10, 9};
    VlIKMFilt *f = vl_ikm_new(VL_IKM_ELKAN);
    vl_ikm_init(f, c3, 1, 3);
    vl_ikm_set_max_niters(f, 1);
    vl_ikm_train(f, z, 4);
    CHECK(vl_ikm_get_centers(f)[0] == 10 && vl_ikm_get_centers(f)[1] == 10 &&
          vl_ikm_get_centers(f)[2] == 2);
    vl_ikm_delete(f);
  }
  /* sums beyond 2^31 stay exact (VLFeat's 32-bit sums wrap past 8421504 points) */
  {
    size_t const N = 9000000;
    vl_uint8 *big = malloc(N);
    VlIKMFilt *f = vl_ikm_new(VL_IKM_ELKAN);
    memset(big, 255, N);
    vl_ikm_init(f, c1, 1, 1);
    vl_ikm_train(f, big, N);
    CHECK(vl_ikm_get_centers(f)[0] == 255);
    vl_ikm_delete(f);
    free(big);
  }
}

/* ---- trees ---------------------------------------------------------------------------------- */

static size_t count_nodes(VlHIKMNode const *n)
{
  size_t c = 1;
  if (n->children)
    for (size_t k = 0; k < vl_ikm_get_K(n->filter); ++k) c += count_nodes(n->children[k]);
  return c;
}

/* Every node has min(K, n) centers for the n training points that reach it
 * (following the push), floored means of those points after Lloyd, and
 * children exactly above the last level. Returns the number of points. */
static size_t check_node(VlHIKMNode const *node, vl_uint8 const *x, size_t M, size_t K,
                         size_t depth, size_t level, vl_uint32 const *paths, size_t N,
                         vl_uint32 const *prefix, int lloyd)
{
  size_t n = 0;
  size_t const nk = vl_ikm_get_K(node->filter);
  vl_uint8 *sub = malloc(N * M + 1);
  for (size_t i = 0; i < N; ++i) {
    int in = 1;
    for (size_t l = 0; l < level; ++l) in &= paths[i * depth + l] == prefix[l];
    if (in) memcpy(sub + n * M, x + i * M, M), ++n;
  }
  CHECK_MSG(nk == (n < K ? n : K), "level %zu: %zu centers for %zu points", level, nk, n);
  CHECK(vl_ikm_get_ndims(node->filter) == M);
  CHECK((node->children != NULL) == (level + 1 < depth && nk > 0));
  if (nk > 0 && lloyd) {
    vl_uint32 *a = malloc(n * sizeof *a);
    vl_ikmacc_t *means = malloc(nk * M * sizeof *means);
    vl_ikm_push(node->filter, a, sub, n);
    naive_means(sub, n, M, nk, a, means);
    CHECK(memcmp(means, vl_ikm_get_centers(node->filter), nk * M * sizeof *means) == 0);
    free(a);
    free(means);
  }
  if (node->children) {
    vl_uint32 pre[16];
    size_t total = 0;
    memcpy(pre, prefix, level * sizeof *pre);
    for (size_t k = 0; k < nk; ++k) {
      pre[level] = (vl_uint32)k;
      total += check_node(node->children[k], x, M, K, depth, level + 1, paths, N, pre, lloyd);
    }
    CHECK(total == n);
  }
  free(sub);
  return n;
}

static void test_tree(void)
{
  size_t const N = 1500, M = 6;
  vl_uint8 *x = make_data(N, M, 9, 21, 20);
  for (int method = 0; method < 2; ++method) {
    size_t const shapes[][2] = {{3, 1}, {3, 3}, {5, 2}, {2, 6}};
    for (size_t s = 0; s < 4; ++s) {
      size_t const K = shapes[s][0], depth = shapes[s][1];
      VlHIKMTree *t = vl_hikm_new(method);
      vl_uint32 *paths = malloc(N * depth * sizeof *paths);
      vl_uint32 prefix[1] = {0};
      VlHIKMNode const *root;
      vl_hikm_init(t, M, K, depth);
      seed_default(5);
      vl_hikm_train(t, x, N);
      EXPECT_OK();
      root = vl_hikm_get_root(t);
      CHECK(root != NULL);
      vl_hikm_push(t, paths, x, N);
      EXPECT_OK();
      for (size_t i = 0; i < N * depth; ++i) CHECK(paths[i] < K);
      CHECK(check_node(root, x, M, K, depth, 0, paths, N, prefix, method == VL_IKM_LLOYD) == N);
      /* the same seed builds the same tree; retraining replaces it */
      {
        VlHIKMTree *u = vl_hikm_new(method);
        vl_uint32 *p2 = malloc(N * depth * sizeof *p2);
        vl_hikm_init(u, M, K, depth);
        seed_default(5);
        vl_hikm_train(u, x, N);
        vl_hikm_push(u, p2, x, N);
        CHECK(memcmp(paths, p2, N * depth * sizeof *p2) == 0);
        CHECK(count_nodes(vl_hikm_get_root(u)) == count_nodes(root));
        seed_default(6);
        vl_hikm_train(u, x, N);
        CHECK(vl_hikm_get_root(u) != NULL);
        vl_hikm_delete(u);
        free(p2);
      }
      vl_hikm_init(t, M, K, depth); /* drops the tree */
      CHECK(vl_hikm_get_root(t) == NULL);
      vl_hikm_push(t, paths, x, N);
      EXPECT_ERR(VL_ERR_BAD_STATE, "not trained");
      free(paths);
      vl_hikm_delete(t);
    }
  }
  free(x);
}

/* A node that no training point reaches has no centers and no children; a
 * new point that reaches it gets 0 from that level down. */
static void test_tree_empty_nodes(void)
{
  vl_uint8 x[8] = {5, 5, 5, 5, 5, 5, 9, 9};
  vl_uint8 const y[2] = {0, 9};
  vl_uint32 p[6];
  VlHIKMTree *t = vl_hikm_new(VL_IKM_LLOYD);
  VlHIKMNode const *root;
  size_t empty = 3;
  vl_hikm_init(t, 1, 3, 3);
  seed_default(1);
  vl_hikm_train(t, x, 8);
  EXPECT_OK();
  root = vl_hikm_get_root(t);
  /* three centers for two distinct values: one of them is duplicated, loses
   * its points and goes to 0 */
  CHECK(vl_ikm_get_K(root->filter) == 3);
  for (size_t k = 0; k < 3; ++k)
    if (vl_ikm_get_K(root->children[k]->filter) == 0) {
      empty = k;
      CHECK(root->children[k]->children == NULL && vl_ikm_get_centers(root->children[k]->filter) == NULL);
    }
  CHECK(empty < 3 && vl_ikm_get_centers(root->filter)[empty] == 0);
  vl_hikm_push(t, p, y, 2);
  EXPECT_OK();
  CHECK(p[0] == empty && p[1] == 0 && p[2] == 0); /* 0 reaches the empty node */
  CHECK(vl_ikm_get_centers(root->filter)[p[3]] == 9);
  vl_hikm_delete(t);
}

/* The nodes' filters are reachable (VLFeat's public layout). Re-initialising
 * one with more centers than it has children must not make pushing or
 * freeing the tree read past the children (checked under ASan). */
static void test_tree_modified_node(void)
{
  size_t const N = 300, M = 2;
  vl_uint8 *x = make_data(N, M, 4, 61, 20);
  vl_ikmacc_t c[2 * 8];
  vl_uint32 *p = malloc(N * 3 * sizeof *p);
  VlHIKMTree *t = vl_hikm_new(VL_IKM_LLOYD);
  VlHIKMNode const *root;
  for (size_t j = 0; j < 16; ++j) c[j] = (vl_ikmacc_t)(j * 16);
  vl_hikm_init(t, M, 3, 3);
  seed_default(2);
  vl_hikm_train(t, x, N);
  root = vl_hikm_get_root(t);
  vl_ikm_init(root->filter, c, M, 8);
  vl_hikm_push(t, p, x, N);
  EXPECT_OK();
  for (size_t i = 0; i < N; ++i)
    if (p[i * 3] >= 3) CHECK(p[i * 3 + 1] == 0 && p[i * 3 + 2] == 0);
  vl_hikm_delete(t);
  free(p);
  free(x);
}

/* ---- threads ---------------------------------------------------------------------------------- */

static void test_threads(void)
{
  size_t const N = 12000, M = 32, K = 16;
  vl_uint8 *x = make_data(N, M, 20, 31, 15);
  CHECK((double)N * K * M >= GMM_IKM_PAR_WORK); /* the parallel loops run */
  for (int method = 0; method < 2; ++method) {
    vl_ikmacc_t *c[2];
    vl_uint32 *a[2], *p[2];
    for (int th = 0; th < 2; ++th) {
      VlIKMFilt *f = vl_ikm_new(method);
      VlHIKMTree *t = vl_hikm_new(method);
      vl_set_num_threads((vl_size)th + 1);
      seed_default(3);
      vl_ikm_init_rand_data(f, x, M, N, K);
      vl_ikm_train(f, x, N);
      c[th] = copy_centers(f);
      a[th] = malloc(N * sizeof *a[th]);
      vl_ikm_push(f, a[th], x, N);
      vl_hikm_init(t, M, 4, 3);
      vl_hikm_train(t, x, N);
      p[th] = malloc(N * 3 * sizeof *p[th]);
      vl_hikm_push(t, p[th], x, N);
      vl_ikm_delete(f);
      vl_hikm_delete(t);
    }
    CHECK(memcmp(c[0], c[1], K * M * sizeof *c[0]) == 0);
    CHECK(memcmp(a[0], a[1], N * sizeof *a[0]) == 0);
    CHECK(memcmp(p[0], p[1], N * 3 * sizeof *p[0]) == 0);
    for (int th = 0; th < 2; ++th) free(c[th]), free(a[th]), free(p[th]);
  }
  vl_set_num_threads(0);
  free(x);
}

/* ---- bad input --------------------------------------------------------------------------------- */

static void test_errors(void)
{
  vl_uint8 const x[6] = {1, 2, 3, 4, 5, 6};
  vl_ikmacc_t const c[4] = {1, 2, 3, 4};
  vl_uint32 a[6], a6x256[256];
  VlIKMFilt *f;
  VlHIKMTree *t;

  CHECK(vl_ikm_new(2) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "unknown method 2");
  CHECK(vl_hikm_new(-1) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "unknown method -1");

  f = vl_ikm_new(VL_IKM_LLOYD);
  CHECK(vl_ikm_train(f, x, 6) == VL_ERR_BAD_STATE);
  EXPECT_ERR(VL_ERR_BAD_STATE, "no centers");
  vl_ikm_push(f, a, x, 6);
  EXPECT_ERR(VL_ERR_BAD_STATE, "no centers");
  vl_ikm_init(f, c, 0, 2);
  EXPECT_ERR(VL_ERR_BAD_ARG, "dimension M is 0");
  vl_ikm_init(f, c, 2, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "K is 0");
  vl_ikm_init(f, NULL, 2, 2);
  EXPECT_ERR(VL_ERR_BAD_ARG, "centers is NULL");
  vl_ikm_init(f, c, SIZE_MAX / 2, 3);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows");
  vl_ikm_init(f, c, 1, (vl_size)0x100000000ULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "32-bit");
  CHECK(vl_ikm_get_K(f) == 0 && vl_ikm_get_centers(f) == NULL); /* unchanged */
  vl_ikm_init_rand_data(f, x, 2, 3, 4);
  EXPECT_ERR(VL_ERR_BAD_ARG, "exceed the N = 3");
  vl_ikm_init_rand_data(f, NULL, 2, 3, 2);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  vl_ikm_init_rand_data(f, x, 2, SIZE_MAX, 2);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows");
  vl_ikm_init_rand(f, 0, 3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "dimension M is 0");

  vl_ikm_init(f, c, 2, 2);
  EXPECT_OK();
  CHECK(vl_ikm_train(f, x, 0) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "N = 0");
  CHECK(vl_ikm_train(f, NULL, 3) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  vl_ikm_push(f, NULL, x, 3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "asgn is NULL");
  vl_ikm_push(f, a, x, 0); /* nothing to do */
  EXPECT_OK();
  CHECK(memcmp(vl_ikm_get_centers(f), c, sizeof c) == 0); /* unchanged by the failures */
  CHECK(vl_ikm_push_one(NULL, x, 2, 2) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "centers is NULL");
  CHECK(vl_ikm_push_one(c, NULL, 2, 2) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  CHECK(vl_ikm_push_one(c, x, 2, 0) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "K is 0");
  vl_ikm_delete(f);

  CHECK(vl_ikm_get_K(NULL) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL integer k-means filter");
  vl_ikm_set_max_niters(NULL, 3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_ikm_set_max_niters: NULL");
  vl_ikm_delete(NULL);
  EXPECT_OK();

  t = vl_hikm_new(VL_IKM_ELKAN);
  vl_hikm_train(t, x, 3);
  EXPECT_ERR(VL_ERR_BAD_STATE, "vl_hikm_init first");
  vl_hikm_init(t, 2, 0, 2);
  EXPECT_ERR(VL_ERR_BAD_ARG, "must be >= 1");
  vl_hikm_init(t, 2, 2, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "must be >= 1");
  vl_hikm_init(t, SIZE_MAX / 2, 3, 2);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflow");
  vl_hikm_init(t, 2, 2, 257);
  EXPECT_ERR(VL_ERR_BAD_ARG, "maximum of 256");
  CHECK(vl_hikm_get_depth(t) == 0); /* unchanged by the failures */
  vl_hikm_init(t, 1, 1, 256); /* the deepest tree: a chain for one point */
  EXPECT_OK();
  vl_hikm_train(t, x, 1);
  EXPECT_OK();
  vl_hikm_push(t, a6x256, x, 1);
  EXPECT_OK();
  for (size_t l = 0; l < 256; ++l) CHECK(a6x256[l] == 0);
  vl_hikm_set_max_niters(t, -1);
  EXPECT_ERR(VL_ERR_BAD_ARG, ">= 0");
  CHECK(vl_hikm_get_max_niters(t) == 200);
  vl_hikm_init(t, 2, 2, 2);
  vl_hikm_train(t, x, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "N = 0");
  vl_hikm_train(t, NULL, 3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  vl_hikm_train(t, x, 3);
  EXPECT_OK();
  vl_hikm_push(t, NULL, x, 3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "asgn is NULL");
  vl_hikm_push(t, a, x, SIZE_MAX / 4);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflow");
  CHECK(vl_hikm_get_root(t) != NULL);
  vl_hikm_delete(t);
  CHECK(vl_hikm_get_root(NULL) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL tree");
}

/* ---- allocation failures -------------------------------------------------------------------- */

static void test_alloc_failures(void)
{
  size_t const N = 200, M = 4, K = 5;
  vl_uint8 *x = make_data(N, M, 6, 41, 20);
  for (int method = 0; method < 2; ++method) {
    int failures = 0, successes = 0;
    for (long n = 1; n < 200 && successes < 2; ++n) {
      VlIKMFilt *f = vl_ikm_new(method);
      VlHIKMTree *t = vl_hikm_new(method);
      vl_ikmacc_t *before;
      int rc;
      seed_default(1);
      vl_ikm_init_rand_data(f, x, M, N, K);
      before = copy_centers(f);
      vl_hikm_init(t, M, 3, 3);
      gmm_alloc_fail_after(n);
      rc = vl_ikm_train(f, x, N);
      gmm_alloc_fail_after(0);
      if (rc) {
        ++failures;
        CHECK(rc == VL_ERR_ALLOC && vl_get_last_error() == VL_ERR_ALLOC);
        CHECK(memcmp(before, vl_ikm_get_centers(f), K * M * sizeof *before) == 0);
      }
      gmm_alloc_fail_after(n);
      vl_hikm_train(t, x, N);
      gmm_alloc_fail_after(0);
      if (vl_get_last_error()) {
        ++failures;
        CHECK(vl_get_last_error() == VL_ERR_ALLOC && vl_hikm_get_root(t) == NULL);
      } else {
        ++successes;
        CHECK(vl_hikm_get_root(t) != NULL);
      }
      gmm_alloc_fail_after(n);
      vl_ikm_init_rand_data(f, x, M, N, K);
      gmm_alloc_fail_after(0);
      if (vl_get_last_error()) CHECK(vl_get_last_error() == VL_ERR_ALLOC && vl_ikm_get_K(f) == K);
      free(before);
      vl_ikm_delete(f);
      vl_hikm_delete(t);
    }
    CHECK(failures > 10 && successes == 2);
  }
  free(x);
}

/* ---- verbose output goes through the printf hook, only when asked ---------------------------- */

static int g_lines, g_bad_lines;
static int capture_printf(char const *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ++g_lines;
  if (strncmp(buf, "ikm: ", 5) != 0 && strncmp(buf, "hikmeans: ", 10) != 0) ++g_bad_lines;
  return 0;
}

static void test_verbose(void)
{
  size_t const N = 300, M = 2;
  vl_uint8 *x = make_data(N, M, 3, 51, 10);
  printf_func_t old = vl_get_printf_func();
  vl_set_printf_func(capture_printf);
  for (int method = 0; method < 2; ++method) {
    VlIKMFilt *f = vl_ikm_new(method);
    VlHIKMTree *t = vl_hikm_new(method);
    g_lines = g_bad_lines = 0;
    vl_ikm_init_rand_data(f, x, M, N, 3);
    vl_ikm_train(f, x, N);
    vl_hikm_init(t, M, 3, 2);
    vl_hikm_train(t, x, N);
    CHECK(g_lines == 0);
    vl_ikm_set_verbosity(f, 1);
    vl_ikm_train(f, x, N);
    CHECK(g_lines >= 3 && g_bad_lines == 0);
    g_lines = 0;
    vl_hikm_set_verbosity(t, 1); /* progress lines only: the nodes get verbosity 0 */
    vl_hikm_train(t, x, N);
    CHECK(g_lines == 3 && g_bad_lines == 0);
    g_lines = 0;
    vl_hikm_set_verbosity(t, 2);
    vl_hikm_train(t, x, N);
    CHECK(g_lines > 3 * 4 && g_bad_lines == 0);
    vl_ikm_delete(f);
    vl_hikm_delete(t);
  }
  vl_set_printf_func(old);
  free(x);
}

int main(void)
{
  test_defaults();
  test_push();
  test_init_rand_data();
  test_init_rand_data_order();
  test_train();
  test_train_coarse();
  test_closed_forms();
  test_tree();
  test_tree_empty_nodes();
  test_tree_modified_node();
  test_threads();
  test_errors();
  test_alloc_failures();
  test_verbose();
  TEST_EXIT();
}
