/* test_gmm_em.c: EM invariants on random mixtures, float and double:
 * priors sum to one, the log-likelihood never decreases (no mode restarts
 * on this data), covariances respect their lower bounds, and the result
 * does not depend on the number of threads. */
#include "test_util.h"
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
  free(x);
  TEST_EXIT();
}
