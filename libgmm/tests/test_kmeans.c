/* test_kmeans.c: k-means seeding, Lloyd/Elkan/ANN refinement, quantization,
 * errors, thread independence, copies and verbose output. */
#include <stdarg.h>

#include "test_util.h"
#include "vl/kmeans.h"
#include "vl/random.h"
#include "vl/generic.h"
#include "vl/libgmm.h"
#include "core/kmeans.h" /* struct access (bad-distance test), alloc failure hook */

/* ---- data ---------------------------------------------------------------------------- */

/* N x D points around K well separated Gaussian blobs (double). */
static double *make_blobs(size_t N, size_t D, size_t K, unsigned long long seed, double spread)
{
  double *mu = malloc(K * D * sizeof *mu), *x = malloc(N * D * sizeof *x);
  test_seed(seed);
  for (size_t i = 0; i < K * D; ++i) mu[i] = spread * test_normal();
  for (size_t i = 0; i < N; ++i) {
    size_t k = (size_t)(test_uniform() * K) % K;
    for (size_t d = 0; d < D; ++d) x[i * D + d] = mu[k * D + d] + test_normal();
  }
  free(mu);
  return x;
}

static float *to_float(double const *x, size_t n)
{
  float *y = malloc(n * sizeof *y);
  for (size_t i = 0; i < n; ++i) y[i] = (float)x[i];
  return y;
}

static void *data_of(vl_type t, double const *xd, float const *xf)
{
  return t == VL_TYPE_FLOAT ? (void *)xf : (void *)xd;
}

static double elem(vl_type t, void const *p, size_t i)
{
  return t == VL_TYPE_FLOAT ? (double)((float const *)p)[i] : ((double const *)p)[i];
}

static size_t esize(vl_type t) { return t == VL_TYPE_FLOAT ? sizeof(float) : sizeof(double); }

/* Brute-force distance in double. */
static double bf_dist(vl_type t, VlVectorComparisonType dist, void const *x, void const *c,
                      size_t D)
{
  double acc = 0;
  for (size_t d = 0; d < D; ++d) {
    double z = elem(t, x, d) - elem(t, c, d);
    acc += dist == VlDistanceL2 ? z * z : fabs(z);
  }
  return acc;
}

static void seed_default(vl_uint32 s) { vl_rand_seed(vl_get_rand(), s); }

/* ---- defaults, setters, getters ------------------------------------------------------ */

static void test_defaults_and_setters(void)
{
  VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
  CHECK(km != NULL);
  CHECK(vl_get_last_error() == VL_ERR_OK);
  CHECK(vl_kmeans_get_data_type(km) == VL_TYPE_DOUBLE);
  CHECK(vl_kmeans_get_distance(km) == VlDistanceL2);
  CHECK(vl_kmeans_get_algorithm(km) == VlKMeansLloyd);
  CHECK(vl_kmeans_get_initialization(km) == VlKMeansRandomSelection);
  CHECK(vl_kmeans_get_max_num_iterations(km) == 100);
  CHECK(vl_kmeans_get_min_energy_variation(km) == 1e-4);
  CHECK(vl_kmeans_get_num_repetitions(km) == 1);
  CHECK(vl_kmeans_get_verbosity(km) == 0);
  CHECK(vl_kmeans_get_num_trees(km) == 3);
  CHECK(vl_kmeans_get_max_num_comparisons(km) == 100);
  CHECK(vl_kmeans_get_energy(km) == 0);
  CHECK(vl_kmeans_get_centers(km) == NULL);
  CHECK(vl_kmeans_get_dimension(km) == 0 && vl_kmeans_get_num_centers(km) == 0);

  vl_kmeans_set_algorithm(km, VlKMeansElkan);
  CHECK(vl_kmeans_get_algorithm(km) == VlKMeansElkan);
  vl_kmeans_set_algorithm(km, (VlKMeansAlgorithm)7);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && vl_kmeans_get_algorithm(km) == VlKMeansElkan);
  vl_kmeans_set_initialization(km, VlKMeansPlusPlus);
  CHECK(vl_get_last_error() == VL_ERR_OK && vl_kmeans_get_initialization(km) == VlKMeansPlusPlus);
  vl_kmeans_set_initialization(km, (VlKMeansInitialization)-1);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG &&
        vl_kmeans_get_initialization(km) == VlKMeansPlusPlus);
  vl_kmeans_set_num_repetitions(km, 0);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && vl_kmeans_get_num_repetitions(km) == 1);
  vl_kmeans_set_min_energy_variation(km, -1);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_set_min_energy_variation(km, NAN);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && vl_kmeans_get_min_energy_variation(km) == 1e-4);
  vl_kmeans_set_num_trees(km, 0);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && vl_kmeans_get_num_trees(km) == 3);
  vl_kmeans_set_max_num_iterations(km, 0);
  CHECK(vl_get_last_error() == VL_ERR_OK && vl_kmeans_get_max_num_iterations(km) == 0);

  /* NULL object: error, sentinel, no crash */
  CHECK(vl_kmeans_get_num_trees(NULL) == 0 && vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_get_energy(NULL)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_set_verbosity(NULL, 1);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_cluster(NULL, NULL, 1, 1, 1)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(vl_kmeans_new_copy(NULL) == NULL && vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_delete(NULL);
  CHECK(vl_get_last_error() == VL_ERR_OK);

  /* bad type / distance */
  CHECK(vl_kmeans_new(VL_TYPE_INT32, VlDistanceL2) == NULL &&
        vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceChi2) == NULL &&
        vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(vl_kmeans_new(VL_TYPE_FLOAT, (VlVectorComparisonType)99) == NULL &&
        vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_delete(km);
}

/* ---- Lloyd energy is non-increasing -------------------------------------------------- */

static void test_lloyd_monotone(vl_type t, VlVectorComparisonType dist)
{
  size_t const N = 700, D = 5, K = 9;
  double *xd = make_blobs(N, D, 6, 11, 3.0);
  float *xf = to_float(xd, N * D);
  void const *x = data_of(t, xd, xf);
  char c0[9 * 5 * sizeof(double)];
  double prev = INFINITY;
  /* initial centers: the first K points (well mixed) */
  memcpy(c0, x, K * D * esize(t));
  for (size_t m = 0; m <= 25; ++m) {
    VlKMeans *km = vl_kmeans_new(t, dist);
    double E;
    vl_kmeans_set_max_num_iterations(km, m);
    vl_kmeans_set_min_energy_variation(km, 0);
    vl_kmeans_set_centers(km, c0, D, K);
    E = vl_kmeans_refine_centers(km, x, N);
    CHECK(vl_get_last_error() == VL_ERR_OK);
    CHECK(vl_kmeans_get_energy(km) == E);
    CHECK_MSG(E <= prev * (1 + 1e-12),
              "type %u dist %d: energy went up at %zu iterations: %.17g -> %.17g", t,
              (int)dist, m, prev, E);
    /* the returned energy is the energy of the returned centers */
    {
      void const *c = vl_kmeans_get_centers(km);
      double sum = 0;
      for (size_t i = 0; i < N; ++i) {
        double best = INFINITY;
        for (size_t k = 0; k < K; ++k) {
          double v = bf_dist(t, dist, (char const *)x + i * D * esize(t),
                             (char const *)c + k * D * esize(t), D);
          if (v < best) best = v;
        }
        sum += best;
      }
      CHECK_CLOSE(E, sum, t == VL_TYPE_FLOAT ? 1e-5 : 1e-12, 0);
    }
    prev = E;
    vl_kmeans_delete(km);
  }
  free(xd);
  free(xf);
}

/* ---- one update step: means / lower medians of the previous assignment --------------- */

static int cmp_double(void const *a, void const *b)
{
  double x = *(double const *)a, y = *(double const *)b;
  return (x > y) - (x < y);
}

static void test_update_step(vl_type t, VlVectorComparisonType dist)
{
  size_t const N = 401, D = 3, K = 5;
  double *xd = make_blobs(N, D, 5, 5, 4.0);
  float *xf = to_float(xd, N * D);
  void const *x = data_of(t, xd, xf);
  vl_uint32 a0[401];
  double vals[401];
  VlKMeans *km = vl_kmeans_new(t, dist);
  void const *c1;
  vl_kmeans_set_centers(km, (char const *)x + 100 * D * esize(t), D, K);
  vl_kmeans_quantize(km, a0, NULL, x, N);
  vl_kmeans_set_max_num_iterations(km, 1);
  vl_kmeans_refine_centers(km, x, N);
  CHECK(vl_get_last_error() == VL_ERR_OK);
  c1 = vl_kmeans_get_centers(km);
  for (size_t k = 0; k < K; ++k) {
    for (size_t d = 0; d < D; ++d) {
      size_t m = 0;
      for (size_t i = 0; i < N; ++i)
        if (a0[i] == k) vals[m++] = elem(t, x, i * D + d);
      CHECK(m > 0);
      if (m == 0) continue;
      if (dist == VlDistanceL1) {
        qsort(vals, m, sizeof *vals, cmp_double);
        CHECK_MSG(elem(t, c1, k * D + d) == vals[(m - 1) / 2],
                  "L1 center %zu dim %zu is %.17g, lower median %.17g", k, d,
                  elem(t, c1, k * D + d), vals[(m - 1) / 2]);
      } else {
        double s = 0;
        for (size_t j = 0; j < m; ++j) s += vals[j];
        CHECK_CLOSE(elem(t, c1, k * D + d), s / m, t == VL_TYPE_FLOAT ? 1e-5 : 1e-13, 1e-6);
      }
    }
  }
  vl_kmeans_delete(km);
  free(xd);
  free(xf);
}

/* ---- Elkan equals Lloyd run to convergence ------------------------------------------- */

static void test_elkan_equals_lloyd(vl_type t, VlVectorComparisonType dist)
{
  size_t const N = 1500, D = 6, K = 12;
  double *xd = make_blobs(N, D, 10, 21, 3.0);
  float *xf = to_float(xd, N * D);
  void const *x = data_of(t, xd, xf);
  VlKMeans *lloyd = vl_kmeans_new(t, dist), *elkan = vl_kmeans_new(t, dist);
  vl_uint32 *al = malloc(N * sizeof *al), *ae = malloc(N * sizeof *ae);
  double El, Ee;
  size_t diff = 0;
  vl_kmeans_set_max_num_iterations(lloyd, 1000);
  vl_kmeans_set_min_energy_variation(lloyd, 0);
  vl_kmeans_set_max_num_iterations(elkan, 1000);
  vl_kmeans_set_algorithm(elkan, VlKMeansElkan);
  seed_default(5);
  vl_kmeans_init_centers_plus_plus(lloyd, x, D, N, K);
  vl_kmeans_set_centers(elkan, vl_kmeans_get_centers(lloyd), D, K);
  El = vl_kmeans_refine_centers(lloyd, x, N);
  Ee = vl_kmeans_refine_centers(elkan, x, N);
  CHECK(vl_get_last_error() == VL_ERR_OK);
  CHECK_CLOSE(Ee, El, t == VL_TYPE_FLOAT ? 1e-6 : 1e-12, 0);
  CHECK(vl_kmeans_get_energy(elkan) == Ee);
  for (size_t i = 0; i < K * D; ++i)
    diff += elem(t, vl_kmeans_get_centers(lloyd), i) != elem(t, vl_kmeans_get_centers(elkan), i);
  CHECK_MSG(diff == 0, "type %u dist %d: %zu center coordinates differ", t, (int)dist, diff);
  vl_kmeans_quantize(lloyd, al, NULL, x, N);
  vl_kmeans_quantize(elkan, ae, NULL, x, N);
  CHECK(memcmp(al, ae, N * sizeof *al) == 0);
  vl_kmeans_delete(lloyd);
  vl_kmeans_delete(elkan);
  free(al);
  free(ae);
  free(xd);
  free(xf);
}

/* ---- quantize against brute force ---------------------------------------------------- */

static void test_quantize(vl_type t, VlVectorComparisonType dist)
{
  size_t const N = 1200, D = 7, K = 23;
  double *xd = make_blobs(N, D, 8, 3, 2.0);
  float *xf = to_float(xd, N * D);
  void const *x = data_of(t, xd, xf);
  size_t const es = esize(t);
  VlKMeans *km = vl_kmeans_new(t, dist);
  vl_uint32 *a = malloc(N * sizeof *a), *a2 = malloc(N * sizeof *a2);
  char *dd = malloc(N * es);
  size_t bad = 0;
  vl_kmeans_set_centers(km, (char const *)x + 500 * D * es, D, K);
  /* duplicate a center: ties must go to the lower index */
  memcpy((char *)vl_kmeans_get_centers(km) + 7 * D * es,
         (char const *)vl_kmeans_get_centers(km) + 3 * D * es, D * es);
  vl_kmeans_quantize(km, a, dd, x, N);
  CHECK(vl_get_last_error() == VL_ERR_OK);
  for (size_t i = 0; i < N; ++i) {
    double best = INFINITY;
    size_t bi = 0;
    for (size_t k = 0; k < K; ++k) {
      double v = bf_dist(t, dist, (char const *)x + i * D * es,
                         (char const *)vl_kmeans_get_centers(km) + k * D * es, D);
      if (v < best) best = v, bi = k;
    }
    bad += a[i] != bi;
    CHECK_CLOSE(elem(t, dd, i), best, t == VL_TYPE_FLOAT ? 1e-5 : 1e-12, 1e-12);
    CHECK(a[i] != 7);
  }
  CHECK_MSG(bad == 0, "%zu assignments differ from brute force", bad);
  vl_kmeans_quantize(km, a2, NULL, x, N); /* distances are optional */
  CHECK(memcmp(a, a2, N * sizeof *a) == 0);
  vl_kmeans_quantize(km, NULL, NULL, NULL, 0); /* nothing to do */
  CHECK(vl_get_last_error() == VL_ERR_OK);
  vl_kmeans_delete(km);
  free(a);
  free(a2);
  free(dd);
  free(xd);
  free(xf);
}

/* ---- seeding ------------------------------------------------------------------------- */

static int is_data_row(vl_type t, void const *x, size_t N, size_t D, void const *row)
{
  for (size_t i = 0; i < N; ++i)
    if (memcmp((char const *)x + i * D * esize(t), row, D * esize(t)) == 0) return 1;
  return 0;
}

static void test_seeding(vl_type t)
{
  size_t const N = 300, D = 4, K = 10;
  double *xd = make_blobs(N, D, 5, 9, 3.0);
  float *xf;
  void const *x;
  size_t const es = esize(t);
  /* many exact duplicates: every point is one of 15 distinct rows */
  for (size_t i = 15; i < N; ++i) memcpy(xd + i * D, xd + (i % 15) * D, D * sizeof *xd);
  xf = to_float(xd, N * D);
  x = data_of(t, xd, xf);
  for (int init = 0; init < 2; ++init) {
    VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
    char *c1 = malloc(K * D * es);
    VlRand ref;
    vl_uint32 next;
    vl_rand_seed(&ref, 1234);
    seed_default(1234);
    if (init) vl_kmeans_init_centers_plus_plus(km, x, D, N, K);
    else vl_kmeans_init_centers_with_rand_data(km, x, D, N, K);
    CHECK(vl_get_last_error() == VL_ERR_OK);
    CHECK(vl_kmeans_get_num_centers(km) == K && vl_kmeans_get_dimension(km) == D);
    memcpy(c1, vl_kmeans_get_centers(km), K * D * es);
    /* draw count: k-means++ uses 1 + K draws, random selection N - 1 */
    next = vl_rand_uint32(vl_get_rand());
    for (size_t j = 0; j < (init ? 1 + K : N - 1); ++j) vl_rand_uint32(&ref);
    CHECK_MSG(next == vl_rand_uint32(&ref), "init %d: wrong number of draws", init);
    /* same seed, same centers */
    seed_default(1234);
    if (init) vl_kmeans_init_centers_plus_plus(km, x, D, N, K);
    else vl_kmeans_init_centers_with_rand_data(km, x, D, N, K);
    CHECK(memcmp(c1, vl_kmeans_get_centers(km), K * D * es) == 0);
    for (size_t k = 0; k < K; ++k) CHECK(is_data_row(t, x, N, D, c1 + k * D * es));
    if (!init) { /* random selection skips duplicates: all centers distinct */
      for (size_t k = 0; k < K; ++k)
        for (size_t j = 0; j < k; ++j) CHECK(memcmp(c1 + k * D * es, c1 + j * D * es, D * es) != 0);
    }
    /* a different seed gives different centers */
    seed_default(99);
    if (init) vl_kmeans_init_centers_plus_plus(km, x, D, N, K);
    else vl_kmeans_init_centers_with_rand_data(km, x, D, N, K);
    CHECK(memcmp(c1, vl_kmeans_get_centers(km), K * D * es) != 0);
    free(c1);
    vl_kmeans_delete(km);
  }
  /* k-means++ rule on a tiny 1-D set, replayed with an identical generator */
  {
    double x1[7] = {0, 1, 2, 10, 11, 30, 31};
    double want[4], mind[7];
    VlRand r;
    size_t idx;
    VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    vl_rand_seed(&r, 77);
    idx = vl_rand_uindex(&r, 7);
    for (int i = 0; i < 7; ++i) mind[i] = INFINITY;
    for (size_t k = 0;; ++k) {
      double tt = vl_rand_real1(&r), E = 0, acc = 0;
      want[k] = x1[idx];
      if (k + 1 == 4) break;
      for (int i = 0; i < 7; ++i) {
        double d = (x1[i] - want[k]) * (x1[i] - want[k]);
        if (d < mind[i]) mind[i] = d;
        E += mind[i];
      }
      for (idx = 0; idx < 6; ++idx) {
        acc += mind[idx];
        if (acc >= tt * E) break;
      }
    }
    seed_default(77);
    vl_kmeans_init_centers_plus_plus(km, x1, 1, 7, 4);
    CHECK(memcmp(want, vl_kmeans_get_centers(km), sizeof want) == 0);
    /* the hidden entry point the GMM uses gives the same centers */
    {
      double c2[4];
      VlRand r2;
      vl_rand_seed(&r2, 77);
      CHECK(gmm_kmeans_seed_plusplus(VL_TYPE_DOUBLE, VlDistanceL2, x1, 1, 7, 4, c2, &r2) == 0);
      CHECK(memcmp(want, c2, sizeof c2) == 0);
      CHECK(gmm_kmeans_seed_plusplus(VL_TYPE_DOUBLE, VlDistanceL2, x1, 1, 3, 4, c2, &r2) ==
            VL_ERR_BAD_ARG);
    }
    /* K = N with random selection: every point once */
    seed_default(3);
    vl_kmeans_init_centers_with_rand_data(km, x1, 1, 7, 7);
    {
      double c[7];
      memcpy(c, vl_kmeans_get_centers(km), sizeof c);
      qsort(c, 7, sizeof *c, cmp_double);
      CHECK(memcmp(c, x1, sizeof c) == 0);
    }
    vl_kmeans_delete(km);
  }
  free(xd);
  free(xf);
}

/* ---- empty cluster restart and repetitions ------------------------------------------- */

static void test_restart_and_repetitions(void)
{
  size_t const N = 500, D = 2, K = 6;
  double *x = make_blobs(N, D, 6, 17, 5.0);
  double c0[12];
  VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
  VlRand r;
  size_t j;
  memcpy(c0, x + 10 * D, sizeof c0);
  c0[2 * D] = c0[2 * D + 1] = 1e6; /* center 2 gets no point */
  vl_kmeans_set_centers(km, c0, D, K);
  vl_kmeans_set_max_num_iterations(km, 1);
  seed_default(31);
  vl_rand_seed(&r, 31);
  j = vl_rand_uindex(&r, N);
  vl_kmeans_refine_centers(km, x, N);
  CHECK(memcmp((double const *)vl_kmeans_get_centers(km) + 2 * D, x + j * D, D * sizeof *x) == 0);
  vl_kmeans_delete(km);

  /* repetitions keep the lowest energy of the same sequence of runs */
  for (int alg = 0; alg < 3; ++alg) {
    VlKMeans *one = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    VlKMeans *three = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    double e[3], best, E3;
    int bi = 0;
    vl_kmeans_set_algorithm(one, (VlKMeansAlgorithm)alg);
    vl_kmeans_set_algorithm(three, (VlKMeansAlgorithm)alg);
    vl_kmeans_set_num_repetitions(three, 3);
    vl_kmeans_set_max_num_comparisons(one, 2);
    vl_kmeans_set_max_num_comparisons(three, 2);
    seed_default(8);
    for (int rr = 0; rr < 3; ++rr) e[rr] = vl_kmeans_cluster(one, x, D, N, 12);
    best = e[0];
    for (int rr = 1; rr < 3; ++rr)
      if (e[rr] < best) best = e[rr], bi = rr;
    seed_default(8);
    E3 = vl_kmeans_cluster(three, x, D, N, 12);
    CHECK_MSG(E3 == best, "alg %d: 3 repetitions gave %.17g, best single run %.17g (run %d)", alg,
              E3, best, bi);
    CHECK(vl_kmeans_get_energy(three) == E3);
    if (bi == 2) /* the last single run is the best one: same centers */
      CHECK(memcmp(vl_kmeans_get_centers(one), vl_kmeans_get_centers(three),
                   12 * D * sizeof(double)) == 0);
    vl_kmeans_delete(one);
    vl_kmeans_delete(three);
  }
  free(x);
}

/* ---- errors leave the object usable -------------------------------------------------- */

static void test_errors(vl_type t)
{
  size_t const N = 200, D = 3;
  double *xd = make_blobs(N, D, 4, 1, 3.0);
  float *xf = to_float(xd, N * D);
  void *x = data_of(t, xd, xf);
  size_t const es = esize(t);
  VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
  vl_uint32 a[200];
  double E;
  void const *c;
  char *saved = malloc(4 * D * es);

  /* no centers yet */
  CHECK(isnan(vl_kmeans_refine_centers(km, x, N)) && vl_get_last_error() == VL_ERR_BAD_STATE);
  vl_kmeans_quantize(km, a, NULL, x, N);
  CHECK(vl_get_last_error() == VL_ERR_BAD_STATE);
  vl_kmeans_quantize_ann(km, a, NULL, x, N, 0);
  CHECK(vl_get_last_error() == VL_ERR_BAD_STATE);

  seed_default(1);
  E = vl_kmeans_cluster(km, x, D, N, 4);
  CHECK(vl_get_last_error() == VL_ERR_OK && E > 0);
  c = vl_kmeans_get_centers(km);
  memcpy(saved, c, 4 * D * es);

  /* K > N */
  CHECK(isnan(vl_kmeans_cluster(km, x, D, 3, 4)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(strstr(vl_get_last_error_message(), "exceeds") != NULL);
  CHECK(isnan(vl_kmeans_cluster(km, x, D, N, 0)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_cluster(km, x, 0, N, 4)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_cluster(km, NULL, D, N, 4)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_cluster(km, x, (size_t)1 << 62, (size_t)1 << 62, 4)) &&
        vl_get_last_error() == VL_ERR_OVERFLOW);
  vl_kmeans_init_centers_plus_plus(km, x, D, 2, 4);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_init_centers_with_rand_data(km, NULL, D, N, 4);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_refine_centers(km, x, 3)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_quantize(km, NULL, NULL, x, N);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_set_centers(km, NULL, D, 4);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);

  /* NaN and Inf data */
  double const orig = t == VL_TYPE_FLOAT ? (double)xf[57] : xd[57];
  for (int which = 0; which < 2; ++which) {
    double bad = which ? INFINITY : NAN;
    if (t == VL_TYPE_FLOAT) xf[57] = (float)bad;
    else xd[57] = bad;
    CHECK(isnan(vl_kmeans_cluster(km, x, D, N, 4)) && vl_get_last_error() == VL_ERR_BAD_ARG);
    CHECK(isnan(vl_kmeans_refine_centers(km, x, N)) && vl_get_last_error() == VL_ERR_BAD_ARG);
    vl_kmeans_quantize(km, a, NULL, x, N);
    CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
    vl_kmeans_set_centers(km, x, D, 20); /* row 19 holds the bad value */
    CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
    if (t == VL_TYPE_FLOAT) xf[57] = (float)orig;
    else xd[57] = orig;
  }

  /* a distance other than L1/L2 (only reachable through the struct) */
  km->distance = VlDistanceChi2;
  CHECK(isnan(vl_kmeans_cluster(km, x, D, N, 4)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_refine_centers(km, x, N)) && vl_get_last_error() == VL_ERR_BAD_ARG);
  km->distance = VlDistanceL2;

  /* failures changed nothing */
  CHECK(vl_kmeans_get_centers(km) == c);
  CHECK(memcmp(saved, c, 4 * D * es) == 0);
  CHECK(vl_kmeans_get_energy(km) == E);
  CHECK(vl_kmeans_get_num_centers(km) == 4 && vl_kmeans_get_dimension(km) == D);

  /* ... and the object still works */
  CHECK(vl_kmeans_refine_centers(km, x, N) <= E * (1 + 1e-9));
  CHECK(vl_get_last_error() == VL_ERR_OK);
  vl_kmeans_set_algorithm(km, VlKMeansElkan);
  seed_default(1);
  CHECK(vl_kmeans_cluster(km, x, D, N, 5) > 0 && vl_get_last_error() == VL_ERR_OK);
  vl_kmeans_reset(km);
  CHECK(vl_kmeans_get_centers(km) == NULL && vl_kmeans_get_num_centers(km) == 0 &&
        vl_kmeans_get_energy(km) == 0);
  vl_kmeans_delete(km);
  free(saved);
  free(xd);
  free(xf);
}

/* ---- allocation failures: clean error, object unchanged, no leak --------------------- */

static void test_alloc_failures(void)
{
  size_t const N = 300, D = 4;
  double *x = make_blobs(N, D, 4, 2, 3.0);
  for (int alg = 0; alg < 3; ++alg) {
    int failures = 0;
    for (long n = 1; n < 60; ++n) {
      VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, alg == 0 ? VlDistanceL1 : VlDistanceL2);
      double E;
      vl_kmeans_set_algorithm(km, (VlKMeansAlgorithm)alg);
      vl_kmeans_set_num_repetitions(km, 2);
      gmm_alloc_fail_after(n);
      E = vl_kmeans_cluster(km, x, D, N, 5);
      gmm_alloc_fail_after(0);
      if (isnan(E)) {
        ++failures;
        CHECK(vl_get_last_error() == VL_ERR_ALLOC);
        CHECK(vl_kmeans_get_centers(km) == NULL);
      } else {
        CHECK(vl_get_last_error() == VL_ERR_OK && vl_kmeans_get_centers(km) != NULL);
      }
      vl_kmeans_delete(km);
    }
    CHECK(failures > 0);
  }
  free(x);
}

/* ---- thread count does not change results -------------------------------------------- */

static void test_threads(vl_type t)
{
  size_t const N = 3000, D = 20, K = 17;
  double *xd = make_blobs(N, D, 12, 44, 2.0);
  float *xf = to_float(xd, N * D);
  void const *x = data_of(t, xd, xf);
  size_t const es = esize(t);
  for (int cfg = 0; cfg < 8; ++cfg) {
    VlKMeansAlgorithm alg = (VlKMeansAlgorithm)(cfg % 3);
    VlVectorComparisonType dist = cfg == 6 ? VlDistanceL1 : VlDistanceL2;
    VlKMeansInitialization init = cfg >= 3 ? VlKMeansPlusPlus : VlKMeansRandomSelection;
    double E[2];
    char *c[2];
    vl_uint32 *a[2];
    for (int th = 0; th < 2; ++th) {
      VlKMeans *km = vl_kmeans_new(t, dist);
      vl_set_num_threads((vl_size)th + 1);
      vl_kmeans_set_algorithm(km, alg);
      vl_kmeans_set_initialization(km, init);
      vl_kmeans_set_max_num_comparisons(km, 5);
      seed_default(2024);
      E[th] = vl_kmeans_cluster(km, x, D, N, K);
      c[th] = malloc(K * D * es);
      memcpy(c[th], vl_kmeans_get_centers(km), K * D * es);
      a[th] = malloc(N * sizeof(vl_uint32));
      if (cfg == 7) vl_kmeans_quantize_ann(km, a[th], NULL, x, N, 0);
      else vl_kmeans_quantize(km, a[th], NULL, x, N);
      vl_kmeans_delete(km);
    }
    CHECK_MSG(E[0] == E[1], "cfg %d: energy %.17g (1 thread) vs %.17g (2 threads)", cfg, E[0],
              E[1]);
    CHECK(memcmp(c[0], c[1], K * D * es) == 0);
    CHECK(memcmp(a[0], a[1], N * sizeof(vl_uint32)) == 0);
    for (int th = 0; th < 2; ++th) free(c[th]), free(a[th]);
  }
  vl_set_num_threads(0);
  free(xd);
  free(xf);
}

/* ---- new_copy ------------------------------------------------------------------------ */

static void test_copy(void)
{
  size_t const N = 400, D = 3, K = 7;
  double *xd = make_blobs(N, D, 5, 8, 3.0);
  float *x = to_float(xd, N * D);
  VlKMeans *km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL1), *cp;
  vl_kmeans_set_algorithm(km, VlKMeansElkan);
  vl_kmeans_set_initialization(km, VlKMeansPlusPlus);
  vl_kmeans_set_num_repetitions(km, 2);
  vl_kmeans_set_max_num_iterations(km, 17);
  vl_kmeans_set_min_energy_variation(km, 0.125);
  vl_kmeans_set_max_num_comparisons(km, 33);
  vl_kmeans_set_num_trees(km, 4);
  vl_kmeans_set_verbosity(km, 0);
  cp = vl_kmeans_new_copy(km); /* no centers yet */
  CHECK(cp && vl_kmeans_get_centers(cp) == NULL && vl_kmeans_get_min_energy_variation(cp) == 0.125);
  vl_kmeans_delete(cp);
  seed_default(4);
  vl_kmeans_cluster(km, x, D, N, K);
  cp = vl_kmeans_new_copy(km);
  CHECK(cp != NULL && vl_get_last_error() == VL_ERR_OK);
  CHECK(vl_kmeans_get_data_type(cp) == VL_TYPE_FLOAT);
  CHECK(vl_kmeans_get_distance(cp) == VlDistanceL1);
  CHECK(vl_kmeans_get_algorithm(cp) == VlKMeansElkan);
  CHECK(vl_kmeans_get_initialization(cp) == VlKMeansPlusPlus);
  CHECK(vl_kmeans_get_num_repetitions(cp) == 2);
  CHECK(vl_kmeans_get_max_num_iterations(cp) == 17);
  CHECK(vl_kmeans_get_min_energy_variation(cp) == 0.125);
  CHECK(vl_kmeans_get_max_num_comparisons(cp) == 33);
  CHECK(vl_kmeans_get_num_trees(cp) == 4);
  CHECK(vl_kmeans_get_dimension(cp) == D && vl_kmeans_get_num_centers(cp) == K);
  CHECK(vl_kmeans_get_energy(cp) == vl_kmeans_get_energy(km) && vl_kmeans_get_energy(cp) > 0);
  CHECK(vl_kmeans_get_centers(cp) != vl_kmeans_get_centers(km));
  CHECK(memcmp(vl_kmeans_get_centers(cp), vl_kmeans_get_centers(km), K * D * sizeof(float)) == 0);
  vl_kmeans_delete(km); /* the copy owns its own buffers */
  {
    vl_uint32 a[400];
    vl_kmeans_quantize(cp, a, NULL, x, N);
    CHECK(vl_get_last_error() == VL_ERR_OK);
  }
  vl_kmeans_delete(cp);
  free(x);
  free(xd);
}

/* ---- ANN ----------------------------------------------------------------------------- */

static void test_ann(vl_type t)
{
  size_t const N = 6000, D = 10, K = 40;
  double *xd = make_blobs(N, D, 40, 123, 3.0);
  float *xf = to_float(xd, N * D);
  void const *x = data_of(t, xd, xf);
  size_t const es = esize(t);
  double El = 0, Ea = 0;
  vl_uint32 *ae = malloc(N * sizeof *ae), *aa = malloc(N * sizeof *aa);
  char *de = malloc(N * es), *da = malloc(N * es);
  for (vl_uint32 s = 1; s <= 3; ++s) {
    VlKMeans *lloyd = vl_kmeans_new(t, VlDistanceL2), *ann = vl_kmeans_new(t, VlDistanceL2);
    vl_kmeans_set_algorithm(ann, VlKMeansANN);
    vl_kmeans_set_max_num_comparisons(ann, 10);
    seed_default(s);
    El += vl_kmeans_cluster(lloyd, x, D, N, K);
    seed_default(s);
    Ea += vl_kmeans_cluster(ann, x, D, N, K);
    CHECK(vl_get_last_error() == VL_ERR_OK);
    /* quantize_ann against exact quantize on the ANN centers */
    {
      size_t agree = 0, worse = 0;
      vl_kmeans_quantize(ann, ae, de, x, N);
      vl_kmeans_quantize_ann(ann, aa, da, x, N, 0);
      for (size_t i = 0; i < N; ++i) {
        agree += ae[i] == aa[i];
        worse += elem(t, da, i) < elem(t, de, i) * (1 - 1e-5); /* never better than exact */
        /* the reported distance is the distance to the reported center */
        CHECK_CLOSE(elem(t, da, i),
                    bf_dist(t, VlDistanceL2, (char const *)x + i * D * es,
                            (char const *)vl_kmeans_get_centers(ann) + aa[i] * D * es, D),
                    1e-5, 1e-9);
      }
      CHECK(worse == 0);
      CHECK_MSG(agree >= N * 9 / 10, "quantize_ann agrees with exact on %zu of %zu points", agree,
                N);
      /* update: with exact distances given, nothing can improve */
      memcpy(aa, ae, N * sizeof *ae);
      memcpy(da, de, N * es);
      vl_kmeans_quantize_ann(ann, aa, da, x, N, 1);
      CHECK(memcmp(aa, ae, N * sizeof *ae) == 0 && memcmp(da, de, N * es) == 0);
      /* update with +inf distances replaces everything */
      for (size_t i = 0; i < N; ++i) {
        if (t == VL_TYPE_FLOAT) ((float *)da)[i] = INFINITY;
        else ((double *)da)[i] = INFINITY;
        aa[i] = 0xffffffffu;
      }
      vl_kmeans_quantize_ann(ann, aa, da, x, N, 1);
      for (size_t i = 0; i < N; ++i) CHECK(aa[i] < K && isfinite(elem(t, da, i)));
      /* unlimited comparisons (0) */
      vl_kmeans_set_max_num_comparisons(ann, 0);
      vl_kmeans_quantize_ann(ann, aa, NULL, x, N, 0);
      agree = 0;
      for (size_t i = 0; i < N; ++i) agree += ae[i] == aa[i];
      CHECK_MSG(agree >= N * 99 / 100, "unlimited quantize_ann agrees on %zu of %zu", agree, N);
    }
    vl_kmeans_delete(lloyd);
    vl_kmeans_delete(ann);
  }
  CHECK_MSG(Ea <= El * 1.03, "ANN energy %.6g vs Lloyd %.6g", Ea, El);
  free(ae);
  free(aa);
  free(de);
  free(da);
  free(xd);
  free(xf);
}

/* ---- L1 clustering ------------------------------------------------------------------- */

static void test_l1_cluster(void)
{
  size_t const N = 800, D = 4, K = 6;
  double *x = make_blobs(N, D, 6, 77, 4.0);
  for (int alg = 0; alg < 3; ++alg) {
    VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL1);
    double E;
    vl_kmeans_set_algorithm(km, (VlKMeansAlgorithm)alg);
    vl_kmeans_set_initialization(km, VlKMeansPlusPlus);
    seed_default(6);
    E = vl_kmeans_cluster(km, x, D, N, K);
    CHECK(vl_get_last_error() == VL_ERR_OK && E > 0 && isfinite(E));
    /* energy = sum of L1 distances to the nearest center */
    {
      double *dd = malloc(N * sizeof *dd), s = 0;
      vl_uint32 *a = malloc(N * sizeof *a);
      vl_kmeans_quantize(km, a, dd, x, N);
      for (size_t i = 0; i < N; ++i) s += dd[i];
      CHECK_CLOSE(E, s, 1e-12, 0);
      free(dd);
      free(a);
    }
    vl_kmeans_delete(km);
  }
  free(x);
}

/* ---- verbose output ------------------------------------------------------------------ */

static int g_lines = 0, g_bad_lines = 0;

static int capture_printf(char const *fmt, ...)
{
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ++g_lines;
  if (strncmp(buf, "kmeans: ", 8) != 0) ++g_bad_lines;
  return 0;
}

static void test_verbose(void)
{
  size_t const N = 300, D = 2;
  double *x = make_blobs(N, D, 3, 4, 3.0);
  printf_func_t old = vl_get_printf_func();
  vl_set_printf_func(capture_printf);
  for (int alg = 0; alg < 3; ++alg) {
    VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    vl_kmeans_set_algorithm(km, (VlKMeansAlgorithm)alg);
    g_lines = 0;
    vl_kmeans_cluster(km, x, D, N, 3);
    CHECK(g_lines == 0);
    vl_kmeans_set_verbosity(km, 1);
    vl_kmeans_cluster(km, x, D, N, 3);
    CHECK(g_lines >= 3 && g_bad_lines == 0);
    vl_kmeans_delete(km);
  }
  vl_set_printf_func(old);
  free(x);
}

/* k-means++ picks the same points at every SIMD level (its sampling weights
 * are the scalar distances), for many seeds: the level's faster distance
 * kernels differ in the last bits, which used to pick another point now and
 * then. */
static void test_plusplus_every_level(vl_type t)
{
  size_t const N = getenv("GMM_TEST_QUICK") ? 2000 : 20000, D = 37, K = 64; /* D > 32: vector sums */
  size_t const es = t == VL_TYPE_FLOAT ? sizeof(float) : sizeof(double);
  double *xd = make_blobs(N, D, 40, 77, 4.0);
  void *x = t == VL_TYPE_FLOAT ? (void *)to_float(xd, N * D) : (void *)xd;
  void *ref = malloc(K * D * es), *got = malloc(K * D * es);
  int const level0 = vl_get_simd_level();
  /* 12 seeds catch a flip at the SSE2 level (seed 9) with the level's kernels */
  vl_uint32 const seeds = getenv("GMM_TEST_QUICK") ? 2 : t == VL_TYPE_FLOAT ? 12 : 3;
  for (vl_uint32 seed = 0; seed < seeds; ++seed) {
    VlRand r;
    vl_set_simd_level(VL_SIMD_SCALAR);
    vl_rand_seed(&r, seed);
    CHECK(gmm_kmeans_seed_plusplus(t, VlDistanceL2, x, D, N, K, ref, &r) == 0);
    for (int level = VL_SIMD_SSE2; level <= vl_get_simd_max_level(); ++level) {
      if (vl_set_simd_level(level) != 0) continue;
      vl_rand_seed(&r, seed);
      CHECK(gmm_kmeans_seed_plusplus(t, VlDistanceL2, x, D, N, K, got, &r) == 0);
      CHECK_MSG(memcmp(ref, got, K * D * es) == 0, "type %u seed %u level %d", (unsigned)t,
                (unsigned)seed, level);
    }
  }
  vl_set_simd_level(level0);
  free(ref);
  free(got);
  if (x != xd) free(x);
  free(xd);
}

int main(void)
{
  vl_type const types[2] = {VL_TYPE_FLOAT, VL_TYPE_DOUBLE};
  test_defaults_and_setters();
  for (int ti = 0; ti < 2; ++ti) {
    vl_type t = types[ti];
    for (int di = 0; di < 2; ++di) {
      VlVectorComparisonType dist = di ? VlDistanceL2 : VlDistanceL1;
      test_lloyd_monotone(t, dist);
      test_update_step(t, dist);
      test_elkan_equals_lloyd(t, dist);
      test_quantize(t, dist);
    }
    test_seeding(t);
    test_plusplus_every_level(t);
    test_errors(t);
    test_threads(t);
    test_ann(t);
  }
  test_restart_and_repetitions();
  test_alloc_failures();
  test_copy();
  test_l1_cluster();
  test_verbose();
  TEST_EXIT();
}
