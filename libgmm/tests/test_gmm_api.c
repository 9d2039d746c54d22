/* test_gmm_api.c: object lifecycle, parameters and error reporting of the
 * GMM API: every bad argument gives an error code and a message, never a
 * crash, and leaves the object usable. */
#include "test_util.h"
#include "vl/gmm.h"
#include "vl/libgmm.h"

#define EXPECT_ERROR(code)                                                        \
  do {                                                                            \
    CHECK_MSG(vl_get_last_error() == (code), "got error %d (%s)",                 \
              vl_get_last_error(), vl_get_last_error_message());                  \
    CHECK(strlen(vl_get_last_error_message()) > 0);                               \
  } while (0)

#define EXPECT_OK() CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message())

static int count_calls(void *user, vl_size iteration, double ll)
{
  (void)iteration;
  (void)ll;
  ++*(int *)user;
  return 0;
}

int main(void)
{
  enum { N = 200, D = 3, K = 4 };
  double x[N * D];
  VlGMM *g;
  test_seed(3);
  for (int i = 0; i < N * D; ++i) x[i] = test_normal() + (i % 2) * 4;

  /* construction */
  CHECK(vl_gmm_new(7, D, K) == NULL);
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  CHECK(vl_gmm_new(VL_TYPE_DOUBLE, 0, K) == NULL);
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  CHECK(vl_gmm_new(VL_TYPE_DOUBLE, (size_t)1 << 40, (size_t)1 << 40) == NULL);
  EXPECT_ERROR(VL_ERR_OVERFLOW);
  g = vl_gmm_new(VL_TYPE_DOUBLE, D, K);
  CHECK(g != NULL);
  EXPECT_OK();

  /* defaults */
  CHECK(vl_gmm_get_max_num_iterations(g) == 50);
  CHECK(vl_gmm_get_num_repetitions(g) == 1);
  CHECK(vl_gmm_get_initialization(g) == VlGMMRand);
  CHECK(vl_gmm_get_posteriors(g) == NULL);
  CHECK(vl_gmm_get_covariance_lower_bounds(g)[2] == 1e-4);

  /* NULL object */
  CHECK(isnan(vl_gmm_cluster(NULL, x, N)));
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  CHECK(vl_gmm_get_means(NULL) == NULL);
  EXPECT_ERROR(VL_ERR_BAD_ARG);

  /* bad data */
  CHECK(isnan(vl_gmm_cluster(g, NULL, N)));
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  CHECK(isnan(vl_gmm_cluster(g, x, 0)));
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  CHECK(isnan(vl_gmm_cluster(g, x, K - 1)));
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  CHECK(strstr(vl_get_last_error_message(), "fewer data points") != NULL);
  CHECK(isnan(vl_gmm_cluster(g, x, SIZE_MAX / 2)));
  EXPECT_ERROR(VL_ERR_OVERFLOW);
  x[5] = NAN;
  CHECK(isnan(vl_gmm_cluster(g, x, N)));
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  x[5] = INFINITY;
  vl_gmm_init_with_rand_data(g, x, N);
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  x[5] = 1.0;

  /* EM before any initialisation: priors are all zero */
  CHECK(isnan(vl_gmm_em(g, x, N)));
  EXPECT_ERROR(VL_ERR_BAD_ARG);

  /* the object still works, and the last error is cleared by the next call */
  {
    double ll = vl_gmm_cluster(g, x, N);
    EXPECT_OK();
    CHECK(isfinite(ll) && ll == vl_gmm_get_loglikelihood(g));
    CHECK(vl_gmm_get_num_data(g) == N);
  }

  /* bad parameters leave the parameters unchanged */
  {
    double means[K * D], before[K * D];
    memcpy(before, vl_gmm_get_means(g), sizeof before);
    for (int j = 0; j < K * D; ++j) means[j] = j;
    means[3] = NAN;
    vl_gmm_set_means(g, means);
    EXPECT_ERROR(VL_ERR_BAD_ARG);
    CHECK(memcmp(before, vl_gmm_get_means(g), sizeof before) == 0);
    vl_gmm_set_means(g, NULL);
    EXPECT_ERROR(VL_ERR_BAD_ARG);
    means[3] = -1;
    vl_gmm_set_covariances(g, means);
    EXPECT_ERROR(VL_ERR_BAD_ARG);
    vl_gmm_set_priors(g, means);
    EXPECT_ERROR(VL_ERR_BAD_ARG);
  }
  vl_gmm_set_num_repetitions(g, 0);
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  CHECK(vl_gmm_get_num_repetitions(g) == 1);
  vl_gmm_set_initialization(g, (VlGMMInitialization)9);
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  vl_gmm_set_covariance_lower_bound(g, -1);
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  vl_gmm_set_covariance_lower_bounds(g, NULL);
  EXPECT_ERROR(VL_ERR_BAD_ARG);
  {
    VlKMeans *km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2);
    vl_gmm_set_kmeans_init_object(g, km); /* float k-means for a double GMM */
    EXPECT_ERROR(VL_ERR_BAD_ARG);
    vl_kmeans_delete(km);
  }

  /* copy, then delete the original */
  {
    VlGMM *c;
    vl_gmm_set_covariance_lower_bound(g, 0.01);
    c = vl_gmm_new_copy(g);
    EXPECT_OK();
    CHECK(memcmp(vl_gmm_get_means(c), vl_gmm_get_means(g), sizeof(double) * K * D) == 0);
    CHECK(memcmp(vl_gmm_get_posteriors(c), vl_gmm_get_posteriors(g), sizeof(double) * N * K) == 0);
    CHECK(vl_gmm_get_covariance_lower_bounds(c)[1] == 0.01);
    vl_gmm_delete(g);
    vl_gmm_set_max_num_iterations(c, 3);
    CHECK(isfinite(vl_gmm_em(c, x, N)));
    g = c;
  }

  /* a k-means initialisation that fails leaves the GMM unchanged */
  {
    double before[K * D];
    VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    memcpy(before, vl_gmm_get_means(g), sizeof before);
    vl_kmeans_set_algorithm(km, VlKMeansANN);
    vl_kmeans_set_num_trees(km, (vl_size)1 << 62); /* its forest cannot be allocated */
    vl_gmm_init_with_kmeans(g, x, N, km);
    CHECK(vl_get_last_error() == VL_ERR_OVERFLOW || vl_get_last_error() == VL_ERR_ALLOC);
    CHECK(memcmp(before, vl_gmm_get_means(g), sizeof before) == 0);
    CHECK(vl_gmm_get_posteriors(g) != NULL);
    vl_kmeans_delete(km);
  }

  /* k-means initialisation (default object) and repetitions */
  vl_gmm_set_initialization(g, VlGMMKMeans);
  vl_gmm_set_num_repetitions(g, 3);
  CHECK(isfinite(vl_gmm_cluster(g, x, N)));
  EXPECT_OK();
  vl_gmm_reset(g);
  CHECK(vl_gmm_get_posteriors(g) == NULL && vl_gmm_get_num_data(g) == 0);

  /* allocation failure: an error, then the object still works */
  {
    extern void gmm_alloc_fail_after(long n);
    for (long k = 1; k < 40; ++k) {
      gmm_alloc_fail_after(k);
      vl_gmm_cluster(g, x, N);
      gmm_alloc_fail_after(0);
      CHECK(vl_get_last_error() == VL_ERR_OK || vl_get_last_error() == VL_ERR_ALLOC);
    }
    CHECK(isfinite(vl_gmm_cluster(g, x, N)));
    EXPECT_OK();
  }

  /* stateless E-step */
  {
    double post[N * K], pri[K] = {0.25, 0.25, 0.25, 0.25}, cov[K * D], mu[K * D];
    for (int j = 0; j < K * D; ++j) cov[j] = 1, mu[j] = j % 3;
    CHECK(isfinite(vl_get_gmm_data_posteriors_d(post, K, N, pri, mu, D, cov, x)));
    EXPECT_OK();
    cov[0] = 0;
    CHECK(isnan(vl_get_gmm_data_posteriors_d(post, K, N, pri, mu, D, cov, x)));
    EXPECT_ERROR(VL_ERR_BAD_ARG);
  }

  /* E-step on the object's parameters: every output optional, all consistent */
  {
    static double post[N * K], post2[N * K], ll[N];
    vl_uint32 labels[N];
    double sum = 0, total, total2;
    vl_gmm_set_initialization(g, VlGMMRand);
    vl_gmm_set_num_repetitions(g, 1);
    vl_gmm_cluster(g, x, N);
    total = vl_gmm_estep(g, x, N, post, ll, labels);
    EXPECT_OK();
    total2 = vl_get_gmm_data_posteriors_d(post2, K, N, vl_gmm_get_priors(g), vl_gmm_get_means(g), D,
                                          vl_gmm_get_covariances(g), x);
    CHECK(total == total2);
    CHECK(memcmp(post, post2, sizeof post) == 0);
    CHECK(memcmp(post, vl_gmm_get_posteriors(g), sizeof post) == 0);
    for (int i = 0; i < N; ++i) {
      int best = 0;
      sum += ll[i];
      for (int k = 1; k < K; ++k)
        if (post[i * K + k] > post[i * K + best]) best = k;
      CHECK(labels[i] == (vl_uint32)best);
    }
    CHECK_CLOSE(sum, total, 1e-12, 0);
    CHECK(vl_gmm_estep(g, x, N, NULL, NULL, NULL) == total);
    x[7] = NAN;
    CHECK(isnan(vl_gmm_estep(g, x, N, NULL, ll, NULL)));
    EXPECT_ERROR(VL_ERR_BAD_ARG);
    x[7] = 0.5;
  }

  /* convergence threshold: 0 disables the test, so EM runs every iteration */
  {
    int calls = 0;
    vl_gmm_set_convergence_threshold(g, -1);
    EXPECT_ERROR(VL_ERR_BAD_ARG);
    CHECK(vl_gmm_get_convergence_threshold(g) == 1e-5);
    vl_gmm_set_convergence_threshold(g, 0);
    vl_gmm_set_max_num_iterations(g, 60);
    vl_gmm_set_iteration_callback(g, count_calls, &calls);
    vl_gmm_em(g, x, N);
    CHECK(calls == 61);
    vl_gmm_set_iteration_callback(g, NULL, NULL);
  }

  vl_gmm_delete(g);
  vl_gmm_delete(NULL); /* allowed, like free(NULL) */
  TEST_EXIT();
}
