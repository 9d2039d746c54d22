/* test_errors.c: every kind of bad input against every public C function
 * group, as tabulated in docs/errors.md.
 *
 * Each row checks the documented outcome: the error code and a fragment of
 * the message in the calling thread's last error, the sentinel return value,
 * never a crash, and that the object is unchanged (bit for bit) and still
 * works afterwards. The allocation-failure row injects a failure at every
 * allocation site of every public function that allocates (n = 1, 2, ...
 * until the call no longer reaches the n-th allocation): each failed call
 * must report VL_ERR_ALLOC, leak nothing (run under valgrind/ASan) and leave
 * the object usable. */
#include <float.h>
#include <limits.h>
#include <stdint.h>

#include "test_util.h"
#include "vl/libgmm.h"
#include "vl/fisher.h"
#include "vl/gmm.h"
#include "vl/kmeans.h"
#include "vl/random.h"
#include "vl/vlad.h"

/* hidden test hooks of src/alloc.c (reachable from the static archive) */
extern void gmm_alloc_fail_after(long n);
extern long gmm_alloc_count(void);

static int g_checks = 0;
static char const *g_case = ""; /* the allocation-failure case being swept, for messages */

/* The last error must be `code` with a message containing `frag`. */
#define EXPECT_ERR(code, frag) expect_err(__LINE__, (code), (frag))
static void expect_err(int line, int code, char const *frag)
{
  int const got = vl_get_last_error();
  char const *msg = vl_get_last_error_message();
  ++g_checks;
  if (got != code || !msg || !*msg || (frag && !strstr(msg, frag))) {
    fprintf(stderr, "%s:%d: expected error %d containing \"%s\", got %d \"%s\"\n", __FILE__,
            line, code, frag ? frag : "", got, msg ? msg : "(null)");
    ++g_failures;
  }
}
#define EXPECT_OK() expect_ok(__LINE__)
static void expect_ok(int line)
{
  ++g_checks;
  if (vl_get_last_error() != VL_ERR_OK) {
    fprintf(stderr, "%s:%d: expected no error, got %d \"%s\"\n", __FILE__, line,
            vl_get_last_error(), vl_get_last_error_message());
    ++g_failures;
  }
}
#define CHECK_T(cond)                                                                        \
  do {                                                                                       \
    ++g_checks;                                                                              \
    CHECK(cond);                                                                             \
  } while (0)

/* ---- data ---------------------------------------------------------------------------- */

enum { N = 300, D = 3, K = 4, NIMG = 3 };

static double X[N * D];      /* a 4-cluster mixture */
static float XF[N * D];
static double MU[K * D], COV[K * D], PRI[K];
static float MUF[K * D], COVF[K * D], PRIF[K];
static double ASSIGN[N * K]; /* one-hot VLAD weights */
static vl_size const OFFSETS[NIMG + 1] = {0, 100, 100, N}; /* the middle image is empty */

static void make_data(void)
{
  test_seed(7);
  for (int i = 0; i < N; ++i) {
    int const c = i % K;
    for (int d = 0; d < D; ++d) {
      X[i * D + d] = 4.0 * c + (d == 0 ? 0 : -2.0 * c) + test_normal();
      XF[i * D + d] = (float)X[i * D + d];
    }
    for (int k = 0; k < K; ++k) ASSIGN[i * K + k] = k == c;
  }
  for (int k = 0; k < K; ++k) {
    PRI[k] = 1.0 / K;
    PRIF[k] = (float)PRI[k];
    for (int d = 0; d < D; ++d) {
      MU[k * D + d] = X[k * D + d];
      COV[k * D + d] = 1.0 + 0.1 * d;
      MUF[k * D + d] = (float)MU[k * D + d];
      COVF[k * D + d] = (float)COV[k * D + d];
    }
  }
}

/* ---- object snapshots: "unchanged" is bit for bit ------------------------------------- */

typedef struct {
  double means[K * D], covs[K * D], priors[K], bounds[D], ll, conv;
  size_t num_data, reps, iters;
  int init, verbosity, store;
} gmm_snap;

static void snap_gmm(VlGMM const *g, gmm_snap *s)
{
  size_t const es = vl_gmm_get_data_type(g) == VL_TYPE_FLOAT ? sizeof(float) : sizeof(double);
  memset(s, 0, sizeof *s);
  memcpy(s->means, vl_gmm_get_means(g), K * D * es);
  memcpy(s->covs, vl_gmm_get_covariances(g), K * D * es);
  memcpy(s->priors, vl_gmm_get_priors(g), K * es);
  memcpy(s->bounds, vl_gmm_get_covariance_lower_bounds(g), sizeof s->bounds);
  s->ll = vl_gmm_get_loglikelihood(g);
  s->conv = vl_gmm_get_convergence_threshold(g);
  s->num_data = vl_gmm_get_num_data(g);
  s->reps = vl_gmm_get_num_repetitions(g);
  s->iters = vl_gmm_get_max_num_iterations(g);
  s->init = (int)vl_gmm_get_initialization(g);
  s->verbosity = vl_gmm_get_verbosity(g);
  s->store = vl_gmm_get_store_posteriors(g);
}

#define CHECK_GMM_UNCHANGED(g, before) check_gmm_unchanged(__LINE__, (g), (before))
static void check_gmm_unchanged(int line, VlGMM const *g, gmm_snap const *before)
{
  gmm_snap now;
  int const err = vl_get_last_error();
  char msg[VL_ERR_MSG_LEN];
  strcpy(msg, vl_get_last_error_message());
  snap_gmm(g, &now);
  ++g_checks;
  if (memcmp(&now, before, sizeof now) != 0) {
    fprintf(stderr, "%s:%d: the GMM changed in a failed call %s\n", __FILE__, line, g_case);
    ++g_failures;
  }
  (void)err;
  (void)msg;
}

/* A double GMM with D = 3, K = 4 trained on X: still usable means EM from
 * its parameters and a full clustering both work. */
#define CHECK_GMM_USABLE(g) check_gmm_usable(__LINE__, (g))
static void check_gmm_usable(int line, VlGMM *g)
{
  VlGMM *c = vl_gmm_new_copy(g);
  double ll1 = NAN, ll2;
  ++g_checks;
  if (c) {
    vl_gmm_set_max_num_iterations(c, 2);
    vl_gmm_set_initialization(c, VlGMMRand);
    vl_gmm_set_num_repetitions(c, 1);
    ll1 = vl_gmm_cluster(c, vl_gmm_get_data_type(c) == VL_TYPE_FLOAT ? (void const *)XF : X, N);
    vl_gmm_delete(c);
  }
  ll2 = vl_gmm_estep(g, vl_gmm_get_data_type(g) == VL_TYPE_FLOAT ? (void const *)XF : X, N, NULL,
                     NULL, NULL);
  if (!c || !isfinite(ll1) || (!isfinite(ll2) && vl_get_last_error() != VL_ERR_BAD_ARG)) {
    fprintf(stderr, "%s:%d: the GMM is not usable after the failed call (%d %s)\n", __FILE__,
            line, vl_get_last_error(), vl_get_last_error_message());
    ++g_failures;
  }
}

typedef struct {
  double centers[K * D], energy, minvar;
  size_t dim, num, reps, iters, trees, comps;
  int algo, init, verbosity;
} km_snap;

static void snap_km(VlKMeans const *km, km_snap *s)
{
  void const *c = vl_kmeans_get_centers(km);
  memset(s, 0, sizeof *s);
  s->dim = vl_kmeans_get_dimension(km);
  s->num = vl_kmeans_get_num_centers(km);
  if (c) {
    size_t const n = s->dim * s->num;
    size_t const es = vl_kmeans_get_data_type(km) == VL_TYPE_FLOAT ? 4 : 8;
    memcpy(s->centers, c, (n < K * D ? n : K * D) * es);
  }
  s->energy = vl_kmeans_get_energy(km);
  s->minvar = vl_kmeans_get_min_energy_variation(km);
  s->reps = vl_kmeans_get_num_repetitions(km);
  s->iters = vl_kmeans_get_max_num_iterations(km);
  s->trees = vl_kmeans_get_num_trees(km);
  s->comps = vl_kmeans_get_max_num_comparisons(km);
  s->algo = (int)vl_kmeans_get_algorithm(km);
  s->init = (int)vl_kmeans_get_initialization(km);
  s->verbosity = vl_kmeans_get_verbosity(km);
}

#define CHECK_KM_UNCHANGED(km, before) check_km_unchanged(__LINE__, (km), (before))
static void check_km_unchanged(int line, VlKMeans const *km, km_snap const *before)
{
  km_snap now;
  snap_km(km, &now);
  ++g_checks;
  if (memcmp(&now, before, sizeof now) != 0) {
    fprintf(stderr, "%s:%d: the k-means object changed in a failed call %s\n", __FILE__, line,
            g_case);
    ++g_failures;
  }
}

#define CHECK_KM_USABLE(km) check_km_usable(__LINE__, (km))
static void check_km_usable(int line, VlKMeans *km)
{
  int const f = vl_kmeans_get_data_type(km) == VL_TYPE_FLOAT;
  void const *x = f ? (void const *)XF : X;
  vl_uint32 a[N];
  double e;
  VlKMeans *c = vl_kmeans_new_copy(km);
  ++g_checks;
  if (!c) {
    fprintf(stderr, "%s:%d: cannot copy the k-means object\n", __FILE__, line);
    ++g_failures;
    return;
  }
  e = vl_kmeans_cluster(c, x, D, N, K);
  vl_kmeans_quantize(c, a, NULL, x, N);
  if (!isfinite(e) || vl_get_last_error() != VL_ERR_OK) {
    fprintf(stderr, "%s:%d: the k-means object is not usable (%s)\n", __FILE__, line,
            vl_get_last_error_message());
    ++g_failures;
  }
  vl_kmeans_delete(c);
}

/* A trained double GMM (D, K) on X. */
static VlGMM *trained_gmm(vl_type t)
{
  VlGMM *g = vl_gmm_new(t, D, K);
  vl_rand_seed(vl_get_rand(), 11);
  vl_gmm_set_max_num_iterations(g, 10);
  vl_gmm_cluster(g, t == VL_TYPE_FLOAT ? (void const *)XF : X, N);
  return g;
}

static VlKMeans *trained_km(vl_type t)
{
  VlKMeans *km = vl_kmeans_new(t, VlDistanceL2);
  vl_rand_seed(vl_get_rand(), 5);
  vl_kmeans_cluster(km, t == VL_TYPE_FLOAT ? (void const *)XF : X, D, N, K);
  return km;
}

/* ================================================================================= */
/* Row: NULL pointers                                                                 */
/* ================================================================================= */

static void row_null_pointers(void)
{
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  VlKMeans *km = trained_km(VL_TYPE_DOUBLE);
  gmm_snap gs;
  km_snap ks;
  double out[2 * K * D * NIMG], post[N * K], stats[2 * K + 2 * K * D + 2], split[4];
  vl_uint32 a[N];

  snap_gmm(g, &gs);
  snap_km(km, &ks);

  /* NULL object: every function of the object groups */
  CHECK_T(vl_gmm_new_copy(NULL) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  CHECK_T(isnan(vl_gmm_cluster(NULL, X, N)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_cluster: the GMM object is NULL");
  CHECK_T(isnan(vl_gmm_em(NULL, X, N)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_em: the GMM object is NULL");
  vl_gmm_init_with_rand_data(NULL, X, N);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  vl_gmm_init_with_kmeans(NULL, X, N, NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  vl_gmm_set_means(NULL, MU);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_means: the GMM object is NULL");
  vl_gmm_set_priors(NULL, PRI);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  vl_gmm_set_max_num_iterations(NULL, 3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  vl_gmm_reset(NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  CHECK_T(vl_gmm_get_means(NULL) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_get_means: the GMM object is NULL");
  CHECK_T(vl_gmm_get_num_clusters(NULL) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  CHECK_T(isnan(vl_gmm_get_loglikelihood(NULL)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  CHECK_T(isnan(vl_gmm_estep(NULL, X, N, NULL, NULL, NULL)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_estep: the GMM object is NULL");
  vl_gmm_delete(NULL); /* like free(NULL) */
  EXPECT_OK();

  /* NULL arrays into a valid GMM: an error, the object unchanged */
  CHECK_T(isnan(vl_gmm_cluster(g, NULL, N)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_cluster: data is NULL");
  CHECK_T(isnan(vl_gmm_em(g, NULL, N)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_em: data is NULL");
  vl_gmm_init_with_rand_data(g, NULL, N);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  vl_gmm_init_with_kmeans(g, NULL, N, NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  vl_gmm_set_means(g, NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "means is NULL");
  vl_gmm_set_covariances(g, NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "covariances is NULL");
  vl_gmm_set_priors(g, NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "priors is NULL");
  vl_gmm_set_covariance_lower_bounds(g, NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "bounds is NULL");
  CHECK_T(isnan(vl_gmm_estep(g, NULL, N, NULL, NULL, NULL)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_estep: data is NULL");
  CHECK_GMM_UNCHANGED(g, &gs);
  /* optional outputs may be NULL; vl_gmm_set_kmeans_init_object(NULL) restores the default */
  CHECK_T(isfinite(vl_gmm_estep(g, X, N, NULL, NULL, NULL)));
  EXPECT_OK();
  vl_gmm_set_kmeans_init_object(g, NULL);
  EXPECT_OK();

  /* stateless posteriors */
  CHECK_T(isnan(vl_get_gmm_data_posteriors_d(NULL, K, N, PRI, MU, D, COV, X)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_get_gmm_data_posteriors_d: NULL array argument");
  CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, NULL, MU, D, COV, X)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL array argument");
  CHECK_T(isnan(vl_get_gmm_data_posteriors_f((float *)post, K, N, PRIF, MUF, D, NULL, XF)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_get_gmm_data_posteriors_f: NULL array argument");
  CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, PRI, MU, D, COV, NULL)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL array argument");

  /* statistics API */
  memset(stats, 0, sizeof stats);
  CHECK_T(vl_gmm_stats_size(NULL) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the GMM object is NULL");
  CHECK_T(vl_gmm_stats_accumulate(g, NULL, X, N, NULL, NULL, 0) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "stats is NULL");
  CHECK_T(vl_gmm_stats_accumulate(g, stats, NULL, N, NULL, NULL, 0) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  CHECK_T(vl_gmm_stats_accumulate(g, stats, X, N, NULL, NULL, 2) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "splits is NULL");
  CHECK_T(vl_gmm_stats_merge(g, stats, NULL) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL buffer");
  CHECK_T(vl_gmm_mstep_from_stats(g, NULL, NULL) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "stats is NULL");
  CHECK_T(vl_gmm_plan_restart(g, NULL, N, 0, split) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL argument");
  CHECK_T(vl_kmeans_stats_size(NULL) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL k-means object");
  CHECK_T(vl_kmeans_stats_accumulate(km, NULL, X, N) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "stats is NULL");
  CHECK_T(vl_kmeans_stats_accumulate(km, stats, NULL, N) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  CHECK_T(vl_kmeans_stats_merge(km, NULL, stats) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL buffer");
  CHECK_T(vl_kmeans_update_from_stats(km, NULL) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "stats is NULL");
  CHECK_GMM_UNCHANGED(g, &gs);

  /* k-means */
  CHECK_T(vl_kmeans_new_copy(NULL) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL k-means object");
  CHECK_T(isnan(vl_kmeans_cluster(NULL, X, D, N, K)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_cluster: NULL k-means object");
  vl_kmeans_quantize(NULL, a, NULL, X, N);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL k-means object");
  CHECK_T(isnan(vl_kmeans_get_energy(NULL)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_get_energy: NULL k-means object");
  vl_kmeans_set_algorithm(NULL, VlKMeansElkan);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL k-means object");
  vl_kmeans_reset(NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL k-means object");
  CHECK_T(isnan(vl_kmeans_cluster(km, NULL, D, N, K)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  vl_kmeans_quantize(km, NULL, NULL, X, N);
  EXPECT_ERR(VL_ERR_BAD_ARG, "assignments is NULL");
  vl_kmeans_quantize(km, a, NULL, NULL, N);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  vl_kmeans_quantize_ann(km, a, NULL, NULL, N, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  vl_kmeans_set_centers(km, NULL, D, K);
  EXPECT_ERR(VL_ERR_BAD_ARG, "centers is NULL");
  vl_kmeans_init_centers_plus_plus(km, NULL, D, N, K);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  CHECK_T(isnan(vl_kmeans_refine_centers(km, NULL, N)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  CHECK_KM_UNCHANGED(km, &ks);
  vl_kmeans_delete(NULL);
  EXPECT_OK();

  /* encoders: NULL output, parameters, data, offsets */
  CHECK_T(vl_fisher_encode(NULL, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, N, 0) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_fisher_encode: enc is NULL");
  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, NULL, PRI, X, N, 0) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL GMM parameter");
  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, NULL, N, 0) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  CHECK_T(vl_fisher_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, NULL, NIMG, 0,
                                 NULL) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "offsets is NULL");
  CHECK_T(vl_fisher_encode_batch(NULL, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, OFFSETS, NIMG, 0,
                                 NULL) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "enc is NULL");
  vl_vlad_encode(NULL, VL_TYPE_DOUBLE, MU, D, K, X, N, ASSIGN, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_vlad_encode: enc is NULL");
  vl_vlad_encode(out, VL_TYPE_DOUBLE, NULL, D, K, X, N, ASSIGN, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "means is NULL");
  vl_vlad_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, N, NULL, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "assignments is NULL");
  vl_vlad_encode(out, VL_TYPE_DOUBLE, MU, D, K, NULL, N, ASSIGN, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  CHECK_T(vl_vlad_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, X, NULL, NIMG, NULL, 0) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "offsets is NULL");
  CHECK_T(vl_bovw_encode(NULL, VL_TYPE_DOUBLE, MU, D, K, X, N, 0, 0) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_bovw_encode: enc is NULL");
  CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, NULL, D, K, X, N, 0, 0) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "centers is NULL");
  CHECK_T(vl_bovw_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, NULL, OFFSETS, NIMG, 0, 0) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "data is NULL");
  CHECK_T(vl_bovw_encode_gmm_batch(out, VL_TYPE_DOUBLE, MU, D, K, COV, NULL, X, OFFSETS, NIMG,
                                   0) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL GMM parameter");
  /* empty input needs no array: N = 0 / numImages = 0 with NULL data is fine */
  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, NULL, 0, 0) == 0);
  EXPECT_OK();
  CHECK_T(vl_vlad_encode_batch(NULL, VL_TYPE_DOUBLE, MU, D, K, NULL, OFFSETS, 0, NULL, 0) == 0);
  EXPECT_OK();

  /* random */
  CHECK_T(vl_rand_uint32(NULL) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_rand_uint32: NULL generator");
  CHECK_T(isnan(vl_rand_real1(NULL)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL generator");
  vl_rand_seed(NULL, 1);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL generator");
  vl_rand_seed_by_array(vl_get_rand(), NULL, 3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL generator or key");
  vl_rand_permute_indexes(vl_get_rand(), NULL, 5);
  EXPECT_ERR(VL_ERR_BAD_ARG, "NULL array");

  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_GMM_USABLE(g);
  CHECK_KM_UNCHANGED(km, &ks);
  CHECK_KM_USABLE(km);
  vl_gmm_delete(g);
  vl_kmeans_delete(km);
}

/* ================================================================================= */
/* Row: zero sizes (D = 0, K = 0, N = 0, numImages = 0)                              */
/* ================================================================================= */

static void row_zero_sizes(void)
{
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  VlKMeans *km = trained_km(VL_TYPE_DOUBLE);
  gmm_snap gs;
  km_snap ks;
  double out[2 * K * D * NIMG], post[N * K], stats[2 * K + 2 * K * D + 2];
  vl_uint32 a[N];
  vl_size const empty_offsets[2] = {0, 0};

  snap_gmm(g, &gs);
  snap_km(km, &ks);

  CHECK_T(vl_gmm_new(VL_TYPE_DOUBLE, 0, K) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_new: dimension (0) and numComponents (4) must be >= 1");
  CHECK_T(vl_gmm_new(VL_TYPE_FLOAT, D, 0) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "must be >= 1");
  CHECK_T(isnan(vl_gmm_cluster(g, X, 0)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_cluster: numData is 0");
  CHECK_T(isnan(vl_gmm_em(g, X, 0)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_em: numData is 0");
  vl_gmm_init_with_rand_data(g, X, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numData is 0");
  vl_gmm_init_with_kmeans(g, X, 0, NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numData is 0");
  vl_gmm_set_num_repetitions(g, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_num_repetitions: must be >= 1");
  CHECK_GMM_UNCHANGED(g, &gs);
  /* N = 0 is a valid (empty) E-step or statistics chunk */
  CHECK_T(vl_gmm_estep(g, NULL, 0, NULL, NULL, NULL) == 0);
  EXPECT_OK();
  memset(stats, 0, sizeof stats);
  CHECK_T(vl_gmm_stats_accumulate(g, stats, NULL, 0, NULL, NULL, 0) == VL_ERR_OK);
  CHECK_T(stats[2 * K + 2 * K * D + 1] == 0);
  /* max_num_iterations = 0 is valid: one E-step */
  vl_gmm_set_max_num_iterations(g, 0);
  EXPECT_OK();
  vl_gmm_set_max_num_iterations(g, gs.iters);
  CHECK_GMM_UNCHANGED(g, &gs);

  /* stateless posteriors: K, D = 0 rejected; N = 0 gives 0 */
  CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, 0, N, PRI, MU, D, COV, X)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "numClusters (0) and dimension (3) must be >= 1");
  CHECK_T(isnan(vl_get_gmm_data_posteriors_f((float *)post, K, N, PRIF, MUF, 0, COVF, XF)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "must be >= 1");
  CHECK_T(vl_get_gmm_data_posteriors_d(post, K, 0, PRI, MU, D, COV, NULL) == 0);
  EXPECT_OK();

  /* k-means */
  CHECK_T(isnan(vl_kmeans_cluster(km, X, 0, N, K)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_cluster: dimension is 0");
  CHECK_T(isnan(vl_kmeans_cluster(km, X, D, N, 0)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "numCenters is 0");
  CHECK_T(isnan(vl_kmeans_cluster(km, X, D, 0, K)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "numCenters (4) exceeds numData (0)");
  vl_kmeans_set_centers(km, MU, 0, K);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_set_centers: dimension is 0");
  vl_kmeans_set_centers(km, MU, D, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numCenters is 0");
  vl_kmeans_init_centers_with_rand_data(km, X, D, N, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numCenters is 0");
  vl_kmeans_set_num_repetitions(km, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numRepetitions must be >= 1");
  vl_kmeans_set_num_trees(km, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numTrees must be >= 1");
  CHECK_KM_UNCHANGED(km, &ks);
  vl_kmeans_quantize(km, NULL, NULL, NULL, 0); /* nothing to do */
  EXPECT_OK();

  /* encoders: D or K = 0 rejected; no descriptors or no images is valid */
  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, 0, K, COV, PRI, X, N, 0) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_fisher_encode: dimension (0) and numClusters (4) must be >= 1");
  CHECK_T(vl_fisher_encode_batch(out, VL_TYPE_DOUBLE, MU, D, 0, COV, PRI, X, OFFSETS, NIMG, 0,
                                 NULL) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "must be >= 1");
  vl_vlad_encode(out, VL_TYPE_DOUBLE, MU, D, 0, X, N, ASSIGN, 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_vlad_encode: dimension (3) and numClusters (0) must be >= 1");
  CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, 0, K, X, N, 0, 0) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "must be >= 1");
  CHECK_T(vl_bovw_encode_gmm_batch(out, VL_TYPE_DOUBLE, MU, D, 0, COV, PRI, X, OFFSETS, NIMG, 0) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "must be >= 1");
  for (int j = 0; j < 2 * K * D; ++j) out[j] = 7;
  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, 0, VL_FISHER_FLAG_IMPROVED) ==
          0);
  EXPECT_OK();
  CHECK_T(out[0] == 0 && out[2 * K * D - 1] == 0);
  for (int j = 0; j < K * D; ++j) out[j] = 7;
  CHECK_T(vl_vlad_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, X, empty_offsets, 1, NULL, 0) == 0);
  CHECK_T(out[0] == 0 && out[K * D - 1] == 0);
  CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, D, K, NULL, 0, 0, VL_BOVW_FLAG_NORMALIZED) == 0);
  CHECK_T(out[0] == 0 && out[K - 1] == 0);
  CHECK_T(vl_bovw_encode_batch(NULL, VL_TYPE_DOUBLE, MU, D, K, NULL, OFFSETS, 0, 0, 0) == 0);

  /* random */
  CHECK_T(vl_rand_uindex(vl_get_rand(), 0) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_rand_uindex: range must be positive");
  vl_rand_permute_indexes(vl_get_rand(), NULL, 0);
  EXPECT_OK();
  vl_rand_seed_by_array(vl_get_rand(), NULL, 0);
  EXPECT_OK();
  (void)a;

  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_GMM_USABLE(g);
  CHECK_KM_UNCHANGED(km, &ks);
  CHECK_KM_USABLE(km);
  vl_gmm_delete(g);
  vl_kmeans_delete(km);
}

/* ================================================================================= */
/* Row: dimension and type mismatches detectable in C                                */
/* ================================================================================= */

static void row_mismatch(void)
{
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  VlKMeans *kmf = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2);
  VlKMeans *km = trained_km(VL_TYPE_DOUBLE);
  VlKMeans *km1 = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL1);
  gmm_snap gs;
  double stats[2 * K + 2 * K * D + 2], split[4] = {0, 1, D, 0.5}, out[K * D * NIMG];
  vl_size const bad_start[NIMG + 1] = {1, 100, 100, N};
  vl_size const decreasing[NIMG + 1] = {0, 100, 50, N};

  snap_gmm(g, &gs);
  /* a k-means object of the other data type */
  vl_gmm_set_kmeans_init_object(g, kmf);
  EXPECT_ERR(VL_ERR_BAD_ARG, "the k-means object's data type (1) differs from the GMM's (2)");
  vl_gmm_init_with_kmeans(g, X, N, kmf);
  EXPECT_ERR(VL_ERR_BAD_ARG, "differs from the GMM's");
  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_T(vl_gmm_get_kmeans_init_object(g) == NULL);
  /* a split naming a dimension >= D or the same mode twice */
  memset(stats, 0, sizeof stats);
  CHECK_T(vl_gmm_stats_accumulate(g, stats, X, N, NULL, split, 1) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "split 0 (0, 1, 3, 0.5) is not");
  split[2] = 0;
  split[1] = 0;
  CHECK_T(vl_gmm_stats_accumulate(g, stats, X, N, NULL, split, 1) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "is not (empty mode < K");
  CHECK_T(stats[2 * K + 2 * K * D + 1] == 0); /* nothing added */
  CHECK_GMM_UNCHANGED(g, &gs);

  /* statistics API needs the L2 distance */
  vl_kmeans_set_centers(km1, MU, D, K);
  CHECK_T(vl_kmeans_stats_size(km1) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "statistics need the L2 distance");

  /* batch offsets that do not describe the data */
  CHECK_T(vl_vlad_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, X, bad_start, NIMG, NULL, 0) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "offsets[0] is 1, not 0");
  CHECK_T(vl_fisher_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, decreasing, NIMG, 0,
                                 NULL) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "decrease");
  CHECK_T(vl_bovw_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, X, decreasing, NIMG, 0, 0) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "decrease");

  CHECK_GMM_USABLE(g);
  vl_gmm_delete(g);
  vl_kmeans_delete(kmf);
  vl_kmeans_delete(km);
  vl_kmeans_delete(km1);
}

/* ================================================================================= */
/* Row: fewer points than clusters                                                    */
/* ================================================================================= */

static void row_fewer_points(void)
{
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  VlKMeans *km = trained_km(VL_TYPE_DOUBLE);
  gmm_snap gs;
  km_snap ks;
  double post[2 * K], enc[2 * K * D], stats[2 * K + 2 * K * D + 2];
  snap_gmm(g, &gs);
  snap_km(km, &ks);

  CHECK_T(isnan(vl_gmm_cluster(g, X, K - 1)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_cluster: fewer data points (3) than clusters (4)");
  CHECK_T(isnan(vl_gmm_em(g, X, 1)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_em: fewer data points (1) than clusters (4)");
  vl_gmm_init_with_rand_data(g, X, 2);
  EXPECT_ERR(VL_ERR_BAD_ARG, "fewer data points (2) than clusters (4)");
  vl_gmm_init_with_kmeans(g, X, 3, NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "fewer data points (3) than clusters (4)");
  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_T(isnan(vl_kmeans_cluster(km, X, D, 3, K)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_cluster: numCenters (4) exceeds numData (3)");
  vl_kmeans_init_centers_with_rand_data(km, X, D, 2, K);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numCenters (4) exceeds numData (2)");
  vl_kmeans_init_centers_plus_plus(km, X, D, 2, K);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numCenters (4) exceeds numData (2)");
  CHECK_T(isnan(vl_kmeans_refine_centers(km, X, 3)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_refine_centers: numCenters (4) exceeds numData (3)");
  CHECK_KM_UNCHANGED(km, &ks);

  /* computations that do not estimate K components accept N < K */
  CHECK_T(isfinite(vl_gmm_estep(g, X, 2, post, NULL, NULL)));
  EXPECT_OK();
  CHECK_T(isfinite(vl_get_gmm_data_posteriors_d(post, K, 2, PRI, MU, D, COV, X)));
  EXPECT_OK();
  memset(stats, 0, sizeof stats);
  CHECK_T(vl_gmm_stats_accumulate(g, stats, X, 2, NULL, NULL, 0) == VL_ERR_OK);
  CHECK_T(vl_fisher_encode(enc, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, 1, 0) > 0);
  EXPECT_OK();
  {
    vl_uint32 a[2];
    vl_kmeans_quantize(km, a, NULL, X, 2);
    EXPECT_OK();
  }

  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_GMM_USABLE(g);
  CHECK_KM_UNCHANGED(km, &ks);
  CHECK_KM_USABLE(km);
  vl_gmm_delete(g);
  vl_kmeans_delete(km);
}

/* ================================================================================= */
/* Row: NaN / +-Inf in data, means, covariances, priors (and other real inputs)      */
/* ================================================================================= */

static void row_nonfinite(void)
{
  double const bad_values[3] = {NAN, INFINITY, -INFINITY};
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  VlGMM *gf = trained_gmm(VL_TYPE_FLOAT);
  VlKMeans *km = trained_km(VL_TYPE_DOUBLE);
  gmm_snap gs, gsf;
  km_snap ks;
  static double x[N * D], post[N * K];
  static float xf[N * D];
  double mu[K * D], cov[K * D], pri[K], out[2 * K * D * NIMG], stats[2 * K + 2 * K * D + 2];
  double bounds[D] = {1e-4, 1e-4, 1e-4};
  vl_uint32 a[N];

  snap_gmm(g, &gs);
  snap_gmm(gf, &gsf);
  snap_km(km, &ks);
  for (int b = 0; b < 3; ++b) {
    double const v = bad_values[b];
    memcpy(x, X, sizeof x);
    memcpy(xf, XF, sizeof xf);
    x[N * D / 2] = v;
    xf[N * D - 1] = (float)v;

    /* data */
    CHECK_T(isnan(vl_gmm_cluster(g, x, N)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_cluster: data contains NaN or Inf");
    CHECK_T(isnan(vl_gmm_cluster(gf, xf, N)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_cluster: data contains NaN or Inf");
    CHECK_T(isnan(vl_gmm_em(g, x, N)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    vl_gmm_init_with_kmeans(g, x, N, NULL);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    CHECK_T(isnan(vl_gmm_estep(g, x, N, NULL, NULL, NULL)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_estep: data contains NaN or Inf");
    CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, PRI, MU, D, COV, x)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    memset(stats, 0, sizeof stats);
    CHECK_T(vl_gmm_stats_accumulate(g, stats, x, N, NULL, NULL, 0) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    CHECK_T(vl_kmeans_stats_accumulate(km, stats, x, N) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    CHECK_T(stats[0] == 0 && stats[2 * K + 2 * K * D + 1] == 0);
    CHECK_T(isnan(vl_kmeans_cluster(km, x, D, N, K)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_cluster: data contains NaN or Inf");
    vl_kmeans_quantize(km, a, NULL, x, N);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_quantize: data contains NaN or Inf");
    vl_kmeans_quantize_ann(km, a, NULL, x, N, 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    CHECK_T(isnan(vl_kmeans_refine_centers(km, x, N)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, x, N, 0) == 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_fisher_encode: data contains NaN or Inf");
    CHECK_T(vl_fisher_encode_batch(out, VL_TYPE_FLOAT, MUF, D, K, COVF, PRIF, xf, OFFSETS, NIMG, 0,
                                   NULL) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    vl_vlad_encode(out, VL_TYPE_DOUBLE, MU, D, K, x, N, ASSIGN, 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    CHECK_T(vl_vlad_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, x, OFFSETS, NIMG, NULL, 0) ==
            VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, D, K, x, N, 1.0, VL_BOVW_FLAG_SOFT) ==
            VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");
    CHECK_T(vl_bovw_encode_gmm_batch(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, x, OFFSETS, NIMG,
                                     0) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "data contains NaN or Inf");

    /* means (setters, stateless, encoders, k-means centers) */
    memcpy(mu, MU, sizeof mu);
    mu[5] = v;
    vl_gmm_set_means(g, mu);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_means: means contain NaN or Inf");
    CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, PRI, mu, D, COV, X)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "means contain NaN or Inf");
    CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, mu, D, K, COV, PRI, X, N, 0) == 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "means contain NaN or Inf");
    vl_vlad_encode(out, VL_TYPE_DOUBLE, mu, D, K, X, N, ASSIGN, 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "means contain NaN or Inf");
    CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, mu, D, K, X, N, 0, 0) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "centers contain NaN or Inf");
    vl_kmeans_set_centers(km, mu, D, K);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_set_centers: centers contains NaN or Inf");
    memset(stats, 0, sizeof stats);
    CHECK_T(vl_gmm_stats_accumulate(g, stats, X, N, mu, NULL, 0) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "ref contains NaN or Inf");

    /* covariances */
    memcpy(cov, COV, sizeof cov);
    cov[K * D - 1] = v;
    vl_gmm_set_covariances(g, cov);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_covariances: covariances contain NaN or Inf");
    CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, PRI, MU, D, cov, X)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "covariance 11 is");
    CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, cov, PRI, X, N, 0) == 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "covariance 11 is");
    CHECK_T(vl_bovw_encode_gmm_batch(out, VL_TYPE_DOUBLE, MU, D, K, cov, PRI, X, OFFSETS, NIMG, 0) ==
            VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "covariance 11 is");

    /* priors */
    memcpy(pri, PRI, sizeof pri);
    pri[1] = v;
    vl_gmm_set_priors(g, pri);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_priors: priors contain NaN or Inf");
    CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, pri, MU, D, COV, X)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "prior 1 is");
    CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, COV, pri, X, N, 0) == 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "prior 1 is");
    CHECK_T(vl_fisher_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, COV, pri, X, OFFSETS, NIMG, 0,
                                   NULL) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "prior 1 is");

    /* other real-valued settings and inputs */
    vl_gmm_set_covariance_lower_bound(g, v);
    EXPECT_ERR(VL_ERR_BAD_ARG, "must be finite and >= 0");
    bounds[2] = v;
    vl_gmm_set_covariance_lower_bounds(g, bounds);
    EXPECT_ERR(VL_ERR_BAD_ARG, "bound 2 is");
    bounds[2] = 1e-4;
    vl_gmm_set_convergence_threshold(g, v);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_convergence_threshold");
    vl_kmeans_set_min_energy_variation(km, v);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_set_min_energy_variation");
    CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, N, v, VL_BOVW_FLAG_SOFT) ==
            VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "with VL_BOVW_FLAG_SOFT");
    vl_gmm_get_num_data(g);
    memcpy(stats, vl_gmm_get_means(g), 0); /* keep the compiler quiet about stats */
    {
      double st[2 * K + 2 * K * D + 2];
      memset(st, 0, sizeof st);
      st[0] = v;
      CHECK_T(vl_gmm_mstep_from_stats(g, st, NULL) == VL_ERR_BAD_ARG);
      EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_mstep_from_stats: stats[0] is");
      CHECK_T(vl_kmeans_update_from_stats(km, st) == VL_ERR_BAD_ARG);
      EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_update_from_stats: stats[0] is");
    }
    /* ANN quantization with update: a NaN distance is not a usable current answer */
    if (isnan(v)) {
      double dist[N];
      vl_kmeans_quantize(km, a, dist, X, N);
      dist[7] = v;
      vl_kmeans_quantize_ann(km, a, dist, X, N, 1);
      EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_quantize_ann: distances contain NaN");
    }
  }
  /* VLAD weights: +Inf is rejected, NaN or <= 0 entries are ignored */
  {
    static double w[N * K], enc1[K * D], enc2[K * D];
    memcpy(w, ASSIGN, sizeof w);
    w[13] = INFINITY;
    vl_vlad_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, N, w, 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "assignment (3, 1) is +Inf");
    vl_vlad_encode(enc1, VL_TYPE_DOUBLE, MU, D, K, X, N, ASSIGN, 0);
    for (int j = 0; j < N * K; ++j) w[j] = ASSIGN[j] > 0 ? 1 : (j % 2 ? NAN : -INFINITY);
    vl_vlad_encode(enc2, VL_TYPE_DOUBLE, MU, D, K, X, N, w, 0);
    EXPECT_OK();
    CHECK_T(memcmp(enc1, enc2, sizeof enc1) == 0);
  }

  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_GMM_UNCHANGED(gf, &gsf);
  CHECK_GMM_USABLE(g);
  CHECK_GMM_USABLE(gf);
  CHECK_KM_UNCHANGED(km, &ks);
  CHECK_KM_USABLE(km);
  vl_gmm_delete(g);
  vl_gmm_delete(gf);
  vl_kmeans_delete(km);
}

/* ================================================================================= */
/* Row: non-positive covariances                                                      */
/* ================================================================================= */

static void row_nonpositive_covariances(void)
{
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  gmm_snap gs;
  double cov[K * D], post[N * K], out[2 * K * D * NIMG];
  snap_gmm(g, &gs);

  memcpy(cov, COV, sizeof cov);
  cov[4] = -0.5;
  vl_gmm_set_covariances(g, cov);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_covariances: covariances[4] = -0.5 is negative");
  CHECK_GMM_UNCHANGED(g, &gs);
  for (int z = 0; z < 2; ++z) {
    cov[4] = z ? -0.5 : 0.0;
    CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, PRI, MU, D, cov, X)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "covariance 4 is");
    CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, cov, PRI, X, N, 0) == 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "must be finite and > 0");
    CHECK_T(vl_fisher_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, cov, PRI, X, OFFSETS, NIMG, 0,
                                   NULL) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "covariance 4 is");
    CHECK_T(vl_bovw_encode_gmm_batch(out, VL_TYPE_DOUBLE, MU, D, K, cov, PRI, X, OFFSETS, NIMG,
                                     VL_BOVW_FLAG_SOFT) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "covariance 4 is");
  }
  /* A zero covariance is accepted by the object (EM raises it to the lower
   * bound, as VLFeat); with a zero bound it cannot be used. */
  cov[4] = 0;
  vl_gmm_set_covariances(g, cov);
  EXPECT_OK();
  CHECK_T(isfinite(vl_gmm_estep(g, X, N, NULL, NULL, NULL)));
  EXPECT_OK();
  vl_gmm_set_covariance_lower_bound(g, 0);
  EXPECT_OK();
  CHECK_T(isnan(vl_gmm_estep(g, X, N, NULL, NULL, NULL)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_estep: covariance (1, 1) is 0 after bounding");
  CHECK_T(isnan(vl_gmm_em(g, X, N)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_em: covariance (1, 1) is 0 after bounding");
  vl_gmm_set_covariance_lower_bound(g, -1e-3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "must be finite and >= 0");
  CHECK_T(vl_gmm_get_covariance_lower_bounds(g)[0] == 0);
  vl_gmm_set_covariance_lower_bound(g, 1e-4);
  vl_gmm_set_covariances(g, gs.covs);
  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_GMM_USABLE(g);
  vl_gmm_delete(g);
}

/* ================================================================================= */
/* Row: priors that do not sum to one, negative priors, all priors ~ 0               */
/* ================================================================================= */

static void row_priors(void)
{
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  gmm_snap gs;
  double pri[K], post[N * K], post2[N * K], enc[2 * K * D], enc2[2 * K * D], ll, ll2;
  double hist[NIMG * K];
  snap_gmm(g, &gs);

  /* negative: rejected everywhere */
  for (int k = 0; k < K; ++k) pri[k] = PRI[k];
  pri[2] = -0.25;
  vl_gmm_set_priors(g, pri);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_priors: priors[2] = -0.25 is negative");
  CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, pri, MU, D, COV, X)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "prior 2 is -0.25");
  CHECK_T(vl_fisher_encode(enc, VL_TYPE_DOUBLE, MU, D, K, COV, pri, X, N, 0) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "prior 2 is -0.25");
  CHECK_GMM_UNCHANGED(g, &gs);

  /* not summing to one: accepted as given (VLFeat), not renormalised */
  for (int k = 0; k < K; ++k) pri[k] = 2.0 * PRI[k]; /* sum 2 */
  ll = vl_get_gmm_data_posteriors_d(post, K, N, PRI, MU, D, COV, X);
  ll2 = vl_get_gmm_data_posteriors_d(post2, K, N, pri, MU, D, COV, X);
  EXPECT_OK();
  CHECK_T(fabs(ll2 - (ll + N * log(2.0))) < 1e-8 * fabs(ll)); /* log p(x) scales */
  for (int j = 0; j < N * K; ++j) CHECK_T(fabs(post[j] - post2[j]) < 1e-12);
  vl_fisher_encode(enc, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, N, 0);
  vl_fisher_encode(enc2, VL_TYPE_DOUBLE, MU, D, K, COV, pri, X, N, 0);
  EXPECT_OK();
  CHECK_T(fabs(enc2[0] * sqrt(2.0) - enc[0]) < 1e-12); /* 1/sqrt(pi_k) scaling */
  {
    VlGMM *h = vl_gmm_new(VL_TYPE_DOUBLE, D, K);
    double const *p;
    double sum = 0;
    vl_gmm_set_means(h, MU);
    vl_gmm_set_covariances(h, COV);
    vl_gmm_set_priors(h, pri);
    EXPECT_OK();
    CHECK_T(memcmp(vl_gmm_get_priors(h), pri, sizeof pri) == 0); /* stored as given */
    vl_gmm_set_max_num_iterations(h, 1);
    CHECK_T(isfinite(vl_gmm_em(h, X, N)));
    EXPECT_OK();
    p = vl_gmm_get_priors(h);
    for (int k = 0; k < K; ++k) sum += p[k];
    CHECK_T(fabs(sum - 1) < 1e-12); /* the first M-step renormalises */
    vl_gmm_delete(h);
  }

  /* every prior below 1e-6: EM and E-steps refuse, encoders give zeros */
  for (int k = 0; k < K; ++k) pri[k] = 1e-7;
  {
    VlGMM *h = vl_gmm_new(VL_TYPE_DOUBLE, D, K);
    CHECK_T(isnan(vl_gmm_em(h, X, N))); /* a new object: all priors 0 */
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_em: every prior is below 1e-6 (were the parameters initialised?)");
    CHECK_T(isnan(vl_gmm_estep(h, X, N, NULL, NULL, NULL)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "every prior is below 1e-6");
    vl_gmm_set_initialization(h, VlGMMCustom);
    CHECK_T(isnan(vl_gmm_cluster(h, X, N)));
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_cluster: every prior is below 1e-6");
    {
      double st[2 * K + 2 * K * D + 2];
      memset(st, 0, sizeof st);
      CHECK_T(vl_gmm_stats_accumulate(h, st, X, N, NULL, NULL, 0) == VL_ERR_BAD_ARG);
      EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_stats_accumulate: every prior is below 1e-6");
      CHECK_T(st[2 * K + 2 * K * D + 1] == 0);
    }
    vl_gmm_delete(h);
  }
  CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, K, N, pri, MU, D, COV, X)));
  EXPECT_ERR(VL_ERR_BAD_ARG, "every prior is below 1e-6");
  for (int j = 0; j < 2 * K * D; ++j) enc[j] = 7;
  CHECK_T(vl_fisher_encode(enc, VL_TYPE_DOUBLE, MU, D, K, COV, pri, X, N, VL_FISHER_FLAG_IMPROVED) == 0);
  EXPECT_OK();
  for (int j = 0; j < 2 * K * D; ++j) CHECK_T(enc[j] == 0);
  CHECK_T(vl_bovw_encode_gmm_batch(hist, VL_TYPE_DOUBLE, MU, D, K, COV, pri, X, OFFSETS, NIMG,
                                   VL_BOVW_FLAG_SOFT) == VL_ERR_OK);
  for (int j = 0; j < NIMG * K; ++j) CHECK_T(hist[j] == 0);

  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_GMM_USABLE(g);
  vl_gmm_delete(g);
}

/* ================================================================================= */
/* Row: invalid enum, type and flag values                                            */
/* ================================================================================= */

static void row_enums_and_flags(void)
{
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  VlKMeans *km = trained_km(VL_TYPE_DOUBLE);
  gmm_snap gs;
  km_snap ks;
  double out[2 * K * D * NIMG], post[N * K];
  int const bad_types[4] = {0, VL_TYPE_INT32, VL_TYPE_UINT8, 999};
  snap_gmm(g, &gs);
  snap_km(km, &ks);

  for (int t = 0; t < 4; ++t) {
    vl_type const bt = (vl_type)bad_types[t];
    CHECK_T(vl_gmm_new(bt, D, K) == NULL);
    EXPECT_ERR(VL_ERR_BAD_ARG, "is not supported (use VL_TYPE_FLOAT=1 or VL_TYPE_DOUBLE=2)");
    CHECK_T(vl_kmeans_new(bt, VlDistanceL2) == NULL);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_new: data type");
    CHECK_T(vl_fisher_encode(out, bt, MU, D, K, COV, PRI, X, N, 0) == 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_fisher_encode: data type");
    CHECK_T(vl_fisher_encode_batch(out, bt, MU, D, K, COV, PRI, X, OFFSETS, NIMG, 0, NULL) ==
            VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "is not supported");
    vl_vlad_encode(out, bt, MU, D, K, X, N, ASSIGN, 0);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_vlad_encode: data type");
    CHECK_T(vl_vlad_encode_batch(out, bt, MU, D, K, X, OFFSETS, NIMG, NULL, 0) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "is not supported");
    CHECK_T(vl_bovw_encode(out, bt, MU, D, K, X, N, 0, 0) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_bovw_encode: data type");
    CHECK_T(vl_bovw_encode_gmm_batch(out, bt, MU, D, K, COV, PRI, X, OFFSETS, NIMG, 0) ==
            VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "is not supported");
  }
  CHECK_T(vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceChi2) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_new: distance 2 is not supported by k-means");
  CHECK_T(vl_kmeans_new(VL_TYPE_FLOAT, (VlVectorComparisonType)-1) == NULL);
  EXPECT_ERR(VL_ERR_BAD_ARG, "distance -1 is not supported");

  vl_gmm_set_initialization(g, (VlGMMInitialization)3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_gmm_set_initialization: unknown method 3");
  vl_gmm_set_initialization(g, (VlGMMInitialization)-1);
  EXPECT_ERR(VL_ERR_BAD_ARG, "unknown method -1");
  CHECK_GMM_UNCHANGED(g, &gs);
  vl_kmeans_set_algorithm(km, (VlKMeansAlgorithm)3);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_set_algorithm: unknown algorithm 3");
  vl_kmeans_set_initialization(km, (VlKMeansInitialization)2);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_kmeans_set_initialization: unknown initialization 2");
  CHECK_KM_UNCHANGED(km, &ks);

  /* flags: unknown bits (including negative ints) are rejected, nothing written */
  for (int j = 0; j < 2 * K * D; ++j) out[j] = 7;
  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, N, 0x8) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_fisher_encode: unknown flags 0x8 (known: 0x7)");
  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, N, -1) == 0);
  EXPECT_ERR(VL_ERR_BAD_ARG, "unknown flags");
  CHECK_T(out[0] == 7);
  CHECK_T(vl_fisher_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, OFFSETS, NIMG,
                                 INT_MIN, NULL) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "unknown flags 0x80000000");
  vl_vlad_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, N, ASSIGN, 0x10);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_vlad_encode: unknown flags 0x10 (known: 0xf)");
  CHECK_T(out[0] == 7);
  CHECK_T(vl_vlad_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, X, OFFSETS, NIMG, NULL, 0x100) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "unknown flags 0x100");
  CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, N, 0, 0x20) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "vl_bovw_encode: unknown flags 0x20 (known: 0xf)");
  CHECK_T(vl_bovw_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, X, OFFSETS, NIMG, 0, 0x40) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "unknown flags 0x40");
  CHECK_T(vl_bovw_encode_gmm_batch(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, OFFSETS, NIMG,
                                   0x80) == VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "unknown flags 0x80");
  /* soft BoVW without a usable sigma */
  CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, N, 0, VL_BOVW_FLAG_SOFT) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "sigma is 0 (must be finite and > 0 with VL_BOVW_FLAG_SOFT)");
  CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, N, -1, VL_BOVW_FLAG_SOFT) ==
          VL_ERR_BAD_ARG);
  EXPECT_ERR(VL_ERR_BAD_ARG, "sigma is -1");
  CHECK_T(out[0] == 7);

  /* SIMD levels and thread counts */
  {
    int const level = vl_get_simd_level();
    CHECK_T(vl_set_simd_level(99) == VL_ERR_BAD_ARG);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_set_simd_level");
    CHECK_T(vl_set_simd_level(-1) == VL_ERR_BAD_ARG);
    CHECK_T(vl_get_simd_level() == level);
    CHECK_T(vl_get_simd_level_name(42) == NULL);
    /* a level of the other architecture (NEON on x86, AVX2 on aarch64) is
     * refused and changes nothing */
    {
      int const foreign = vl_get_simd_max_level() == VL_SIMD_NEON ? VL_SIMD_AVX2 : VL_SIMD_NEON;
      CHECK_T(vl_set_simd_level(foreign) == VL_ERR_BAD_ARG);
      EXPECT_ERR(VL_ERR_BAD_ARG, "is not available");
      CHECK_T(vl_get_simd_level() == level);
    }
    CHECK_T(vl_get_simd_level_name(VL_SIMD_NEON) &&
            strcmp(vl_get_simd_level_name(VL_SIMD_NEON), "neon") == 0);
    CHECK_T(vl_get_simd_level_name(VL_SIMD_NEON + 1) == NULL);
    /* vl_get_simd_level_available: exactly the levels vl_set_simd_level
     * accepts; scalar, the level in use and the best level always */
    for (int l = -1; l <= VL_SIMD_NEON + 1; ++l) {
      int const avail = vl_get_simd_level_available(l);
      CHECK_T(vl_get_last_error() == VL_ERR_OK);
      CHECK_T(avail == (vl_set_simd_level(l) == VL_ERR_OK));
    }
    CHECK_T(vl_set_simd_level(level) == VL_ERR_OK && vl_get_simd_level() == level);
    CHECK_T(vl_get_simd_level_available(VL_SIMD_SCALAR));
    CHECK_T(vl_get_simd_level_available(level));
    CHECK_T(vl_get_simd_level_available(vl_get_simd_max_level()));
    CHECK_T(!vl_get_simd_level_available(99) && !vl_get_simd_level_available(-1));
  }
  {
    vl_size const before = vl_get_max_threads();
    vl_set_num_threads((vl_size)1 << 40);
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_set_num_threads: ");
    vl_set_num_threads(SIZE_MAX); /* (vl_size)-1, e.g. n_jobs=-1 through size_t */
    EXPECT_ERR(VL_ERR_BAD_ARG, "vl_set_num_threads: ");
    CHECK_T(vl_get_max_threads() == before);
    CHECK_T(isfinite(vl_gmm_estep(g, X, N, post, NULL, NULL)));
  }

  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_GMM_USABLE(g);
  CHECK_KM_UNCHANGED(km, &ks);
  CHECK_KM_USABLE(km);
  vl_gmm_delete(g);
  vl_kmeans_delete(km);
}

/* ================================================================================= */
/* Row: sizes whose products overflow size_t                                          */
/* ================================================================================= */

static void row_overflow(void)
{
  size_t const big = (size_t)1 << 40, huge = SIZE_MAX / 2;
  VlGMM *g = trained_gmm(VL_TYPE_DOUBLE);
  VlKMeans *km = trained_km(VL_TYPE_DOUBLE);
  gmm_snap gs;
  km_snap ks;
  double out[2 * K * D], post[N * K], stats[2 * K + 2 * K * D + 2];
  vl_uint32 a[N];
  vl_index idx[4];
  vl_uint32 key[2] = {1, 2};
  snap_gmm(g, &gs);
  snap_km(km, &ks);

  /* No array is read or written before the sizes are checked, so these
   * calls pass small arrays with sizes that cannot exist. */
  CHECK_T(vl_gmm_new(VL_TYPE_DOUBLE, big, big) == NULL);
  EXPECT_ERR(VL_ERR_OVERFLOW, "size 1099511627776 x 1099511627776 overflows size_t");
  CHECK_T(vl_gmm_new(VL_TYPE_FLOAT, SIZE_MAX, 2) == NULL);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  CHECK_T(vl_gmm_new(VL_TYPE_DOUBLE, (size_t)1 << 60, 1) == NULL); /* bytes > PTRDIFF_MAX */
  EXPECT_ERR(VL_ERR_OVERFLOW, "is too large");
  CHECK_T(isnan(vl_gmm_cluster(g, X, huge)));
  EXPECT_ERR(VL_ERR_OVERFLOW, "vl_gmm_cluster: numData");
  CHECK_T(isnan(vl_gmm_em(g, X, huge)));
  EXPECT_ERR(VL_ERR_OVERFLOW, "vl_gmm_em: numData");
  vl_gmm_init_with_rand_data(g, X, huge);
  EXPECT_ERR(VL_ERR_OVERFLOW, "is too large for dimension 3 and 4 clusters");
  CHECK_T(isnan(vl_gmm_estep(g, X, huge, NULL, NULL, NULL)));
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  CHECK_T(vl_gmm_stats_accumulate(g, stats, X, huge, NULL, NULL, 0) == VL_ERR_OVERFLOW);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  CHECK_GMM_UNCHANGED(g, &gs);

  CHECK_T(isnan(vl_get_gmm_data_posteriors_d(post, big, big, PRI, MU, D, COV, X)));
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  CHECK_T(isnan(vl_get_gmm_data_posteriors_f((float *)post, K, huge, PRIF, MUF, D, COVF, XF)));
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");

  CHECK_T(isnan(vl_kmeans_cluster(km, X, D, huge, K)));
  EXPECT_ERR(VL_ERR_OVERFLOW, "vl_kmeans_cluster: data size");
  vl_kmeans_quantize(km, a, NULL, X, huge);
  EXPECT_ERR(VL_ERR_OVERFLOW, "vl_kmeans_quantize: data size");
  vl_kmeans_set_centers(km, MU, big, big);
  EXPECT_ERR(VL_ERR_BAD_ARG, "numCenters (1099511627776) is too large"); /* 32-bit assignments */
  vl_kmeans_set_centers(km, MU, SIZE_MAX / 4, 8);
  EXPECT_ERR(VL_ERR_OVERFLOW, "centers size");
  CHECK_T(vl_kmeans_stats_accumulate(km, stats, X, huge) == VL_ERR_OVERFLOW);
  EXPECT_ERR(VL_ERR_OVERFLOW, "data size");
  CHECK_KM_UNCHANGED(km, &ks);

  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, huge, 0) == 0);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  CHECK_T(vl_fisher_encode(out, VL_TYPE_DOUBLE, MU, (size_t)1 << 32, (size_t)1 << 31, COV, PRI, X,
                           N, 0) == 0);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  vl_vlad_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, huge, ASSIGN, 0);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  vl_vlad_encode(out, VL_TYPE_DOUBLE, MU, SIZE_MAX / 2, 2, X, N, ASSIGN, 0);
  EXPECT_ERR(VL_ERR_OVERFLOW, "");
  CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, big, big, X, N, 0, 0) == VL_ERR_OVERFLOW);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  CHECK_T(vl_bovw_encode(out, VL_TYPE_DOUBLE, MU, D, K, X, huge, 0, 0) == VL_ERR_OVERFLOW);
  EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  {
    vl_size const offs[2] = {0, huge};
    CHECK_T(vl_bovw_encode_gmm_batch(out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, offs, 1, 0) ==
            VL_ERR_OVERFLOW);
    EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
    CHECK_T(vl_vlad_encode_batch(out, VL_TYPE_DOUBLE, MU, D, K, X, offs, 1, NULL, 0) ==
            VL_ERR_OVERFLOW);
    EXPECT_ERR(VL_ERR_OVERFLOW, "overflows size_t");
  }

  vl_rand_permute_indexes(vl_get_rand(), idx, SIZE_MAX / 4);
  EXPECT_ERR(VL_ERR_OVERFLOW, "vl_rand_permute_indexes: size");
  vl_rand_seed_by_array(vl_get_rand(), key, SIZE_MAX / 2);
  EXPECT_ERR(VL_ERR_OVERFLOW, "vl_rand_seed_by_array: keySize");

  CHECK_GMM_UNCHANGED(g, &gs);
  CHECK_GMM_USABLE(g);
  CHECK_KM_UNCHANGED(km, &ks);
  CHECK_KM_USABLE(km);
  vl_gmm_delete(g);
  vl_kmeans_delete(km);
}

/* ================================================================================= */
/* Row: the object is not ready (state)                                              */
/* ================================================================================= */

static void row_state(void)
{
  VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
  double stats[64] = {0};
  vl_uint32 a[N];
  km_snap ks;
  snap_km(km, &ks);
  vl_kmeans_quantize(km, a, NULL, X, N);
  EXPECT_ERR(VL_ERR_BAD_STATE, "vl_kmeans_quantize: the object has no centers");
  vl_kmeans_quantize_ann(km, a, NULL, X, N, 0);
  EXPECT_ERR(VL_ERR_BAD_STATE, "the object has no centers");
  CHECK_T(isnan(vl_kmeans_refine_centers(km, X, N)));
  EXPECT_ERR(VL_ERR_BAD_STATE, "vl_kmeans_refine_centers: the object has no centers");
  CHECK_T(vl_kmeans_stats_size(km) == 0);
  EXPECT_ERR(VL_ERR_BAD_STATE, "the object has no centers");
  CHECK_T(vl_kmeans_stats_accumulate(km, stats, X, N) == VL_ERR_BAD_STATE);
  EXPECT_ERR(VL_ERR_BAD_STATE, "the object has no centers");
  CHECK_T(vl_kmeans_update_from_stats(km, stats) == VL_ERR_BAD_STATE);
  EXPECT_ERR(VL_ERR_BAD_STATE, "the object has no centers");
  CHECK_KM_UNCHANGED(km, &ks);
  CHECK_KM_USABLE(km);
  vl_kmeans_reset(km);
  vl_kmeans_delete(km);
}

/* ================================================================================= */
/* Row: allocation failure at every allocation site                                   */
/* ================================================================================= */

typedef struct {
  VlGMM *g, *gf;
  VlKMeans *km, *kmuser;
  void *result;
  double out[NIMG * 2 * K * D], post[N * K], ll[N], dist[N], stats[2 * K + 2 * K * D + 2];
  float outf[NIMG * 2 * K * D];
  vl_uint32 labels[N];
  vl_size terms[NIMG];
} actx;

typedef void (*acall)(actx *c);
enum { KEEP_NOTHING = 0, GMM_UNCHANGED = 1, GMM_USABLE = 2, KM_UNCHANGED = 4, TOLERATES = 8 };

typedef struct {
  char const *name;
  acall call;
  int after; /* what a failed call must leave behind */
} acase;

static void a_gmm_new(actx *c) { c->result = vl_gmm_new(VL_TYPE_DOUBLE, D, K); }
static void a_gmm_copy(actx *c) { c->result = vl_gmm_new_copy(c->g); }
static void a_gmm_cluster_rand(actx *c)
{
  vl_gmm_set_initialization(c->g, VlGMMRand);
  vl_gmm_set_num_repetitions(c->g, 2);
  vl_gmm_cluster(c->g, X, N);
}
static void a_gmm_cluster_kmeans(actx *c)
{
  vl_gmm_set_initialization(c->g, VlGMMKMeans);
  vl_gmm_set_num_repetitions(c->g, 2);
  vl_gmm_cluster(c->g, X, N);
}
static void a_gmm_cluster_custom(actx *c)
{
  vl_gmm_set_initialization(c->g, VlGMMCustom);
  vl_gmm_set_num_repetitions(c->g, 2);
  vl_gmm_cluster(c->g, X, N);
}
static void a_gmm_cluster_nostore(actx *c)
{
  vl_gmm_set_initialization(c->g, VlGMMRand);
  vl_gmm_set_num_repetitions(c->g, 2);
  vl_gmm_set_store_posteriors(c->g, 0);
  vl_gmm_cluster(c->g, X, N);
}
static void a_gmm_cluster_float(actx *c) { vl_gmm_cluster(c->gf, XF, N); }
static void a_gmm_em(actx *c) { vl_gmm_em(c->g, X, N); }
static void a_gmm_init_rand(actx *c) { vl_gmm_init_with_rand_data(c->g, X, N); }
static void a_gmm_init_kmeans(actx *c) { vl_gmm_init_with_kmeans(c->g, X, N, NULL); }
static void a_gmm_init_kmeans_user(actx *c) { vl_gmm_init_with_kmeans(c->g, X, N, c->kmuser); }
static void a_gmm_estep(actx *c) { vl_gmm_estep(c->g, X, N, c->post, c->ll, c->labels); }
static void a_posteriors_d(actx *c)
{
  vl_get_gmm_data_posteriors_d(c->post, K, N, PRI, MU, D, COV, X);
}
static void a_posteriors_f(actx *c)
{
  vl_get_gmm_data_posteriors_f((float *)c->post, K, N, PRIF, MUF, D, COVF, XF);
}
static void a_gmm_stats(actx *c)
{
  double const split[4] = {1, 0, 2, 0.0};
  memset(c->stats, 0, sizeof c->stats);
  vl_gmm_stats_accumulate(c->g, c->stats, X, N, NULL, split, 1);
}
static void a_km_new(actx *c) { c->result = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2); }
static void a_km_copy(actx *c) { c->result = vl_kmeans_new_copy(c->km); }
/* k-means settings are made before the snapshot: the call under test is the clustering */
static void km_cluster_with(actx *c, VlKMeansAlgorithm algo, VlKMeansInitialization init)
{
  if (vl_kmeans_get_algorithm(c->km) != algo) {
    vl_kmeans_set_algorithm(c->km, algo);
    vl_kmeans_set_initialization(c->km, init);
    vl_kmeans_set_num_repetitions(c->km, 2);
  }
  vl_kmeans_cluster(c->km, X, D, N, K);
}
static void a_km_lloyd(actx *c) { km_cluster_with(c, VlKMeansLloyd, VlKMeansPlusPlus); }
static void a_km_elkan(actx *c) { km_cluster_with(c, VlKMeansElkan, VlKMeansRandomSelection); }
static void a_km_ann(actx *c) { km_cluster_with(c, VlKMeansANN, VlKMeansPlusPlus); }
static void a_km_refine(actx *c) { vl_kmeans_refine_centers(c->km, X, N); }
static void a_km_quantize(actx *c) { vl_kmeans_quantize(c->km, c->labels, c->dist, X, N); }
static void a_km_quantize_ann(actx *c) { vl_kmeans_quantize_ann(c->km, c->labels, NULL, X, N, 0); }
static void a_km_set_centers(actx *c) { vl_kmeans_set_centers(c->km, MU, D, K); }
static void a_km_init_rand(actx *c) { vl_kmeans_init_centers_with_rand_data(c->km, X, D, N, K); }
static void a_km_init_pp(actx *c) { vl_kmeans_init_centers_plus_plus(c->km, X, D, N, K); }
static void a_km_stats(actx *c)
{
  memset(c->stats, 0, sizeof c->stats);
  vl_kmeans_stats_accumulate(c->km, c->stats, X, N);
}
static void a_fisher(actx *c)
{
  vl_fisher_encode(c->out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, N, VL_FISHER_FLAG_IMPROVED);
}
static void a_fisher_batch(actx *c)
{
  vl_fisher_encode_batch(c->outf, VL_TYPE_FLOAT, MUF, D, K, COVF, PRIF, XF, OFFSETS, NIMG, 0,
                         c->terms);
}
static void a_vlad(actx *c) { vl_vlad_encode(c->out, VL_TYPE_DOUBLE, MU, D, K, X, N, ASSIGN, 0); }
static void a_vlad_batch_hard(actx *c)
{
  vl_vlad_encode_batch(c->out, VL_TYPE_DOUBLE, MU, D, K, X, OFFSETS, NIMG, NULL, 0);
}
static void a_vlad_batch_soft(actx *c)
{
  vl_vlad_encode_batch(c->out, VL_TYPE_DOUBLE, MU, D, K, X, OFFSETS, NIMG, ASSIGN, 0);
}
static void a_bovw(actx *c) { vl_bovw_encode(c->out, VL_TYPE_DOUBLE, MU, D, K, X, N, 0.5, 1); }
static void a_bovw_batch(actx *c)
{
  vl_bovw_encode_batch(c->out, VL_TYPE_DOUBLE, MU, D, K, X, OFFSETS, NIMG, 0, 0);
}
static void a_bovw_gmm(actx *c)
{
  vl_bovw_encode_gmm_batch(c->out, VL_TYPE_DOUBLE, MU, D, K, COV, PRI, X, OFFSETS, NIMG,
                           VL_BOVW_FLAG_SOFT);
}

static acase const ACASES[] = {
    {"vl_gmm_new", a_gmm_new, 0},
    {"vl_gmm_new_copy", a_gmm_copy, GMM_UNCHANGED},
    {"vl_gmm_cluster (rand, 2 repetitions)", a_gmm_cluster_rand, GMM_USABLE | TOLERATES},
    {"vl_gmm_cluster (kmeans, 2 repetitions)", a_gmm_cluster_kmeans, GMM_USABLE | TOLERATES},
    {"vl_gmm_cluster (custom, 2 repetitions)", a_gmm_cluster_custom, GMM_USABLE | TOLERATES},
    {"vl_gmm_cluster (no posteriors)", a_gmm_cluster_nostore, GMM_USABLE | TOLERATES},
    {"vl_gmm_cluster (float)", a_gmm_cluster_float, GMM_USABLE | TOLERATES},
    {"vl_gmm_em", a_gmm_em, GMM_USABLE | TOLERATES},
    {"vl_gmm_init_with_rand_data", a_gmm_init_rand, GMM_USABLE},
    {"vl_gmm_init_with_kmeans (default)", a_gmm_init_kmeans, GMM_USABLE},
    {"vl_gmm_init_with_kmeans (user)", a_gmm_init_kmeans_user, GMM_USABLE},
    {"vl_gmm_estep", a_gmm_estep, GMM_UNCHANGED},
    {"vl_get_gmm_data_posteriors_d", a_posteriors_d, 0},
    {"vl_get_gmm_data_posteriors_f", a_posteriors_f, 0},
    {"vl_gmm_stats_accumulate", a_gmm_stats, GMM_UNCHANGED},
    {"vl_kmeans_new", a_km_new, 0},
    {"vl_kmeans_new_copy", a_km_copy, KM_UNCHANGED},
    {"vl_kmeans_cluster (Lloyd)", a_km_lloyd, KM_UNCHANGED},
    {"vl_kmeans_cluster (Elkan)", a_km_elkan, KM_UNCHANGED},
    {"vl_kmeans_cluster (ANN)", a_km_ann, KM_UNCHANGED},
    {"vl_kmeans_refine_centers", a_km_refine, KM_UNCHANGED},
    {"vl_kmeans_quantize", a_km_quantize, KM_UNCHANGED},
    {"vl_kmeans_quantize_ann", a_km_quantize_ann, KM_UNCHANGED},
    {"vl_kmeans_set_centers", a_km_set_centers, KM_UNCHANGED},
    {"vl_kmeans_init_centers_with_rand_data", a_km_init_rand, KM_UNCHANGED},
    {"vl_kmeans_init_centers_plus_plus", a_km_init_pp, KM_UNCHANGED},
    {"vl_kmeans_stats_accumulate", a_km_stats, KM_UNCHANGED},
    {"vl_fisher_encode", a_fisher, 0},
    {"vl_fisher_encode_batch", a_fisher_batch, 0},
    {"vl_vlad_encode", a_vlad, 0},
    {"vl_vlad_encode_batch (hard)", a_vlad_batch_hard, 0},
    {"vl_vlad_encode_batch (weights)", a_vlad_batch_soft, 0},
    {"vl_bovw_encode (soft)", a_bovw, 0},
    {"vl_bovw_encode_batch", a_bovw_batch, 0},
    {"vl_bovw_encode_gmm_batch", a_bovw_gmm, 0},
};

static void free_result(actx *c, acase const *ac)
{
  if (!c->result) return;
  if (ac->call == a_gmm_new || ac->call == a_gmm_copy)
    vl_gmm_delete((VlGMM *)c->result);
  else
    vl_kmeans_delete((VlKMeans *)c->result);
  c->result = NULL;
}

/* Fails the n-th allocation of the call for n = 1, 2, ... until the call
 * makes fewer than n allocations. Returns the number of sites. */
static long sweep(acase const *ac, int threads)
{
  static actx c;
  gmm_snap gs, gsf;
  km_snap ks;
  long n, sites = 0, tolerated = 0;

  memset(&c, 0, sizeof c);
  g_case = ac->name;
  vl_set_num_threads((vl_size)threads);
  c.g = trained_gmm(VL_TYPE_DOUBLE);
  c.gf = trained_gmm(VL_TYPE_FLOAT);
  c.km = trained_km(VL_TYPE_DOUBLE);
  c.kmuser = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
  vl_gmm_set_max_num_iterations(c.g, 5);
  vl_gmm_set_max_num_iterations(c.gf, 5);
  vl_gmm_set_convergence_threshold(c.g, 0);
  vl_gmm_set_convergence_threshold(c.gf, 0);
  vl_gmm_set_kmeans_init_object(c.g, NULL);
  vl_kmeans_set_max_num_iterations(c.km, 5);
  vl_kmeans_set_max_num_iterations(c.kmuser, 5);
  if (ac->call == a_km_elkan) {
    vl_kmeans_set_algorithm(c.km, VlKMeansElkan);
    vl_kmeans_set_initialization(c.km, VlKMeansRandomSelection);
  } else if (ac->call == a_km_ann) {
    vl_kmeans_set_algorithm(c.km, VlKMeansANN);
    vl_kmeans_set_initialization(c.km, VlKMeansPlusPlus);
  } else if (ac->call == a_km_lloyd) {
    vl_kmeans_set_initialization(c.km, VlKMeansPlusPlus);
  }
  vl_kmeans_set_num_repetitions(c.km, 2);

  for (n = 1; n < 100000; ++n) {
    long before, used;
    int err;
    char msg[VL_ERR_MSG_LEN];
    snap_gmm(c.g, &gs);
    snap_gmm(c.gf, &gsf);
    snap_km(c.km, &ks);
    vl_rand_seed(vl_get_rand(), 3);
    before = gmm_alloc_count();
    gmm_alloc_fail_after(n);
    ac->call(&c);
    err = vl_get_last_error();
    strcpy(msg, vl_get_last_error_message());
    gmm_alloc_fail_after(0);
    used = gmm_alloc_count() - before;
    free_result(&c, ac);
    if (used < n) { /* the call ran to the end without reaching failure n */
      CHECK_MSG(err == VL_ERR_OK, "%s (%d threads): error %d (%s) without an injected failure",
                ac->name, threads, err, msg);
      ++g_checks;
      break;
    }
    ++sites;
    ++g_checks;
    if (err == VL_ERR_OK && (ac->after & TOLERATES)) {
      /* EM's restarts of empty modes are skipped when their scratch cannot
       * be allocated: the call succeeds without them */
      ++tolerated;
      continue;
    }
    if (err != VL_ERR_ALLOC || !strstr(msg, "could not allocate")) {
      fprintf(stderr, "%s (%d threads): allocation %ld failed: got error %d (%s)\n", ac->name,
              threads, n, err, msg);
      ++g_failures;
      continue;
    }
    if (ac->after & GMM_UNCHANGED) CHECK_GMM_UNCHANGED(c.g, &gs);
    if (ac->after & KM_UNCHANGED) CHECK_KM_UNCHANGED(c.km, &ks);
    if (ac->after & GMM_USABLE) {
      check_gmm_usable(__LINE__, ac->call == a_gmm_cluster_float ? c.gf : c.g);
      /* a GMM training call that failed after its checks may have changed
       * the parameters: they are finite and the priors non-negative */
      {
        VlGMM const *g = ac->call == a_gmm_cluster_float ? c.gf : c.g;
        gmm_snap s;
        int ok = 1;
        if (g == c.gf) {
          float const *m = vl_gmm_get_means(g), *v = vl_gmm_get_covariances(g),
                      *p = vl_gmm_get_priors(g);
          for (int j = 0; j < K * D; ++j) ok &= isfinite(m[j]) && isfinite(v[j]) && v[j] >= 0;
          for (int k = 0; k < K; ++k) ok &= isfinite(p[k]) && p[k] >= 0;
        } else {
          snap_gmm(g, &s);
          for (int j = 0; j < K * D; ++j)
            ok &= isfinite(s.means[j]) && isfinite(s.covs[j]) && s.covs[j] >= 0;
          for (int k = 0; k < K; ++k) ok &= isfinite(s.priors[k]) && s.priors[k] >= 0;
        }
        ++g_checks;
        CHECK_MSG(ok, "%s: non-finite parameters after failure %ld", ac->name, n);
      }
      /* restore a trained model for the next n */
      vl_gmm_delete(c.g);
      vl_gmm_delete(c.gf);
      c.g = trained_gmm(VL_TYPE_DOUBLE);
      c.gf = trained_gmm(VL_TYPE_FLOAT);
      vl_gmm_set_max_num_iterations(c.g, 5);
      vl_gmm_set_max_num_iterations(c.gf, 5);
      vl_gmm_set_convergence_threshold(c.g, 0);
      vl_gmm_set_convergence_threshold(c.gf, 0);
    }
  }
  CHECK_MSG(n < 100000, "%s: the sweep did not end", ac->name);
  CHECK_MSG(sites > 0, "%s: no allocation to fail", ac->name);
  CHECK_MSG(tolerated == 0 || (ac->after & TOLERATES), "%s: a failed allocation was ignored",
            ac->name);
  /* the objects still work after the whole sweep */
  CHECK_GMM_USABLE(c.g);
  CHECK_KM_USABLE(c.km);
  vl_gmm_delete(c.g);
  vl_gmm_delete(c.gf);
  vl_kmeans_delete(c.km);
  vl_kmeans_delete(c.kmuser);
  vl_set_num_threads(0);
  g_case = "";
  return sites;
}

static void row_allocation_failure(void)
{
  long total = 0;
  size_t const ncases = sizeof ACASES / sizeof ACASES[0];
  for (size_t j = 0; j < ncases; ++j) {
    long const s1 = sweep(&ACASES[j], 1);
    long const s3 = sweep(&ACASES[j], 3); /* per-thread scratch, parallel paths */
    total += s1 + s3;
    if (getenv("TEST_ERRORS_VERBOSE"))
      printf("  %-42s %4ld / %4ld allocation sites (1 / 3 threads)\n", ACASES[j].name, s1, s3);
  }
  printf("allocation failure: %zu functions, %ld injected failures\n", ncases, total);
}

/* ================================================================================= */

int main(void)
{
  make_data();
  vl_set_printf_func(NULL);
  row_null_pointers();
  row_zero_sizes();
  row_mismatch();
  row_fewer_points();
  row_nonfinite();
  row_nonpositive_covariances();
  row_priors();
  row_enums_and_flags();
  row_overflow();
  row_state();
  row_allocation_failure();
  printf("test_errors: %d checks, %d failed\n", g_checks, g_failures);
  TEST_EXIT();
}
