/* test_kmeans_stats.c: Lloyd by sufficient statistics, in chunks of any
 * size, equals in-memory Lloyd (no cluster empties on this data). */
#include "test_util.h"
#include "vl/libgmm.h"
#include "vl/kmeans.h"

enum { N = 4000, D = 6, K = 9, T = 8 };

int main(void)
{
  static double x[N * D];
  double init[K * D];
  size_t const chunks[] = {1, 7, 500, N};
  VlKMeans *ref = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
  double eref;
  test_seed(11);
  for (int i = 0; i < N; ++i) {
    int c = i % K;
    for (int d = 0; d < D; ++d) x[i * D + d] = 5.0 * ((c * 7 + d * 3) % 11) + test_normal();
  }
  for (int j = 0; j < K * D; ++j) init[j] = x[(j / D) * 131 * D + j % D];

  vl_kmeans_set_centers(ref, init, D, K);
  vl_kmeans_set_max_num_iterations(ref, T);
  vl_kmeans_set_min_energy_variation(ref, 0);
  eref = vl_kmeans_refine_centers(ref, x, N);
  CHECK(vl_get_last_error() == VL_ERR_OK);

  for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; ++c) {
    VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    size_t S;
    double *st, e = 0;
    vl_kmeans_set_centers(km, init, D, K);
    S = vl_kmeans_stats_size(km);
    CHECK(S == K * (D + 1) + 2);
    st = malloc(S * sizeof(double));
    for (int t = 0; t <= T; ++t) {
      memset(st, 0, S * sizeof(double));
      for (size_t i = 0; i < N; i += chunks[c])
        vl_kmeans_stats_accumulate(km, st, x + i * D, i + chunks[c] < N ? chunks[c] : N - i);
      CHECK(vl_get_last_error() == VL_ERR_OK);
      CHECK(st[S - 1] == N);
      e = st[S - 2];
      if (t < T) vl_kmeans_update_from_stats(km, st); /* the last pass only measures */
    }
    CHECK_CLOSE(e, eref, 1e-10, 0);
    for (int j = 0; j < K * D; ++j)
      CHECK_CLOSE(((double const *)vl_kmeans_get_centers(km))[j],
                  ((double const *)vl_kmeans_get_centers(ref))[j], 1e-12, 1e-12);
    free(st);
    vl_kmeans_delete(km);
  }

  /* errors: no centers, L1, NaN data, NULL */
  {
    VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    double st[K * (D + 1) + 2] = {0};
    CHECK(vl_kmeans_stats_accumulate(km, st, x, N) == VL_ERR_BAD_STATE);
    vl_kmeans_set_centers(km, init, D, K);
    CHECK(vl_kmeans_stats_accumulate(km, NULL, x, N) == VL_ERR_BAD_ARG);
    x[3] = NAN;
    CHECK(vl_kmeans_stats_accumulate(km, st, x, N) == VL_ERR_BAD_ARG);
    x[3] = 0;
    st[0] = -1;
    CHECK(vl_kmeans_update_from_stats(km, st) == VL_ERR_BAD_ARG);
    vl_kmeans_delete(km);
    km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL1);
    vl_kmeans_set_centers(km, init, D, K);
    CHECK(vl_kmeans_stats_size(km) == 0 && vl_get_last_error() == VL_ERR_BAD_ARG);
    vl_kmeans_delete(km);
  }
  vl_kmeans_delete(ref);
  TEST_EXIT();
}
