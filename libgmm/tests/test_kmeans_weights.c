/* test_kmeans_weights.c: k-means with sample weights (vl/libgmm/kmeans.h).
 *
 * Independent truths: integer weights against the points repeated, zero
 * weights against the points removed, unit and rescaled weights against
 * the unweighted calls, closed forms (weighted means, medians and
 * energies computed here in double), the same results on any number of
 * threads and (seeding) at any SIMD level, and the errors of bad weights. */
#include "test_util.h"
#include "vl/generic.h"
#include "vl/kmeans.h"
#include "vl/libgmm.h"
#include "vl/random.h"
#include "core/kmeans.h"   /* gmm_kmeans_sort_front */
#include "util/internal.h" /* gmm_alloc_fail_after */

static vl_type const TYPES[2] = {VL_TYPE_FLOAT, VL_TYPE_DOUBLE};

/* ---- data ------------------------------------------------------------------------------ */

/* N x D points around K blobs (label[i], if not NULL, is point i's blob);
 * with `dyadic`, every coordinate is a multiple of 1/8 (sums of a few
 * thousand of them, times small integers, are exact in double). */
static double *blobs(size_t N, size_t D, size_t K, unsigned long long seed, double spread,
                     int dyadic, size_t *label)
{
  double *mu = malloc(K * D * sizeof *mu), *x = malloc(N * D * sizeof *x);
  test_seed(seed);
  for (size_t i = 0; i < K * D; ++i) mu[i] = spread * test_normal();
  for (size_t i = 0; i < N; ++i) {
    size_t k = i < K ? i : (size_t)(test_uniform() * K) % K; /* every blob has a point */
    if (label) label[i] = k;
    for (size_t d = 0; d < D; ++d) {
      double v = mu[k * D + d] + test_normal();
      x[i * D + d] = dyadic ? floor(v * 8) / 8 : v;
    }
  }
  free(mu);
  return x;
}

/* x as the type t (a new array). */
static void *typed(vl_type t, double const *x, size_t n)
{
  if (t == VL_TYPE_DOUBLE) {
    double *y = malloc(n * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
  }
  {
    float *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; ++i) y[i] = (float)x[i];
    return y;
  }
}

static size_t esz(vl_type t) { return t == VL_TYPE_FLOAT ? sizeof(float) : sizeof(double); }

static double at(vl_type t, void const *p, size_t i)
{
  return t == VL_TYPE_FLOAT ? (double)((float const *)p)[i] : ((double const *)p)[i];
}

/* Integer weights in [lo, hi]. */
static double *int_weights(size_t N, int lo, int hi, unsigned long long seed)
{
  double *w = malloc(N * sizeof *w);
  test_seed(seed);
  for (size_t i = 0; i < N; ++i) w[i] = lo + (int)(test_uniform() * (hi - lo + 1));
  return w;
}

/* The rows of x (N x D, element size es) repeated w[i] times; *M rows. */
static void *repeat_rows(void const *x, double const *w, size_t N, size_t D, size_t es, size_t *M)
{
  size_t m = 0;
  char *y;
  for (size_t i = 0; i < N; ++i) m += (size_t)w[i];
  y = malloc(m * D * es);
  m = 0;
  for (size_t i = 0; i < N; ++i)
    for (int r = 0; r < (int)w[i]; ++r, ++m) memcpy(y + m * D * es, (char const *)x + i * D * es, D * es);
  *M = m;
  return y;
}

/* The rows of x with w[i] > 0 (and, in *wk, their weights); *M rows. */
static void *keep_rows(void const *x, double const *w, size_t N, size_t D, size_t es, size_t *M,
                       double **wk)
{
  char *y = malloc(N * D * es);
  size_t m = 0;
  *wk = malloc(N * sizeof **wk);
  for (size_t i = 0; i < N; ++i)
    if (w[i] > 0) {
      memcpy(y + m * D * es, (char const *)x + i * D * es, D * es);
      (*wk)[m++] = w[i];
    }
  *M = m;
  return y;
}

static VlKMeans *new_km(vl_type t, VlVectorComparisonType dist, VlKMeansAlgorithm alg,
                        VlKMeansInitialization init)
{
  VlKMeans *km = vl_kmeans_new(t, dist);
  vl_kmeans_set_algorithm(km, alg);
  vl_kmeans_set_initialization(km, init);
  vl_kmeans_set_max_num_iterations(km, 60);
  vl_kmeans_set_min_energy_variation(km, 0);
  vl_kmeans_set_max_num_comparisons(km, 1000);
  return km;
}

static int same_centers(VlKMeans const *a, VlKMeans const *b)
{
  size_t const n = vl_kmeans_get_num_centers(a) * vl_kmeans_get_dimension(a);
  return n == vl_kmeans_get_num_centers(b) * vl_kmeans_get_dimension(b) && n > 0 &&
         memcmp(vl_kmeans_get_centers(a), vl_kmeans_get_centers(b),
                n * esz(vl_kmeans_get_data_type(a))) == 0;
}

static char const *ALG[3] = {"Lloyd", "Elkan", "ANN"};

/* ---- integer weights = repeated points ---------------------------------------------------- */

/* From the same initial centers (no cluster empties): the same centers bit
 * for bit (dyadic data: every sum is exact), the same labels, the same
 * energy up to rounding. */
static void test_repeated(vl_type t)
{
  size_t const N = 500, D = 3, K = 4;
  size_t label[500], first[4] = {0, 1, 2, 3}, M;
  double *xd = blobs(N, D, K, 5, 8.0, 1, label);
  void *x = typed(t, xd, N * D);
  double *w = int_weights(N, 1, 4, 6);
  void *xr = repeat_rows(x, w, N, D, esz(t), &M);
  char init[4 * 3 * sizeof(double)];
  for (size_t k = 0; k < K; ++k) memcpy(init + k * D * esz(t), (char *)x + first[k] * D * esz(t), D * esz(t));
  (void)label;
  for (int di = 0; di < 2; ++di)
    for (int alg = 0; alg < 3; ++alg) {
      VlVectorComparisonType dist = di ? VlDistanceL2 : VlDistanceL1;
      VlKMeans *a = new_km(t, dist, (VlKMeansAlgorithm)alg, VlKMeansRandomSelection);
      VlKMeans *b = new_km(t, dist, (VlKMeansAlgorithm)alg, VlKMeansRandomSelection);
      vl_uint32 *la = malloc(N * sizeof *la), *lb = malloc(M * sizeof *lb);
      double ea, eb, qa, qb;
      vl_kmeans_set_centers(a, init, D, K);
      vl_kmeans_set_centers(b, init, D, K);
      vl_rand_seed(vl_get_rand(), 3);
      ea = vl_kmeans_refine_centers_weighted(a, x, N, w);
      CHECK(vl_get_last_error() == VL_ERR_OK);
      vl_rand_seed(vl_get_rand(), 3);
      eb = vl_kmeans_refine_centers(b, xr, M);
      CHECK(vl_get_last_error() == VL_ERR_OK);
      CHECK_MSG(same_centers(a, b), "type %u %s %s: centers differ", (unsigned)t,
                di ? "L2" : "L1", ALG[alg]);
      CHECK_CLOSE(ea, eb, 1e-12, 0);
      qa = vl_kmeans_quantize_energy(a, la, NULL, x, N, w);
      qb = vl_kmeans_quantize_energy(b, lb, NULL, xr, M, NULL);
      CHECK_CLOSE(qa, qb, 1e-12, 0);
      for (size_t i = 0, m = 0; i < N; ++i)
        for (int r = 0; r < (int)w[i]; ++r, ++m) CHECK(la[i] == lb[m]);
      free(la);
      free(lb);
      vl_kmeans_delete(a);
      vl_kmeans_delete(b);
    }
  free(xr);
  free(w);
  free(x);
  free(xd);
}

/* ---- zero weights = removed points (seeding and restarts included) --------------------------- */

static void test_zero_weights(vl_type t)
{
  size_t const N = 600, D = 4, K = 6;
  double *xd = blobs(N, D, 5, 9, 3.0, 0, NULL);
  void *x = typed(t, xd, N * D);
  for (int equal = 0; equal < 2; ++equal) {
    double *w = int_weights(N, 1, 4, 10), *wk;
    size_t M;
    void *xk;
    for (size_t i = 0; i < N; ++i) {
      if (equal) w[i] = 2.5;
      if (i % 3 == 1) w[i] = 0;
    }
    xk = keep_rows(x, w, N, D, esz(t), &M, &wk);
    for (int cfg = 0; cfg < 12; ++cfg) {
      VlVectorComparisonType dist = cfg % 4 == 3 ? VlDistanceL1 : VlDistanceL2;
      VlKMeansAlgorithm alg = (VlKMeansAlgorithm)(cfg % 3);
      VlKMeansInitialization init = cfg < 6 ? VlKMeansRandomSelection : VlKMeansPlusPlus;
      VlKMeans *a = new_km(t, dist, alg, init), *b = new_km(t, dist, alg, init);
      double ea, eb;
      vl_kmeans_set_num_repetitions(a, 2);
      vl_kmeans_set_num_repetitions(b, 2);
      vl_rand_seed(vl_get_rand(), 100 + cfg);
      ea = vl_kmeans_cluster_weighted(a, x, D, N, K, w);
      CHECK(vl_get_last_error() == VL_ERR_OK);
      vl_rand_seed(vl_get_rand(), 100 + cfg);
      eb = vl_kmeans_cluster_weighted(b, xk, D, M, K, wk);
      CHECK(vl_get_last_error() == VL_ERR_OK);
      CHECK_MSG(same_centers(a, b) && ea == eb,
                "type %u equal %d cfg %d: %.17g vs %.17g", (unsigned)t, equal, cfg, ea, eb);
      /* a far center empties at once and restarts at a point of positive weight */
      {
        char *c0 = malloc(K * D * esz(t));
        memcpy(c0, vl_kmeans_get_centers(a), K * D * esz(t));
        for (size_t d = 0; d < D; ++d) {
          if (t == VL_TYPE_FLOAT) ((float *)c0)[d] = 1e4f;
          else ((double *)c0)[d] = 1e4;
        }
        vl_kmeans_set_centers(a, c0, D, K);
        vl_kmeans_set_centers(b, c0, D, K);
        vl_rand_seed(vl_get_rand(), 7);
        ea = vl_kmeans_refine_centers_weighted(a, x, N, w);
        vl_rand_seed(vl_get_rand(), 7);
        eb = vl_kmeans_refine_centers_weighted(b, xk, M, wk);
        CHECK(same_centers(a, b) && ea == eb);
        CHECK(at(t, vl_kmeans_get_centers(a), 0) < 1e3);
        free(c0);
      }
      vl_kmeans_delete(a);
      vl_kmeans_delete(b);
    }
    /* with equal positive weights, the kept points run VLFeat's unweighted draws */
    if (equal) {
      VlKMeans *a = new_km(t, VlDistanceL2, VlKMeansLloyd, VlKMeansPlusPlus);
      VlKMeans *b = new_km(t, VlDistanceL2, VlKMeansLloyd, VlKMeansPlusPlus);
      double ea, eb;
      vl_rand_seed(vl_get_rand(), 42);
      ea = vl_kmeans_cluster_weighted(a, x, D, N, K, w);
      vl_rand_seed(vl_get_rand(), 42);
      eb = vl_kmeans_cluster(b, xk, D, M, K);
      CHECK(same_centers(a, b));
      CHECK(ea == eb * 2.5);
      vl_kmeans_delete(a);
      vl_kmeans_delete(b);
    }
    free(xk);
    free(wk);
    free(w);
  }
  free(x);
  free(xd);
}

/* ---- unit, constant and rescaled weights ------------------------------------------------------- */

static void test_unit_and_scaled(vl_type t)
{
  size_t const N = 700, D = 5, K = 7;
  double *xd = blobs(N, D, 6, 21, 3.0, 0, NULL);
  void *x = typed(t, xd, N * D);
  double *one = malloc(N * sizeof *one), *three = malloc(N * sizeof *three);
  double *w = malloc(N * sizeof *w), *w4 = malloc(N * sizeof *w4);
  test_seed(22);
  for (size_t i = 0; i < N; ++i) {
    one[i] = 1;
    three[i] = 3;
    w[i] = 0.05 + test_uniform();
    w4[i] = w[i] / 4;
  }
  for (int cfg = 0; cfg < 12; ++cfg) {
    VlVectorComparisonType dist = cfg % 4 == 3 ? VlDistanceL1 : VlDistanceL2;
    VlKMeansAlgorithm alg = (VlKMeansAlgorithm)(cfg % 3);
    VlKMeansInitialization init = cfg < 6 ? VlKMeansRandomSelection : VlKMeansPlusPlus;
    VlKMeans *ref = new_km(t, dist, alg, init), *km = new_km(t, dist, alg, init);
    double e0, e;
    vl_kmeans_set_num_repetitions(ref, 2);
    vl_kmeans_set_num_repetitions(km, 2);
    vl_rand_seed(vl_get_rand(), 5 + cfg);
    e0 = vl_kmeans_cluster(ref, x, D, N, K);
    vl_rand_seed(vl_get_rand(), 5 + cfg);
    e = vl_kmeans_cluster_weighted(km, x, D, N, K, one);
    CHECK_MSG(same_centers(ref, km) && e == e0, "unit weights, cfg %d", cfg);
    vl_rand_seed(vl_get_rand(), 5 + cfg);
    e = vl_kmeans_cluster_weighted(km, x, D, N, K, three);
    CHECK_MSG(same_centers(ref, km) && e == e0 * 3, "constant weights, cfg %d", cfg);
    CHECK(vl_kmeans_get_energy(km) == e);
    /* a power of two changes nothing but the energy's scale */
    vl_rand_seed(vl_get_rand(), 5 + cfg);
    e0 = vl_kmeans_cluster_weighted(ref, x, D, N, K, w);
    vl_rand_seed(vl_get_rand(), 5 + cfg);
    e = vl_kmeans_cluster_weighted(km, x, D, N, K, w4);
    CHECK_MSG(same_centers(ref, km) && e0 == 4 * e, "weights / 4, cfg %d: %.17g vs %.17g", cfg,
              e0, 4 * e);
    vl_kmeans_delete(ref);
    vl_kmeans_delete(km);
  }
  /* huge and tiny weights: finite results, the energy in the weights' scale */
  {
    VlKMeans *a = new_km(t, VlDistanceL2, VlKMeansLloyd, VlKMeansPlusPlus);
    VlKMeans *b = new_km(t, VlDistanceL2, VlKMeansLloyd, VlKMeansPlusPlus);
    double big[700], ea, eb;
    for (size_t i = 0; i < N; ++i) big[i] = ldexp(w[i], 900);
    vl_rand_seed(vl_get_rand(), 1);
    ea = vl_kmeans_cluster_weighted(a, x, D, N, K, w);
    vl_rand_seed(vl_get_rand(), 1);
    eb = vl_kmeans_cluster_weighted(b, x, D, N, K, big);
    CHECK(same_centers(a, b) && eb == ldexp(ea, 900));
    for (size_t i = 0; i < N; ++i) big[i] = ldexp(w[i], -1000);
    vl_rand_seed(vl_get_rand(), 1);
    eb = vl_kmeans_cluster_weighted(b, x, D, N, K, big);
    CHECK(same_centers(a, b) && eb == ldexp(ea, -1000));
    vl_kmeans_delete(a);
    vl_kmeans_delete(b);
  }
  free(one);
  free(three);
  free(w);
  free(w4);
  free(x);
  free(xd);
}

/* ---- closed forms --------------------------------------------------------------------------- */

static double g_last_energy;
static int record_energy(void *user, vl_size iteration, double value)
{
  (void)user;
  (void)iteration;
  g_last_energy = value;
  return 0;
}

static void test_closed_forms(vl_type t)
{
  double const tol = t == VL_TYPE_FLOAT ? 1e-6 : 1e-13;
  /* scikit-learn's hand-computed example: two clusters of weights 3 + 1 */
  {
    double const xd[8] = {0, 0, 0.5, 0, 0.5, 1, 1, 1}, wd[4] = {3, 1, 1, 3}, c0[4] = {0, 0, 1, 1};
    double const expect[4] = {0.125, 0, 0.875, 1};
    void *x = typed(t, xd, 8), *c = typed(t, c0, 4);
    for (int alg = 0; alg < 3; ++alg) {
      VlKMeans *km = new_km(t, VlDistanceL2, (VlKMeansAlgorithm)alg, VlKMeansRandomSelection);
      vl_uint32 a[4];
      double e;
      vl_kmeans_set_centers(km, c, 2, 2);
      e = vl_kmeans_refine_centers_weighted(km, x, 4, wd);
      CHECK_CLOSE(e, 0.375, tol, 0);
      for (int j = 0; j < 4; ++j) CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), j), expect[j], tol, 0);
      CHECK_CLOSE(vl_kmeans_quantize_energy(km, a, NULL, x, 4, wd), 0.375, tol, 0);
      CHECK(a[0] == 0 && a[1] == 0 && a[2] == 1 && a[3] == 1);
      vl_kmeans_delete(km);
    }
    free(x);
    free(c);
  }
  /* one center: the weighted mean; the energy sum w ||x - mean||^2; the
   * callback sees the energy in the weights' scale */
  {
    size_t const N = 300, D = 4;
    double *xd = blobs(N, D, 3, 31, 2.0, 0, NULL), *w = malloc(N * sizeof *w);
    void *x = typed(t, xd, N * D);
    double mean[4] = {0}, W = 0, E = 0, e;
    VlKMeans *km = new_km(t, VlDistanceL2, VlKMeansLloyd, VlKMeansRandomSelection);
    test_seed(32);
    for (size_t i = 0; i < N; ++i) w[i] = 1e6 * test_uniform() * (i % 5 != 0);
    for (size_t i = 0; i < N; ++i) {
      W += w[i];
      for (size_t d = 0; d < D; ++d) mean[d] += w[i] * at(t, x, i * D + d);
    }
    for (size_t d = 0; d < D; ++d) mean[d] /= W;
    for (size_t i = 0; i < N; ++i)
      for (size_t d = 0; d < D; ++d) {
        double z = at(t, x, i * D + d) - mean[d];
        E += w[i] * z * z;
      }
    vl_kmeans_set_iteration_callback(km, record_energy, NULL);
    vl_rand_seed(vl_get_rand(), 1);
    e = vl_kmeans_cluster_weighted(km, x, D, N, 1, w);
    for (size_t d = 0; d < D; ++d) CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), d), mean[d], tol, tol);
    CHECK_CLOSE(e, E, tol, 0);
    CHECK(g_last_energy == e);
    CHECK_CLOSE(vl_kmeans_quantize_energy(km, NULL, NULL, x, N, w), E, tol, 0);
    /* Elkan: with one center, the one bound it reports is the energy of the
     * seed (in the weights' scale) */
    vl_kmeans_set_algorithm(km, VlKMeansElkan);
    vl_kmeans_init_centers_with_rand_data_weighted(km, x, D, N, 1, w);
    {
      double E0 = 0;
      for (size_t i = 0; i < N; ++i)
        for (size_t d = 0; d < D; ++d) {
          double z = at(t, x, i * D + d) - at(t, vl_kmeans_get_centers(km), d);
          E0 += w[i] * z * z;
        }
      e = vl_kmeans_refine_centers_weighted(km, x, N, w);
      CHECK_CLOSE(e, E, tol, 0);
      CHECK_CLOSE(g_last_energy, E0, t == VL_TYPE_FLOAT ? 1e-5 : 1e-12, 0);
    }
    vl_kmeans_delete(km);
    free(w);
    free(x);
    free(xd);
  }
  /* L1, one center: the lower weighted median of each dimension */
  {
    struct {
      double v[5], w[5], median;
    } const cases[] = {
        {{1, 2, 3, 10, 4}, {1, 1, 1, 5, 0}, 10},  /* cumulative 1 2 3 | 8 >= 4 */
        {{3, 1, 2, 0, 0}, {2, 1, 1, 0, 0}, 2},    /* sorted 1 2 3 (0s weigh 0): 1 2 | 4 */
        {{5, 5, 1, 9, 7}, {1, 1, 1, 1, 1}, 5},    /* unit weights: the lower median */
        {{4, 3, 2, 1, 0}, {1, 1, 1, 1, 0}, 2},    /* even count: the lower one */
        {{1, 2, 3, 4, 5}, {0.5, 0.5, 3, 0.5, 0.5}, 3},
        {{1, 2, 3, 4, 5}, {2.5, 0, 0, 0, 2.5}, 1}, /* exactly half: the first value reaching it */
        {{-1, -1, 6, 6, 6}, {1, 1, 1, 1, 1e-9}, 6},
    };
    for (size_t j = 0; j < sizeof cases / sizeof cases[0]; ++j) {
      void *x = typed(t, cases[j].v, 5), *c = typed(t, cases[j].v, 1);
      VlKMeans *km = new_km(t, VlDistanceL1, VlKMeansLloyd, VlKMeansRandomSelection);
      double E = 0, e;
      vl_kmeans_set_centers(km, c, 1, 1);
      e = vl_kmeans_refine_centers_weighted(km, x, 5, cases[j].w);
      CHECK_MSG(at(t, vl_kmeans_get_centers(km), 0) == cases[j].median, "case %zu: %g", j,
                at(t, vl_kmeans_get_centers(km), 0));
      for (int i = 0; i < 5; ++i) E += cases[j].w[i] * fabs(cases[j].v[i] - cases[j].median);
      CHECK_CLOSE(e, E, 1e-12, 1e-12);
      vl_kmeans_delete(km);
      free(x);
      free(c);
    }
  }
  /* quantize_energy: brute force, NULL weights, zero weights, no points */
  {
    size_t const N = 257, D = 6, K = 5;
    double *xd = blobs(N, D, 4, 41, 2.0, 0, NULL), *w = int_weights(N, 0, 9, 42);
    void *x = typed(t, xd, N * D);
    double zero[257] = {0}, E = 0, S = 0;
    VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
    vl_uint32 a[257];
    char *dist = malloc(N * esz(t));
    vl_kmeans_set_centers(km, x, D, K); /* the first K points */
    for (size_t i = 0; i < N; ++i) {
      double best = INFINITY;
      for (size_t k = 0; k < K; ++k) {
        double s = 0;
        for (size_t d = 0; d < D; ++d) {
          double z = at(t, x, i * D + d) - at(t, x, k * D + d);
          s += z * z;
        }
        if (s < best) best = s;
      }
      E += w[i] * best;
      S += best;
    }
    CHECK_CLOSE(vl_kmeans_quantize_energy(km, a, dist, x, N, w), E, tol, 0);
    CHECK_CLOSE(vl_kmeans_quantize_energy(km, NULL, NULL, x, N, NULL), S, tol, 0);
    {
      double s = 0;
      for (size_t i = 0; i < N; ++i) s += at(t, dist, i);
      CHECK(vl_kmeans_quantize_energy(km, NULL, NULL, x, N, NULL) == s);
    }
    CHECK(vl_kmeans_quantize_energy(km, NULL, NULL, x, N, zero) == 0 &&
          vl_get_last_error() == VL_ERR_OK);
    CHECK(vl_kmeans_quantize_energy(km, NULL, NULL, NULL, 0, NULL) == 0 &&
          vl_get_last_error() == VL_ERR_OK);
    vl_kmeans_delete(km);
    free(dist);
    free(w);
    free(x);
    free(xd);
  }
}

/* ---- Elkan is exact: the same clustering as Lloyd ------------------------------------------ */

static void test_elkan_equals_lloyd(vl_type t)
{
  size_t const N = 2000, D = 8, K = 12;
  double *xd = blobs(N, D, 9, 51, 1.5, 0, NULL), *w = malloc(N * sizeof *w);
  void *x = typed(t, xd, N * D);
  test_seed(52);
  for (size_t i = 0; i < N; ++i) w[i] = test_uniform() < 0.1 ? 0 : test_uniform() * 3;
  for (int di = 0; di < 2; ++di) {
    VlVectorComparisonType dist = di ? VlDistanceL2 : VlDistanceL1;
    VlKMeans *l = new_km(t, dist, VlKMeansLloyd, VlKMeansPlusPlus);
    VlKMeans *e = new_km(t, dist, VlKMeansElkan, VlKMeansPlusPlus);
    vl_uint32 *al = malloc(N * sizeof *al), *ae = malloc(N * sizeof *ae);
    vl_kmeans_set_max_num_iterations(l, 300);
    vl_kmeans_set_max_num_iterations(e, 300);
    vl_rand_seed(vl_get_rand(), 53);
    vl_kmeans_init_centers_plus_plus_weighted(l, x, D, N, K, w);
    vl_kmeans_set_centers(e, vl_kmeans_get_centers(l), D, K);
    vl_kmeans_refine_centers_weighted(l, x, N, w);
    vl_kmeans_refine_centers_weighted(e, x, N, w);
    vl_kmeans_quantize(l, al, NULL, x, N);
    vl_kmeans_quantize(e, ae, NULL, x, N);
    CHECK_MSG(memcmp(al, ae, N * sizeof *al) == 0, "type %u %s", (unsigned)t, di ? "L2" : "L1");
    for (size_t j = 0; j < K * D; ++j)
      CHECK_CLOSE(at(t, vl_kmeans_get_centers(e), j), at(t, vl_kmeans_get_centers(l), j), 1e-5,
                  1e-5);
    free(al);
    free(ae);
    vl_kmeans_delete(l);
    vl_kmeans_delete(e);
  }
  free(w);
  free(x);
  free(xd);
}

/* ---- threads and SIMD levels --------------------------------------------------------------- */

static void test_threads_and_levels(vl_type t)
{
  size_t const N = 3000, D = 20, K = 17, es = esz(t);
  double *xd = blobs(N, D, 12, 61, 2.0, 0, NULL), *w = malloc(N * sizeof *w);
  void *x = typed(t, xd, N * D);
  int const level0 = vl_get_simd_level();
  test_seed(62);
  for (size_t i = 0; i < N; ++i) w[i] = test_uniform() < 0.2 ? 0 : test_uniform();
  for (int cfg = 0; cfg < 8; ++cfg) {
    VlKMeansAlgorithm alg = (VlKMeansAlgorithm)(cfg % 3);
    VlVectorComparisonType dist = cfg == 6 ? VlDistanceL1 : VlDistanceL2;
    VlKMeansInitialization init = cfg >= 3 ? VlKMeansPlusPlus : VlKMeansRandomSelection;
    double E[3], st[3][17 * 21 + 2];
    char *c[3];
    for (int th = 0; th < 3; ++th) {
      VlKMeans *km = new_km(t, dist, alg, init);
      vl_set_num_threads((vl_size)th + 1);
      vl_kmeans_set_max_num_comparisons(km, 5);
      vl_rand_seed(vl_get_rand(), 2024);
      E[th] = vl_kmeans_cluster_weighted(km, x, D, N, K, w);
      c[th] = malloc(K * D * es);
      memcpy(c[th], vl_kmeans_get_centers(km), K * D * es);
      memset(st[th], 0, sizeof st[th]);
      if (dist == VlDistanceL2) vl_kmeans_stats_accumulate_weighted(km, st[th], x, N, w);
      vl_kmeans_delete(km);
    }
    for (int th = 1; th < 3; ++th) {
      CHECK_MSG(E[0] == E[th], "cfg %d: %.17g (1 thread) vs %.17g (%d)", cfg, E[0], E[th], th + 1);
      CHECK(memcmp(c[0], c[th], K * D * es) == 0);
      CHECK(memcmp(st[0], st[th], sizeof st[0]) == 0);
    }
    for (int th = 0; th < 3; ++th) free(c[th]);
  }
  vl_set_num_threads(0);
  /* weighted seeding picks the same points at every SIMD level */
  for (int init = 0; init < 2; ++init) {
    char *ref = malloc(K * D * es);
    vl_set_simd_level(VL_SIMD_SCALAR);
    for (vl_uint32 seed = 0; seed < 4; ++seed) {
      VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
      vl_set_simd_level(VL_SIMD_SCALAR);
      vl_rand_seed(vl_get_rand(), seed);
      if (init) vl_kmeans_init_centers_plus_plus_weighted(km, x, D, N, K, w);
      else vl_kmeans_init_centers_with_rand_data_weighted(km, x, D, N, K, w);
      memcpy(ref, vl_kmeans_get_centers(km), K * D * es);
      for (int level = VL_SIMD_SSE2; level <= vl_get_simd_max_level(); ++level) {
        if (vl_set_simd_level(level) != 0) continue;
        vl_rand_seed(vl_get_rand(), seed);
        if (init) vl_kmeans_init_centers_plus_plus_weighted(km, x, D, N, K, w);
        else vl_kmeans_init_centers_with_rand_data_weighted(km, x, D, N, K, w);
        CHECK_MSG(memcmp(ref, vl_kmeans_get_centers(km), K * D * es) == 0,
                  "type %u init %d seed %u level %d", (unsigned)t, init, (unsigned)seed, level);
      }
      vl_kmeans_delete(km);
    }
    free(ref);
  }
  vl_set_simd_level(level0);
  free(w);
  free(x);
  free(xd);
}

/* ---- statistics -------------------------------------------------------------------------- */

static void test_stats(vl_type t)
{
  enum { N = 1500, D = 5, K = 6, T = 6 };
  size_t const chunks[] = {1, 7, 500, N}, S = K * (D + 1) + 2;
  size_t label[N], M;
  double *xd = blobs(N, D, K, 71, 6.0, 1, label), *w = int_weights(N, 0, 3, 72);
  void *x = typed(t, xd, N * D), *xr;
  char init[K * D * sizeof(double)];
  VlKMeans *ref = new_km(t, VlDistanceL2, VlKMeansLloyd, VlKMeansRandomSelection);
  double eref, *st = malloc(S * sizeof *st), *sr = malloc(S * sizeof *sr), wsum = 0;
  for (size_t k = 0; k < K; ++k) {
    w[k] = 1; /* blob k's first point is a center: no cluster empties */
    memcpy(init + k * D * esz(t), (char *)x + k * D * esz(t), D * esz(t));
  }
  for (size_t i = 0; i < N; ++i) wsum += w[i];
  vl_kmeans_set_centers(ref, init, D, K);
  vl_kmeans_set_max_num_iterations(ref, T);
  eref = vl_kmeans_refine_centers_weighted(ref, x, N, w);
  CHECK(vl_get_last_error() == VL_ERR_OK);
  for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; ++c) {
    VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
    double e = 0, tw = 0;
    vl_kmeans_set_centers(km, init, D, K);
    for (int it = 0; it <= T; ++it) {
      memset(st, 0, S * sizeof *st);
      for (size_t i = 0; i < N; i += chunks[c]) {
        size_t n = i + chunks[c] < N ? chunks[c] : N - i;
        CHECK(vl_kmeans_stats_accumulate_weighted(km, st, (char *)x + i * D * esz(t), n, w + i) ==
              VL_ERR_OK);
      }
      CHECK(st[S - 1] == N);
      e = st[S - 2];
      if (it < T) vl_kmeans_update_from_stats(km, st);
    }
    for (size_t k = 0; k < K; ++k) tw += st[k];
    CHECK(tw == wsum);
    CHECK_CLOSE(e, eref, 1e-12, 0);
    CHECK(same_centers(km, ref));
    vl_kmeans_delete(km);
  }
  /* integer weights: the statistics of the repeated points, exactly (dyadic data) */
  xr = repeat_rows(x, w, N, D, esz(t), &M);
  {
    VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
    vl_kmeans_set_centers(km, init, D, K);
    memset(st, 0, S * sizeof *st);
    memset(sr, 0, S * sizeof *sr);
    vl_kmeans_stats_accumulate_weighted(km, st, x, N, w);
    vl_kmeans_stats_accumulate(km, sr, xr, M);
    CHECK(memcmp(st, sr, (S - 2) * sizeof *st) == 0);
    CHECK_CLOSE(st[S - 2], sr[S - 2], 1e-12, 0);
    CHECK(st[S - 1] == N && sr[S - 1] == M);
    /* all weights 0 in a chunk: only the point count moves */
    {
      double zero[N] = {0};
      memset(st, 0, S * sizeof *st);
      CHECK(vl_kmeans_stats_accumulate_weighted(km, st, x, N, zero) == VL_ERR_OK);
      for (size_t j = 0; j + 1 < S; ++j) CHECK(st[j] == 0);
      CHECK(st[S - 1] == N);
    }
    vl_kmeans_delete(km);
  }
  free(xr);
  free(st);
  free(sr);
  vl_kmeans_delete(ref);
  free(w);
  free(x);
  free(xd);
}

/* ---- bad weights ------------------------------------------------------------------------- */

static int msg_has(char const *s) { return strstr(vl_get_last_error_message(), s) != NULL; }

static void test_bad_weights(vl_type t)
{
  size_t const N = 40, D = 2, K = 3, es = esz(t);
  double *xd = blobs(N, D, 3, 81, 4.0, 0, NULL);
  void *x = typed(t, xd, N * D);
  double w[40];
  double const bad[3] = {NAN, INFINITY, -1};
  char const *fn[4] = {"vl_kmeans_cluster_weighted", "vl_kmeans_refine_centers_weighted",
                       "vl_kmeans_init_centers_with_rand_data_weighted",
                       "vl_kmeans_init_centers_plus_plus_weighted"};
  VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
  char *before = malloc(K * D * es);
  double st[3 * 3 + 2], st0[3 * 3 + 2];
  vl_rand_seed(vl_get_rand(), 1);
  vl_kmeans_cluster(km, x, D, N, K);
  memcpy(before, vl_kmeans_get_centers(km), K * D * es);
  for (int f = 0; f < 4; ++f)
    for (int b = 0; b < 5; ++b) {
      double e0 = vl_kmeans_get_energy(km), r = 0;
      int err = 0;
      for (size_t i = 0; i < N; ++i) w[i] = b == 3 ? 0 : 1 + (double)i;
      if (b < 3) w[7] = bad[b];
      if (b == 4)
        for (size_t i = 2; i < N; ++i) w[i] = 0; /* two points of positive weight, K = 3 */
      switch (f) {
        case 0: r = vl_kmeans_cluster_weighted(km, x, D, N, K, w); break;
        case 1: r = vl_kmeans_refine_centers_weighted(km, x, N, w); break;
        case 2: err = vl_kmeans_init_centers_with_rand_data_weighted(km, x, D, N, K, w); break;
        default: err = vl_kmeans_init_centers_plus_plus_weighted(km, x, D, N, K, w); break;
      }
      CHECK_MSG(vl_get_last_error() == VL_ERR_BAD_ARG && msg_has(fn[f]), "%s case %d: %s", fn[f],
                b, vl_get_last_error_message());
      CHECK(f >= 2 ? err == VL_ERR_BAD_ARG : isnan(r));
      CHECK(b >= 3 || msg_has("weights[7] is"));
      CHECK(b != 3 || msg_has("every weight is 0"));
      CHECK(b != 4 || msg_has("numCenters (3) exceeds the number of points with a positive weight (2)"));
      /* the object is unchanged */
      CHECK(memcmp(before, vl_kmeans_get_centers(km), K * D * es) == 0);
      CHECK(vl_kmeans_get_energy(km) == e0 && vl_kmeans_get_num_centers(km) == K);
    }
  /* statistics and energy: bad values rejected, the buffer unchanged; all zero is fine */
  for (int b = 0; b < 3; ++b) {
    for (size_t i = 0; i < N; ++i) w[i] = 1;
    w[N - 1] = bad[b];
    for (size_t j = 0; j < sizeof st / sizeof st[0]; ++j) st[j] = st0[j] = (double)j;
    CHECK(vl_kmeans_stats_accumulate_weighted(km, st, x, N, w) == VL_ERR_BAD_ARG &&
          msg_has("vl_kmeans_stats_accumulate_weighted: weights[39] is"));
    CHECK(memcmp(st, st0, sizeof st) == 0);
    CHECK(isnan(vl_kmeans_quantize_energy(km, NULL, NULL, x, N, w)) &&
          vl_get_last_error() == VL_ERR_BAD_ARG && msg_has("vl_kmeans_quantize_energy: weights[39]"));
  }
  /* NULL weights are the unweighted call; NULL data and no centers are errors */
  CHECK(!isnan(vl_kmeans_refine_centers_weighted(km, x, N, NULL)));
  CHECK(isnan(vl_kmeans_cluster_weighted(km, NULL, D, N, K, w)) &&
        vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_cluster_weighted(NULL, x, D, N, K, NULL)) &&
        vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_reset(km);
  CHECK(isnan(vl_kmeans_quantize_energy(km, NULL, NULL, x, N, NULL)) &&
        vl_get_last_error() == VL_ERR_BAD_STATE);
  CHECK(vl_kmeans_stats_accumulate_weighted(km, st, x, N, NULL) == VL_ERR_BAD_STATE);
  CHECK(isnan(vl_kmeans_refine_centers_weighted(km, x, N, NULL)) &&
        vl_get_last_error() == VL_ERR_BAD_STATE);
  vl_kmeans_delete(km);
  /* the L1 statistics are refused as without weights */
  km = vl_kmeans_new(t, VlDistanceL1);
  vl_kmeans_set_centers(km, x, D, K);
  CHECK(vl_kmeans_stats_accumulate_weighted(km, st, x, N, NULL) == VL_ERR_BAD_ARG);
  vl_kmeans_delete(km);
  free(before);
  free(x);
  free(xd);
}

/* ---- allocation failures: clean error, object unchanged ------------------------------------ */

static void test_alloc_failures(void)
{
  size_t const N = 300, D = 4, K = 5;
  double *x = blobs(N, D, 4, 91, 3.0, 0, NULL), *w = int_weights(N, 0, 3, 92);
  for (int cfg = 0; cfg < 4; ++cfg) {
    int failures = 0;
    for (long n = 1; n < 40; ++n) {
      VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, cfg == 3 ? VlDistanceL1 : VlDistanceL2);
      double E;
      vl_kmeans_set_algorithm(km, (VlKMeansAlgorithm)(cfg % 3));
      vl_kmeans_set_initialization(km, cfg & 1 ? VlKMeansPlusPlus : VlKMeansRandomSelection);
      vl_kmeans_set_num_repetitions(km, 2);
      gmm_alloc_fail_after(n);
      E = vl_kmeans_cluster_weighted(km, x, D, N, K, w);
      gmm_alloc_fail_after(0);
      if (isnan(E)) {
        ++failures;
        CHECK(vl_get_last_error() == VL_ERR_ALLOC && vl_kmeans_get_centers(km) == NULL);
      } else {
        CHECK(vl_get_last_error() == VL_ERR_OK && vl_kmeans_get_centers(km) != NULL);
        gmm_alloc_fail_after(n % 3 + 1);
        E = vl_kmeans_quantize_energy(km, NULL, NULL, x, N, w);
        gmm_alloc_fail_after(0);
        CHECK(isnan(E) ? vl_get_last_error() == VL_ERR_ALLOC : vl_get_last_error() == VL_ERR_OK);
      }
      vl_kmeans_delete(km);
    }
    CHECK(failures > 0);
  }
  free(w);
  free(x);
}

/* ---- weighted random selection never picks a point of weight 0 --------------------------- */

static void test_selection_support(void)
{
  double const x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  double const w[12] = {0, 3, 0, 1, 0, 0.5, 0, 2, 0, 0, 1, 0};
  int seen[12] = {0};
  for (vl_uint32 s = 0; s < 200; ++s)
    for (int init = 0; init < 2; ++init) {
      VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
      double const *c;
      vl_rand_seed(vl_get_rand(), s);
      if (init) vl_kmeans_init_centers_plus_plus_weighted(km, x, 1, 12, 4, w);
      else vl_kmeans_init_centers_with_rand_data_weighted(km, x, 1, 12, 4, w);
      c = vl_kmeans_get_centers(km);
      for (int k = 0; k < 4; ++k) {
        CHECK(w[(int)c[k]] > 0);
        seen[(int)c[k]]++;
        for (int j = 0; j < k && !init; ++j) CHECK(c[j] != c[k]); /* without replacement */
      }
      vl_kmeans_delete(km);
    }
  for (int i = 0; i < 12; ++i) CHECK(w[i] > 0 ? seen[i] > 0 : seen[i] == 0);
}

/* Duplicates: the walk goes past the K first clocks and still finds K
 * distinct points; the partial sort agrees with a full sort. */
static int cmp_key(void const *a, void const *b)
{
  gmm_kmeans_key const *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

static void test_selection_duplicates(void)
{
  enum { N = 60, K = 6, n = 1000 };
  double x[N], w[N];
  gmm_kmeans_key a[n], b[n];
  size_t const ks[] = {0, 1, 2, 7, 500, 999, 1000};
  test_seed(101);
  for (int i = 0; i < N; ++i) {
    x[i] = (double)(i % K);                 /* six distinct values, ten copies each */
    w[i] = i % K == 5 ? 1e-3 : 1 + test_uniform() * 5; /* one value is rarely drawn */
  }
  for (vl_uint32 s = 0; s < 50; ++s) {
    VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    int seen[K] = {0};
    vl_rand_seed(vl_get_rand(), s);
    CHECK(vl_kmeans_init_centers_with_rand_data_weighted(km, x, 1, N, K, w) == VL_ERR_OK);
    for (int k = 0; k < K; ++k) seen[(int)((double const *)vl_kmeans_get_centers(km))[k]]++;
    for (int k = 0; k < K; ++k) CHECK(seen[k] == 1);
    vl_kmeans_delete(km);
  }
  for (size_t j = 0; j < sizeof ks / sizeof ks[0]; ++j) {
    for (size_t i = 0; i < n; ++i) {
      a[i].key = floor(test_uniform() * 300); /* ties, broken by index */
      a[i].i = (i * 7919) % n;
      b[i] = a[i];
    }
    gmm_kmeans_sort_front(a, n, ks[j]);
    qsort(b, n, sizeof b[0], cmp_key);
    for (size_t i = 0; i < ks[j]; ++i) CHECK(a[i].key == b[i].key && a[i].i == b[i].i);
  }
}

int main(void)
{
  for (int ti = 0; ti < 2; ++ti) {
    vl_type t = TYPES[ti];
    test_repeated(t);
    test_zero_weights(t);
    test_unit_and_scaled(t);
    test_closed_forms(t);
    test_elkan_equals_lloyd(t);
    test_threads_and_levels(t);
    test_stats(t);
    test_bad_weights(t);
  }
  test_alloc_failures();
  test_selection_support();
  test_selection_duplicates();
  TEST_EXIT();
}
