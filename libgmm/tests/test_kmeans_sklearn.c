/* test_kmeans_sklearn.c: scikit-learn's stopping rule of k-means
 * (VlKMeansStopSklearn, vl/libgmm/kmeans.h).
 *
 * Independent truths: a plain reference of scikit-learn's loop written here
 * (double, one point and one center at a time: assignment, weighted means,
 * relocation of empty clusters to the farthest points, strict convergence,
 * the center shift against tol x mean variance, the final assignment),
 * closed forms (scikit-learn's own toy examples), Elkan = Lloyd, the same
 * results on any number of threads and at every SIMD level, VLFeat's rule
 * unchanged by the new entry points, and the errors of bad settings. */
#include "test_util.h"
#include "vl/generic.h"
#include "vl/kmeans.h"
#include "vl/libgmm.h"
#include "vl/random.h"
#include "util/internal.h" /* gmm_alloc_fail_after */

static vl_type const TYPES[2] = {VL_TYPE_FLOAT, VL_TYPE_DOUBLE};
static char const *ALG[3] = {"Lloyd", "Elkan", "ANN"};

/* ---- data ------------------------------------------------------------------------------ */

/* N x D points around `blobs` centers spread `spread` apart. */
static double *blobs(size_t N, size_t D, size_t nblobs, unsigned long long seed, double spread)
{
  double *mu = malloc(nblobs * D * sizeof *mu), *x = malloc(N * D * sizeof *x);
  test_seed(seed);
  for (size_t i = 0; i < nblobs * D; ++i) mu[i] = spread * test_normal();
  for (size_t i = 0; i < N; ++i) {
    size_t k = (size_t)(test_uniform() * nblobs) % nblobs;
    for (size_t d = 0; d < D; ++d) x[i * D + d] = mu[k * D + d] + test_normal();
  }
  free(mu);
  return x;
}

static size_t esz(vl_type t) { return t == VL_TYPE_FLOAT ? sizeof(float) : sizeof(double); }

/* x as the type t (a new array). */
static void *typed(vl_type t, double const *x, size_t n)
{
  void *y = malloc(n * esz(t));
  for (size_t i = 0; i < n; ++i) {
    if (t == VL_TYPE_FLOAT) ((float *)y)[i] = (float)x[i];
    else ((double *)y)[i] = x[i];
  }
  return y;
}

static double at(vl_type t, void const *p, size_t i)
{
  return t == VL_TYPE_FLOAT ? (double)((float const *)p)[i] : ((double const *)p)[i];
}

/* The values of a typed array as doubles (a new array). */
static double *as_double(vl_type t, void const *p, size_t n)
{
  double *y = malloc(n * sizeof *y);
  for (size_t i = 0; i < n; ++i) y[i] = at(t, p, i);
  return y;
}

static double sqdist(double const *a, double const *b, size_t D)
{
  double s = 0;
  for (size_t d = 0; d < D; ++d) s += (a[d] - b[d]) * (a[d] - b[d]);
  return s;
}

static VlKMeans *new_sk(vl_type t, VlKMeansAlgorithm alg, size_t maxIter, double tol)
{
  VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
  vl_kmeans_set_algorithm(km, alg);
  vl_kmeans_set_stopping_rule(km, VlKMeansStopSklearn);
  vl_kmeans_set_center_shift_tolerance(km, tol);
  vl_kmeans_set_max_num_iterations(km, maxIter);
  vl_kmeans_set_max_num_comparisons(km, 1000); /* ANN: search every center */
  return km;
}

/* ---- the reference: scikit-learn's loop, written plainly -------------------------------- */

typedef struct {
  size_t iterations;
  int reason;
  double energy, shift;
} ref_out;

/* The mean over dimensions of the population variance of x. */
static double ref_mean_variance(double const *x, size_t N, size_t D)
{
  double total = 0;
  for (size_t d = 0; d < D; ++d) {
    double m = 0, s = 0;
    for (size_t i = 0; i < N; ++i) m += x[i * D + d];
    m /= (double)N;
    for (size_t i = 0; i < N; ++i) s += (x[i * D + d] - m) * (x[i * D + d] - m);
    total += s / (double)N;
  }
  return total / (double)D;
}

/* Nearest center of every point (ties: the lower index); returns how many
 * labels changed. */
static size_t ref_assign(double const *x, size_t N, size_t D, double const *c, size_t K,
                         vl_uint32 *lab, double *dist)
{
  size_t changed = 0;
  for (size_t i = 0; i < N; ++i) {
    double best = INFINITY;
    vl_uint32 a = 0;
    for (size_t k = 0; k < K; ++k) {
      double const v = sqdist(x + i * D, c + k * D, D);
      if (v < best) {
        best = v;
        a = (vl_uint32)k;
      }
    }
    changed += lab[i] != a;
    lab[i] = a;
    dist[i] = best;
  }
  return changed;
}

/* centers (K x D, in/out) refined by scikit-learn's loop on x with weights
 * w (NULL: all 1); labels (N) out. */
static void ref_sklearn(double const *x, double const *w, size_t N, size_t D, double *c, size_t K,
                        size_t maxIter, double thr, vl_uint32 *lab, ref_out *o)
{
  double *dist = malloc(N * sizeof *dist), *old = malloc(K * D * sizeof *old);
  double *sums = malloc(K * D * sizeof *sums), *mass = malloc(K * sizeof *mass);
  size_t *cnt = malloc(K * sizeof *cnt);
  char *taken = malloc(N);
  size_t changed, t = 0;
  int converged = 0, strict = 0;
  o->reason = VlKMeansStopMaxIterations;
  o->shift = 0;
  for (size_t i = 0; i < N; ++i) lab[i] = (vl_uint32)-1;
  changed = ref_assign(x, N, D, c, K, lab, dist);
  changed = (size_t)-1; /* the first assignment never counts as unchanged */
  for (;;) {
    size_t heavy = 0;
    if (converged || t >= maxIter) break;
    memcpy(old, c, K * D * sizeof *c);
    memset(sums, 0, K * D * sizeof *sums);
    memset(mass, 0, K * sizeof *mass);
    memset(cnt, 0, K * sizeof *cnt);
    for (size_t i = 0; i < N; ++i) {
      double const wi = w ? w[i] : 1;
      if (!(wi > 0)) continue;
      cnt[lab[i]]++;
      mass[lab[i]] += wi;
      for (size_t d = 0; d < D; ++d) sums[lab[i] * D + d] += wi * x[i * D + d];
    }
    memset(taken, 0, N);
    for (size_t k = 0; k < K; ++k) {
      size_t far = 0;
      double best = -1;
      if (cnt[k]) continue;
      for (size_t i = 0; i < N; ++i) /* the farthest point not taken yet, lowest index */
        if (!taken[i] && dist[i] > best) {
          best = dist[i];
          far = i;
        }
      if (best == 0) break; /* (the largest distance is 0: no relocation at all) */
      taken[far] = 1;
      for (size_t d = 0; d < D; ++d) {
        double const wi = w ? w[far] : 1;
        sums[lab[far] * D + d] -= wi * x[far * D + d];
        sums[k * D + d] = wi * x[far * D + d];
      }
      mass[lab[far]] -= w ? w[far] : 1;
      mass[k] = w ? w[far] : 1;
    }
    for (size_t k = 0; k < K; ++k) {
      if (mass[k] > mass[heavy]) heavy = k;
      if (mass[k] > 0)
        for (size_t d = 0; d < D; ++d) c[k * D + d] = sums[k * D + d] / mass[k];
    }
    for (size_t k = 0; k < K; ++k)
      if (!(mass[k] > 0)) memcpy(c + k * D, c + heavy * D, D * sizeof *c);
    o->shift = 0;
    for (size_t q = 0; q < K * D; ++q) o->shift += (c[q] - old[q]) * (c[q] - old[q]);
    ++t;
    if (changed == 0) {
      strict = 1;
      o->reason = VlKMeansStopNoChange;
      break;
    }
    if (o->shift <= thr) {
      converged = 1;
      o->reason = VlKMeansStopCenterShift;
    }
    changed = ref_assign(x, N, D, c, K, lab, dist);
  }
  o->energy = 0;
  for (size_t i = 0; i < N; ++i)
    o->energy += (w ? w[i] : 1) * (strict ? sqdist(x + i * D, c + lab[i] * D, D) : dist[i]);
  o->iterations = t;
  free(dist);
  free(old);
  free(sums);
  free(mass);
  free(cnt);
  free(taken);
}

/* ---- against the reference --------------------------------------------------------------- */

/* From the same initial centers (two of them far away, so that clusters
 * empty out and are relocated): the same iterations, stop reason and
 * labels, the same centers and energy up to rounding. */
static void test_reference(vl_type t)
{
  size_t const N = 600, D = 4, K = 7;
  double const rtol = t == VL_TYPE_FLOAT ? 2e-5 : 1e-10;
  double *xd = blobs(N, D, 5, 11, 4.0), *w = malloc(N * sizeof *w);
  void *x = typed(t, xd, N * D);
  double *xr = as_double(t, x, N * D); /* the data as the library sees it */
  double const mv = ref_mean_variance(xr, N, D);
  test_seed(12);
  for (size_t i = 0; i < N; ++i) w[i] = test_uniform() < 0.1 ? 0 : 0.1 + 3 * test_uniform();
  for (int alg = 0; alg < 3; ++alg)
    for (int weighted = 0; weighted < 2; ++weighted)
      for (int ti = 0; ti < 3; ++ti) {
        double const tol = ti == 0 ? 1e-4 : ti == 1 ? 0 : 1e-2;
        double init[7 * 4], c[7 * 4];
        vl_uint32 lab[600], got[600];
        ref_out o;
        VlKMeans *km = new_sk(t, (VlKMeansAlgorithm)alg, 300, tol);
        void *ti_init;
        double E;
        for (size_t k = 0; k < K; ++k)
          for (size_t d = 0; d < D; ++d)
            init[k * D + d] = k < 5 ? xr[(k * 97) * D + d] : 40.0 + 10.0 * (double)k + (double)d;
        ti_init = typed(t, init, K * D);
        for (size_t q = 0; q < K * D; ++q) c[q] = at(t, ti_init, q);
        ref_sklearn(xr, weighted ? w : NULL, N, D, c, K, 300, tol * mv, lab, &o);
        vl_kmeans_set_centers(km, ti_init, D, K);
        E = vl_kmeans_refine_centers_with_assignments(km, x, N, weighted ? w : NULL, got);
        CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message());
        CHECK_MSG(vl_kmeans_get_num_iterations(km) == o.iterations,
                  "%s weighted %d tol %g: %zu iterations, reference %zu", ALG[alg], weighted, tol,
                  (size_t)vl_kmeans_get_num_iterations(km), o.iterations);
        CHECK_MSG((int)vl_kmeans_get_stop_reason(km) == o.reason, "%s: reason %d, reference %d",
                  ALG[alg], (int)vl_kmeans_get_stop_reason(km), o.reason);
        CHECK(memcmp(got, lab, sizeof lab) == 0);
        CHECK(o.iterations > 1);
        CHECK_CLOSE(E, o.energy, rtol, 0);
        CHECK_CLOSE(vl_kmeans_get_energy(km), E, 0, 0);
        CHECK_CLOSE(vl_kmeans_get_center_shift_threshold(km), tol * mv, 1e-12, 0);
        CHECK_CLOSE(vl_kmeans_get_center_shift(km), o.shift, 1e-3, 1e-9 + rtol * 1e2);
        for (size_t q = 0; q < K * D; ++q)
          CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), q), c[q], rtol, rtol);
        free(ti_init);
        vl_kmeans_delete(km);
      }
  free(w);
  free(xr);
  free(x);
  free(xd);
}

/* scikit-learn's toy examples (sklearn/cluster/tests/test_k_means.py):
 * the relocated cluster, the weighted relocation, and every point on a
 * center (nothing to relocate: the empty cluster goes to the heaviest). */
static void test_closed_forms(vl_type t)
{
  double const x4[8] = {0, 0, 0.5, 0, 0.5, 1, 1, 1};
  double const init4[4] = {0.5, 0.5, 3, 3};
  double const x2[2] = {-1, 1}, w2[2] = {1.9, 0.1}, init2[2] = {-1, 10};
  double const x3[4] = {0, 0, 1, 1}, init3[3] = {0, 1, 5};
  double const wt[4] = {3, 1, 1, 3}, initw[4] = {0, 0, 1, 1};
  for (int alg = 0; alg < 3; ++alg) {
    VlKMeans *km = new_sk(t, (VlKMeansAlgorithm)alg, 300, 1e-4);
    void *x = typed(t, x4, 8), *c = typed(t, init4, 4);
    vl_uint32 a[4];
    double E;
    /* center 1 is empty at first and takes the farthest point (0, 0) */
    vl_kmeans_set_centers(km, c, 2, 2);
    E = vl_kmeans_refine_centers_with_assignments(km, x, 4, NULL, a);
    CHECK_CLOSE(E, 0.25, 1e-7, 0);
    CHECK_MSG(vl_kmeans_get_num_iterations(km) == 3, "%s: %zu", ALG[alg],
              (size_t)vl_kmeans_get_num_iterations(km));
    CHECK(vl_kmeans_get_stop_reason(km) == VlKMeansStopNoChange);
    CHECK(a[0] == 1 && a[1] == 1 && a[2] == 0 && a[3] == 0);
    CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), 0), 0.75, 0, 1e-7);
    CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), 1), 1.0, 0, 1e-7);
    CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), 2), 0.25, 0, 1e-7);
    CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), 3), 0.0, 0, 1e-7);
    /* the toy data with weights 3, 1, 1, 3: two iterations (scikit-learn's
     * test_kmeans_results) */
    free(c);
    c = typed(t, initw, 4);
    vl_kmeans_set_centers(km, c, 2, 2);
    E = vl_kmeans_refine_centers_with_assignments(km, x, 4, wt, a);
    CHECK_CLOSE(E, 0.375, 1e-7, 0);
    CHECK(vl_kmeans_get_num_iterations(km) == 2);
    CHECK(a[0] == 0 && a[1] == 0 && a[2] == 1 && a[3] == 1);
    CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), 0), 0.125, 0, 1e-7);
    CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), 2), 0.875, 0, 1e-7);
    free(x);
    free(c);
    /* weighted: the far point brings its weight 0.1 only */
    x = typed(t, x2, 2);
    c = typed(t, init2, 2);
    vl_kmeans_set_centers(km, c, 1, 2);
    vl_kmeans_refine_centers_with_assignments(km, x, 2, w2, a);
    CHECK(a[0] == 0 && a[1] == 1);
    CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), 0), -1, 0, 1e-7);
    CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), 1), 1, 0, 1e-7);
    free(x);
    free(c);
    /* duplicates: center 2 is empty and every point is on its center */
    x = typed(t, x3, 4);
    c = typed(t, init3, 3);
    vl_kmeans_set_centers(km, c, 1, 3);
    E = vl_kmeans_refine_centers_with_assignments(km, x, 4, NULL, a);
    CHECK(E == 0);
    CHECK(a[0] == 0 && a[1] == 0 && a[2] == 1 && a[3] == 1);
    CHECK(at(t, vl_kmeans_get_centers(km), 2) == 0); /* the first heaviest cluster's */
    CHECK(vl_kmeans_get_num_iterations(km) == 2);
    CHECK(vl_kmeans_get_stop_reason(km) == VlKMeansStopNoChange);
    free(x);
    free(c);
    vl_kmeans_delete(km);
  }
}

/* ---- Elkan = Lloyd, threads, SIMD levels ------------------------------------------------- */

/* Lloyd and Elkan decide near ties with distances summed by different
 * kernels, as do the SIMD levels: in float, a point within an ulp of a
 * boundary may go either way, so the float data here has well separated
 * blobs (one per center); the double data overlaps. */
static void test_elkan_threads_levels(vl_type t)
{
  size_t const N = 4000, D = 12, K = 9, es = esz(t);
  double *xd = t == VL_TYPE_FLOAT ? blobs(N, D, K, 31, 8.0) : blobs(N, D, 6, 31, 1.5);
  double *w = malloc(N * sizeof *w);
  void *x = typed(t, xd, N * D);
  int const level0 = vl_get_simd_level();
  vl_uint32 *ref = malloc(N * sizeof *ref), *got = malloc(N * sizeof *got);
  char *cref = malloc(K * D * es), *init = malloc(K * D * es);
  double const rtol = t == VL_TYPE_FLOAT ? 1e-4 : 1e-9;
  VlKMeans *seeder = vl_kmeans_new(t, VlDistanceL2);
  test_seed(32);
  for (size_t i = 0; i < N; ++i) w[i] = test_uniform() < 0.2 ? 0 : test_uniform();
  vl_rand_seed(vl_get_rand(), 7);
  vl_kmeans_init_centers_plus_plus(seeder, x, D, N, K);
  memcpy(init, vl_kmeans_get_centers(seeder), K * D * es);
  vl_kmeans_delete(seeder);
  for (int weighted = 0; weighted < 2; ++weighted) {
    size_t iters = 0;
    double Eref = 0;
    for (int alg = 0; alg < 2; ++alg)
      for (int th = 1; th <= 3; ++th) {
        VlKMeans *km = new_sk(t, (VlKMeansAlgorithm)alg, 300, 1e-6);
        double E;
        vl_set_num_threads((vl_size)th);
        vl_kmeans_set_centers(km, init, D, K);
        E = vl_kmeans_refine_centers_with_assignments(km, x, N, weighted ? w : NULL, got);
        if (alg == 0 && th == 1) {
          memcpy(ref, got, N * sizeof *ref);
          memcpy(cref, vl_kmeans_get_centers(km), K * D * es);
          iters = vl_kmeans_get_num_iterations(km);
          Eref = E;
          CHECK(iters >= 2);
        } else if (alg == 0) { /* Lloyd on more threads: bit for bit */
          CHECK(E == Eref && memcmp(cref, vl_kmeans_get_centers(km), K * D * es) == 0);
        } else { /* Elkan: the same labels and iterations, the centers up to rounding */
          CHECK_CLOSE(E, Eref, rtol, 0);
          for (size_t q = 0; q < K * D; ++q)
            CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), q), at(t, cref, q), rtol, rtol);
        }
        CHECK_MSG(vl_kmeans_get_num_iterations(km) == iters, "%s %d threads: %zu, %zu", ALG[alg],
                  th, (size_t)vl_kmeans_get_num_iterations(km), iters);
        CHECK(memcmp(got, ref, N * sizeof *got) == 0);
        vl_kmeans_delete(km);
      }
    vl_set_num_threads(0);
    for (int level = VL_SIMD_SCALAR; level <= vl_get_simd_max_level(); ++level) {
      if (vl_set_simd_level(level) != 0) continue;
      for (int alg = 0; alg < 3; ++alg) {
        VlKMeans *km = new_sk(t, (VlKMeansAlgorithm)alg, 300, 1e-6);
        vl_kmeans_set_centers(km, init, D, K);
        vl_rand_seed(vl_get_rand(), 3);
        vl_kmeans_refine_centers_with_assignments(km, x, N, weighted ? w : NULL, got);
        CHECK_MSG(vl_kmeans_get_num_iterations(km) == iters && memcmp(got, ref, N * sizeof *got) == 0,
                  "level %d %s: %zu iterations (%zu)", level, ALG[alg],
                  (size_t)vl_kmeans_get_num_iterations(km), iters);
        for (size_t q = 0; q < K * D; ++q)
          CHECK_CLOSE(at(t, vl_kmeans_get_centers(km), q), at(t, cref, q), rtol, rtol);
        vl_kmeans_delete(km);
      }
    }
    vl_set_simd_level(level0);
  }
  free(ref);
  free(got);
  free(cref);
  free(init);
  free(w);
  free(x);
  free(xd);
}

/* ---- repetitions, the final assignment, the iteration limit, the callback ---------------- */

static int g_stop_at;
static double g_reported;
static int stop_at(void *user, vl_size iteration, double value)
{
  (void)user;
  g_reported = value;
  return (int)iteration == g_stop_at;
}

static void test_runs(vl_type t)
{
  size_t const N = 800, D = 3, K = 6, es = esz(t);
  double *xd = blobs(N, D, 4, 41, 3.0);
  void *x = typed(t, xd, N * D);
  double *xr = as_double(t, x, N * D);
  vl_uint32 *a = malloc(N * sizeof *a), *q = malloc(N * sizeof *q);
  for (int alg = 0; alg < 3; ++alg) {
    /* three repetitions keep the lowest energy: that of one of three
     * separate seed + refine runs drawing the same numbers */
    VlKMeans *km = new_sk(t, (VlKMeansAlgorithm)alg, 300, 1e-4);
    double E, best = INFINITY;
    vl_kmeans_set_initialization(km, VlKMeansRandomSelection);
    vl_kmeans_set_num_repetitions(km, 3);
    vl_rand_seed(vl_get_rand(), 5);
    E = vl_kmeans_cluster_with_assignments(km, x, D, N, K, NULL, a);
    { /* the energy is that of the returned assignment under the returned centers */
      double *c = as_double(t, vl_kmeans_get_centers(km), K * D);
      double e = 0;
      for (size_t i = 0; i < N; ++i) e += sqdist(xr + i * D, c + a[i] * D, D);
      CHECK_CLOSE(E, e, t == VL_TYPE_FLOAT ? 1e-5 : 1e-12, 0);
      free(c);
    }
    /* the returned assignment is the nearest center of every point */
    vl_kmeans_quantize(km, q, NULL, x, N);
    if (alg != VlKMeansANN) CHECK(memcmp(a, q, N * sizeof *a) == 0);
    vl_rand_seed(vl_get_rand(), 5);
    for (int r = 0; r < 3; ++r) {
      VlKMeans *one = new_sk(t, (VlKMeansAlgorithm)alg, 300, 1e-4);
      double e;
      vl_kmeans_init_centers_with_rand_data(one, x, D, N, K);
      e = vl_kmeans_refine_centers(one, x, N);
      if (e < best) best = e;
      vl_kmeans_delete(one);
    }
    CHECK_MSG(E == best, "%s: %.17g vs %.17g", ALG[alg], E, best);

    /* no iteration: the initial centers and their assignment */
    vl_kmeans_set_max_num_iterations(km, 0);
    vl_kmeans_set_centers(km, x, D, K); /* the first K points */
    E = vl_kmeans_refine_centers_with_assignments(km, x, N, NULL, a);
    CHECK(vl_kmeans_get_num_iterations(km) == 0);
    CHECK(vl_kmeans_get_stop_reason(km) == VlKMeansStopMaxIterations);
    CHECK(memcmp(vl_kmeans_get_centers(km), x, K * D * es) == 0);
    vl_kmeans_quantize(km, q, NULL, x, N);
    if (alg != VlKMeansANN) CHECK(memcmp(a, q, N * sizeof *a) == 0);
    CHECK(a[0] == 0 && a[K - 1] == K - 1);

    /* one iteration: one update, then the assignment to the new centers */
    vl_kmeans_set_max_num_iterations(km, 1);
    vl_kmeans_set_centers(km, x, D, K);
    E = vl_kmeans_refine_centers_with_assignments(km, x, N, NULL, a);
    CHECK(vl_kmeans_get_num_iterations(km) == 1);
    vl_kmeans_quantize(km, q, NULL, x, N);
    if (alg != VlKMeansANN) CHECK(memcmp(a, q, N * sizeof *a) == 0);

    /* a callback stopping at iteration 2: two updates, the assignment and
     * energy reported at iteration 2, VL_ERR_INTERRUPTED */
    vl_kmeans_set_max_num_iterations(km, 300);
    vl_kmeans_set_centers(km, x, D, K);
    vl_kmeans_set_iteration_callback(km, stop_at, NULL);
    g_stop_at = 2;
    E = vl_kmeans_refine_centers_with_assignments(km, x, N, NULL, a);
    CHECK(vl_get_last_error() == VL_ERR_INTERRUPTED);
    CHECK(vl_kmeans_get_stop_reason(km) == VlKMeansStopCallback);
    CHECK(vl_kmeans_get_num_iterations(km) == 2);
    CHECK(E == g_reported);
    vl_kmeans_quantize(km, q, NULL, x, N);
    if (alg != VlKMeansANN) CHECK(memcmp(a, q, N * sizeof *a) == 0);
    vl_kmeans_set_iteration_callback(km, NULL, NULL);
    vl_kmeans_delete(km);
  }
  free(a);
  free(q);
  free(xr);
  free(x);
  free(xd);
}

/* A large tolerance stops after one update, with the threshold and the
 * shift of that update as computed here. */
static void test_tolerance(vl_type t)
{
  size_t const N = 500, D = 5, K = 4;
  double *xd = blobs(N, D, 3, 51, 2.0);
  void *x = typed(t, xd, N * D);
  double *xr = as_double(t, x, N * D);
  double const mv = ref_mean_variance(xr, N, D);
  for (int alg = 0; alg < 3; ++alg) {
    VlKMeans *km = new_sk(t, (VlKMeansAlgorithm)alg, 300, 1e3);
    double shift = 0;
    vl_kmeans_set_centers(km, x, D, K);
    vl_kmeans_refine_centers(km, x, N);
    CHECK(vl_kmeans_get_num_iterations(km) == 1);
    CHECK(vl_kmeans_get_stop_reason(km) == VlKMeansStopCenterShift);
    CHECK_CLOSE(vl_kmeans_get_center_shift_threshold(km), 1e3 * mv, 1e-12, 0);
    for (size_t q = 0; q < K * D; ++q) {
      double const z = at(t, vl_kmeans_get_centers(km), q) - xr[q];
      shift += z * z;
    }
    CHECK_CLOSE(vl_kmeans_get_center_shift(km), shift, 1e-12, 0);
    /* tol 0: the threshold is 0 and the run ends by strict convergence */
    vl_kmeans_set_center_shift_tolerance(km, 0);
    vl_kmeans_set_centers(km, x, D, K);
    vl_kmeans_refine_centers(km, x, N);
    CHECK(vl_kmeans_get_center_shift_threshold(km) == 0);
    CHECK(vl_kmeans_get_stop_reason(km) == VlKMeansStopNoChange ||
          vl_kmeans_get_center_shift(km) == 0);
    vl_kmeans_delete(km);
  }
  free(xr);
  free(x);
  free(xd);
}

/* ---- VLFeat's rule: unchanged by the new entry points ---------------------------------- */

static void test_vlfeat_rule(vl_type t)
{
  size_t const N = 700, D = 6, K = 5, es = esz(t);
  double *xd = blobs(N, D, 4, 61, 2.5);
  void *x = typed(t, xd, N * D);
  vl_uint32 *a = malloc(N * sizeof *a), *q = malloc(N * sizeof *q);
  for (int alg = 0; alg < 3; ++alg) {
    VlKMeans *p = vl_kmeans_new(t, VlDistanceL2), *r = vl_kmeans_new(t, VlDistanceL2);
    double Ep, Er;
    CHECK(vl_kmeans_get_stopping_rule(p) == VlKMeansStopVLFeat);
    CHECK(vl_kmeans_get_center_shift_tolerance(p) == 1e-4);
    CHECK(vl_kmeans_get_stop_reason(p) == VlKMeansNotRun && vl_kmeans_get_num_iterations(p) == 0);
    vl_kmeans_set_algorithm(p, (VlKMeansAlgorithm)alg);
    vl_kmeans_set_algorithm(r, (VlKMeansAlgorithm)alg);
    vl_kmeans_set_num_repetitions(p, 2);
    vl_kmeans_set_num_repetitions(r, 2);
    vl_rand_seed(vl_get_rand(), 9);
    Ep = vl_kmeans_cluster(p, x, D, N, K);
    vl_rand_seed(vl_get_rand(), 9);
    Er = vl_kmeans_cluster_with_assignments(r, x, D, N, K, NULL, a);
    CHECK(Ep == Er && memcmp(vl_kmeans_get_centers(p), vl_kmeans_get_centers(r), K * D * es) == 0);
    CHECK(vl_kmeans_get_num_iterations(p) == vl_kmeans_get_num_iterations(r));
    CHECK(vl_kmeans_get_stop_reason(r) != VlKMeansNotRun);
    CHECK(vl_kmeans_get_stop_reason(r) != VlKMeansStopCenterShift);
    CHECK(isnan(vl_kmeans_get_center_shift(r)) && isnan(vl_kmeans_get_center_shift_threshold(r)));
    vl_kmeans_quantize(r, q, NULL, x, N);
    if (alg != VlKMeansANN) CHECK(memcmp(a, q, N * sizeof *a) == 0);
    /* the iteration limit: maxNumIterations updates */
    vl_kmeans_set_max_num_iterations(r, 2);
    vl_kmeans_set_min_energy_variation(r, 0);
    vl_kmeans_set_centers(r, x, D, K);
    vl_kmeans_refine_centers(r, x, N);
    CHECK(vl_kmeans_get_num_iterations(r) <= 2);
    CHECK(vl_kmeans_get_num_iterations(r) == 2 ||
          vl_kmeans_get_stop_reason(r) != VlKMeansStopMaxIterations);
    /* new centers: no run to report */
    vl_kmeans_set_centers(r, x, D, K);
    CHECK(vl_kmeans_get_stop_reason(r) == VlKMeansNotRun);
    vl_kmeans_delete(p);
    vl_kmeans_delete(r);
  }
  free(a);
  free(q);
  free(x);
  free(xd);
}

/* ---- bad settings, allocation failures --------------------------------------------------- */

static int msg_has(char const *s) { return strstr(vl_get_last_error_message(), s) != NULL; }

static void test_errors(void)
{
  double const x[8] = {0, 0, 1, 0, 0, 1, 1, 1};
  VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2), *l1;
  vl_kmeans_set_stopping_rule(km, (VlKMeansStoppingRule)2);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && msg_has("unknown rule 2"));
  CHECK(vl_kmeans_get_stopping_rule(km) == VlKMeansStopVLFeat);
  vl_kmeans_set_stopping_rule(km, VlKMeansStopSklearn);
  CHECK(vl_get_last_error() == VL_ERR_OK && vl_kmeans_get_stopping_rule(km) == VlKMeansStopSklearn);
  vl_kmeans_set_center_shift_tolerance(km, -1);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && msg_has("finite and >= 0"));
  vl_kmeans_set_center_shift_tolerance(km, NAN);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
  vl_kmeans_set_center_shift_tolerance(km, INFINITY);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(vl_kmeans_get_center_shift_tolerance(km) == 1e-4);
  CHECK(vl_kmeans_get_num_iterations(NULL) == 0 && vl_get_last_error() == VL_ERR_BAD_ARG);
  CHECK(isnan(vl_kmeans_get_center_shift(NULL)));
  vl_kmeans_set_stopping_rule(NULL, VlKMeansStopSklearn);
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && msg_has("NULL k-means object"));
  CHECK(isnan(vl_kmeans_refine_centers_with_assignments(NULL, x, 4, NULL, NULL)));
  CHECK(isnan(vl_kmeans_refine_centers_with_assignments(km, x, 4, NULL, NULL)));
  CHECK(vl_get_last_error() == VL_ERR_BAD_STATE);
  /* the L1 distance has no scikit-learn rule: BAD_ARG, the object unchanged */
  l1 = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL1);
  vl_kmeans_set_stopping_rule(l1, VlKMeansStopSklearn);
  CHECK(isnan(vl_kmeans_cluster(l1, x, 2, 4, 2)));
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && msg_has("needs the L2 distance"));
  CHECK(vl_kmeans_get_centers(l1) == NULL);
  vl_kmeans_set_centers(l1, x, 2, 2);
  CHECK(isnan(vl_kmeans_refine_centers(l1, x, 4)));
  CHECK(vl_get_last_error() == VL_ERR_BAD_ARG && msg_has("needs the L2 distance"));
  CHECK(memcmp(vl_kmeans_get_centers(l1), x, 4 * sizeof(double)) == 0);
  /* the copy keeps the rule and the tolerance */
  vl_kmeans_set_center_shift_tolerance(km, 0.5);
  {
    VlKMeans *cp = vl_kmeans_new_copy(km);
    CHECK(vl_kmeans_get_stopping_rule(cp) == VlKMeansStopSklearn &&
          vl_kmeans_get_center_shift_tolerance(cp) == 0.5);
    vl_kmeans_delete(cp);
  }
  vl_kmeans_delete(l1);
  vl_kmeans_delete(km);
}

static void test_alloc_failures(void)
{
  size_t const N = 300, D = 4, K = 5;
  double *x = blobs(N, D, 3, 71, 3.0), *w = malloc(N * sizeof *w);
  vl_uint32 *a = malloc(N * sizeof *a);
  for (size_t i = 0; i < N; ++i) w[i] = (double)(i % 3);
  for (int alg = 0; alg < 3; ++alg) {
    int failures = 0;
    for (long n = 1; n < 40; ++n) {
      VlKMeans *km = new_sk(VL_TYPE_DOUBLE, (VlKMeansAlgorithm)alg, 50, 1e-4);
      double E;
      vl_kmeans_set_num_repetitions(km, 2);
      gmm_alloc_fail_after(n);
      E = vl_kmeans_cluster_with_assignments(km, x, D, N, K, n % 2 ? w : NULL, a);
      gmm_alloc_fail_after(0);
      if (isnan(E)) {
        ++failures;
        CHECK(vl_get_last_error() == VL_ERR_ALLOC && vl_kmeans_get_centers(km) == NULL);
        CHECK(vl_kmeans_get_stop_reason(km) == VlKMeansNotRun);
      } else {
        CHECK(vl_get_last_error() == VL_ERR_OK && vl_kmeans_get_centers(km) != NULL);
      }
      vl_kmeans_delete(km);
    }
    CHECK(failures > 0);
  }
  free(a);
  free(w);
  free(x);
}

int main(void)
{
  for (int i = 0; i < 2; ++i) {
    test_reference(TYPES[i]);
    test_closed_forms(TYPES[i]);
    test_elkan_threads_levels(TYPES[i]);
    test_runs(TYPES[i]);
    test_tolerance(TYPES[i]);
    test_vlfeat_rule(TYPES[i]);
  }
  test_errors();
  test_alloc_failures();
  TEST_EXIT();
}
