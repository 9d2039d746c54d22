/* test_gmm_em.c: EM invariants on random mixtures, float and double:
 * priors sum to one, the log-likelihood never decreases (no mode restarts
 * on this data), covariances respect their lower bounds, and the result
 * does not depend on the number of threads. */
#include "test_util.h"
#include "vl/libgmm.h"
#include "vl/gmm.h"

enum { N = 3000, D = 5, K = 6 };

static void make_data(double *x)
{
  double centers[K][D];
  test_seed(7);
  for (int k = 0; k < K; ++k)
    for (int d = 0; d < D; ++d) centers[k][d] = 6.0 * test_normal();
  for (int i = 0; i < N; ++i) {
    int k = (int)(test_uniform() * K);
    for (int d = 0; d < D; ++d) x[i * D + d] = centers[k][d] + test_normal();
  }
}

#define DEFINE_RUN(T, SFX, VLT)                                                           \
  static void run_##SFX(double const *x64, int threads, double *ll_out, T *means_out)     \
  {                                                                                       \
    T *x = malloc(sizeof(T) * N * D);                                                     \
    VlGMM *g = vl_gmm_new(VLT, D, K);                                                     \
    double prev = -INFINITY;                                                              \
    for (int i = 0; i < N * D; ++i) x[i] = (T)x64[i];                                     \
    vl_set_num_threads(threads);                                                          \
    vl_rand_seed(vl_get_rand(), 11);                                                      \
    vl_gmm_set_max_num_iterations(g, 0);                                                  \
    vl_gmm_set_covariance_lower_bound(g, 0.05);                                           \
    vl_gmm_cluster(g, x, N); /* initialise (rand) + one E-step */                         \
    CHECK(vl_get_last_error() == VL_ERR_OK);                                              \
    for (int it = 0; it < 30; ++it) {                                                     \
      T const *priors, *covs;                                                             \
      double sum = 0, ll;                                                                 \
      vl_gmm_set_max_num_iterations(g, 1);                                                \
      ll = vl_gmm_em(g, x, N);                                                            \
      CHECK(vl_get_last_error() == VL_ERR_OK);                                            \
      CHECK_MSG(ll >= prev - 1e-6 * fabs(prev), "iteration %d: LL %f < %f", it, ll, prev); \
      CHECK(vl_gmm_get_loglikelihood(g) == ll);                                           \
      prev = ll;                                                                          \
      priors = vl_gmm_get_priors(g);                                                      \
      covs = vl_gmm_get_covariances(g);                                                   \
      for (int k = 0; k < K; ++k) sum += priors[k];                                       \
      CHECK_CLOSE(sum, 1.0, 1e-6, 0);                                                     \
      for (int j = 0; j < K * D; ++j) CHECK(covs[j] >= (T)0.05);                          \
    }                                                                                     \
    {                                                                                     \
      T const *post = vl_gmm_get_posteriors(g);                                           \
      for (int i = 0; i < N; ++i) {                                                       \
        double s = 0;                                                                     \
        for (int k = 0; k < K; ++k) s += post[i * K + k];                                 \
        CHECK_CLOSE(s, 1.0, 1e-5, 0);                                                     \
      }                                                                                   \
    }                                                                                     \
    *ll_out = prev;                                                                       \
    for (int j = 0; j < K * D; ++j) means_out[j] = ((T const *)vl_gmm_get_means(g))[j];   \
    vl_gmm_delete(g);                                                                     \
    free(x);                                                                              \
    vl_set_num_threads(0);                                                                \
  }

DEFINE_RUN(float, f, VL_TYPE_FLOAT)
DEFINE_RUN(double, d, VL_TYPE_DOUBLE)

static void init_far_modes(VlGMM *g, double const *x);

static int stop_at_3(void *user, vl_size iteration, double ll)
{
  int *calls = (int *)user;
  ++*calls;
  (void)ll;
  return iteration >= 3;
}

/* Training without stored posteriors (restarts replayed) gives the same
 * parameters as with them; a callback that asks to stop leaves a valid model. */
static void check_store_and_callback(double const *x)
{
  double means[2][K * D], ll[2];
  int restarts = 0;
  for (int store = 0; store < 2; ++store) {
    /* custom start with two means far from every point: both modes empty
     * out and are restarted by splitting others */
    VlGMM *g = vl_gmm_new(VL_TYPE_DOUBLE, D, K);
    double m0[K * D], c0[K * D], p0[K];
    for (int k = 0; k < K; ++k) {
      p0[k] = 1.0 / K;
      for (int d = 0; d < D; ++d) {
        m0[k * D + d] = k < 2 ? 1e3 * (k + 1) : x[(k * 97) * D + d];
        c0[k * D + d] = 1;
      }
    }
    vl_gmm_set_means(g, m0);
    vl_gmm_set_covariances(g, c0);
    vl_gmm_set_priors(g, p0);
    vl_gmm_set_initialization(g, VlGMMCustom);
    vl_gmm_set_store_posteriors(g, store);
    vl_gmm_set_max_num_iterations(g, 40);
    ll[store] = vl_gmm_cluster(g, x, N);
    restarts += ((double const *)vl_gmm_get_means(g))[0] < 100; /* mode 0 came back */
    CHECK(vl_get_last_error() == VL_ERR_OK);
    CHECK((vl_gmm_get_posteriors(g) != NULL) == store);
    memcpy(means[store], vl_gmm_get_means(g), sizeof means[store]);
    vl_gmm_delete(g);
  }
  CHECK(restarts == 2);
  /* custom start, no stored posteriors, several repetitions: every repetition
   * restarts from the user's parameters, so the result is that of one */
  {
    VlGMM *g = vl_gmm_new(VL_TYPE_DOUBLE, D, K);
    double m1[K * D];
    init_far_modes(g, x);
    vl_gmm_set_initialization(g, VlGMMCustom);
    vl_gmm_set_store_posteriors(g, 0);
    vl_gmm_set_num_repetitions(g, 3);
    vl_gmm_set_max_num_iterations(g, 40);
    CHECK(vl_gmm_cluster(g, x, N) == ll[0]);
    CHECK(vl_gmm_get_posteriors(g) == NULL);
    memcpy(m1, vl_gmm_get_means(g), sizeof m1);
    CHECK(memcmp(m1, means[0], sizeof m1) == 0);
    vl_gmm_delete(g);
  }
  CHECK(ll[0] == ll[1]);
  CHECK(memcmp(means[0], means[1], sizeof means[0]) == 0);
  {
    int calls = 0;
    VlGMM *g = vl_gmm_new(VL_TYPE_DOUBLE, D, K);
    double got;
    vl_gmm_set_iteration_callback(g, stop_at_3, &calls);
    vl_gmm_set_max_num_iterations(g, 100);
    got = vl_gmm_cluster(g, x, N);
    CHECK(vl_get_last_error() == VL_ERR_INTERRUPTED);
    CHECK(calls == 4);
    CHECK(isfinite(got) && got == vl_gmm_get_loglikelihood(g));
    {
      double post[N * K];
      double ll2 = vl_get_gmm_data_posteriors_d(post, K, N, vl_gmm_get_priors(g), vl_gmm_get_means(g), D,
                                                vl_gmm_get_covariances(g), x);
      CHECK_CLOSE(ll2, got, 1e-12, 0); /* the stored LL is that of the stored parameters */
    }
    vl_gmm_set_iteration_callback(g, NULL, NULL);
    CHECK(isfinite(vl_gmm_em(g, x, N)) && vl_get_last_error() == VL_ERR_OK);
    vl_gmm_delete(g);
  }
}

/* EM driven from outside through the statistics API, in chunks of `chunk`
 * points: the loop of vl_gmm_em (convergence test, restarts) written with
 * vl_gmm_stats_accumulate / vl_gmm_plan_restart / vl_gmm_mstep_from_stats. */
static double em_by_stats(VlGMM *g, double const *x, size_t chunk, size_t iters)
{
  size_t const S = vl_gmm_stats_size(g), KK = vl_gmm_get_num_clusters(g);
  double *st = malloc(S * sizeof(double)), *mass = malloc(KK * sizeof(double));
  double *splits = malloc(4 * KK * sizeof(double));
  double LL = NAN, prev = -INFINITY;
  for (size_t t = 0;; ++t) {
    VlGMM *e = vl_gmm_new_copy(g); /* the E-step's parameters, frozen */
    size_t nsplits = 0;
    memset(st, 0, S * sizeof(double));
    for (size_t i = 0; i < N; i += chunk)
      vl_gmm_stats_accumulate(e, st, x + i * D, i + chunk < N ? chunk : N - i, NULL, NULL, 0);
    CHECK(vl_get_last_error() == VL_ERR_OK);
    LL = st[S - 2];
    CHECK(st[S - 1] == N);
    if (t >= iters || (t > 0 && fabs((LL - prev) / LL) < 1e-5)) {
      vl_gmm_delete(e);
      break;
    }
    prev = LL;
    if (t > 1) {
      memcpy(mass, st + KK, KK * sizeof(double));
      for (size_t start = 0; (start = vl_gmm_plan_restart(g, mass, N, start, splits + 4 * nsplits));) {
        ++nsplits;
        memset(st, 0, S * sizeof(double));
        for (size_t i = 0; i < N; i += chunk)
          vl_gmm_stats_accumulate(e, st, x + i * D, i + chunk < N ? chunk : N - i,
                                  vl_gmm_get_means(g), splits, nsplits);
        vl_gmm_mstep_from_stats(g, st, NULL);
      }
      if (nsplits) {
        memset(st, 0, S * sizeof(double));
        for (size_t i = 0; i < N; i += chunk)
          vl_gmm_stats_accumulate(e, st, x + i * D, i + chunk < N ? chunk : N - i,
                                  vl_gmm_get_means(g), splits, nsplits);
      }
    }
    vl_gmm_mstep_from_stats(g, st, NULL);
    CHECK(vl_get_last_error() == VL_ERR_OK);
    vl_gmm_delete(e);
  }
  free(st);
  free(mass);
  free(splits);
  return LL;
}

static void init_far_modes(VlGMM *g, double const *x)
{
  double m0[K * D], c0[K * D], p0[K];
  for (int k = 0; k < K; ++k) {
    p0[k] = 1.0 / K;
    for (int d = 0; d < D; ++d) {
      m0[k * D + d] = k < 2 ? 1e3 * (k + 1) : x[(k * 97) * D + d];
      c0[k * D + d] = 1;
    }
  }
  vl_gmm_set_means(g, m0);
  vl_gmm_set_covariances(g, c0);
  vl_gmm_set_priors(g, p0);
}

/* In-memory EM and EM by statistics give the same parameters (restarts
 * included), for chunk sizes from below K to all of N. */
static void check_stats_path(double const *x)
{
  size_t const chunks[] = {3, 100, 1000, N};
  VlGMM *ref = vl_gmm_new(VL_TYPE_DOUBLE, D, K);
  double llref;
  init_far_modes(ref, x);
  vl_gmm_set_max_num_iterations(ref, 30);
  llref = vl_gmm_em(ref, x, N);
  for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; ++c) {
    VlGMM *g = vl_gmm_new(VL_TYPE_DOUBLE, D, K);
    double ll;
    init_far_modes(g, x);
    ll = em_by_stats(g, x, chunks[c], 30);
    CHECK_CLOSE(ll, llref, 1e-10, 0);
    for (int j = 0; j < K * D; ++j) {
      CHECK_CLOSE(((double const *)vl_gmm_get_means(g))[j], ((double const *)vl_gmm_get_means(ref))[j], 1e-9, 1e-9);
      CHECK_CLOSE(((double const *)vl_gmm_get_covariances(g))[j], ((double const *)vl_gmm_get_covariances(ref))[j], 1e-9, 1e-12);
    }
    for (int k = 0; k < K; ++k)
      CHECK_CLOSE(((double const *)vl_gmm_get_priors(g))[k], ((double const *)vl_gmm_get_priors(ref))[k], 1e-9, 1e-12);
    vl_gmm_delete(g);
  }
  CHECK(((double const *)vl_gmm_get_means(ref))[0] < 100); /* the far modes were restarted */
  vl_gmm_delete(ref);
}

int main(void)
{
  double *x = malloc(sizeof(double) * N * D);
  double ll1, ll2;
  make_data(x);
  {
    float m1[K * D], m2[K * D];
    run_f(x, 1, &ll1, m1);
    run_f(x, 2, &ll2, m2);
    CHECK(ll1 == ll2);
    CHECK(memcmp(m1, m2, sizeof m1) == 0);
  }
  {
    double m1[K * D], m2[K * D];
    run_d(x, 1, &ll1, m1);
    run_d(x, 2, &ll2, m2);
    CHECK(ll1 == ll2);
    CHECK(memcmp(m1, m2, sizeof m1) == 0);
  }
  check_store_and_callback(x);
  check_stats_path(x);
  free(x);
  TEST_EXIT();
}
