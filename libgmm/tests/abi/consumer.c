/* consumer.c: a C program that uses libgmm only through its installed public
 * headers and shared library, as an outside user would.
 *
 *   consumer [EXPECTED_LIBDIR [EXPECTED_VERSION]]
 *
 * EXPECTED_LIBDIR (canonical path, or "-"): the directory libgmm.so.* must be
 * loaded from (checked in /proc/self/maps). EXPECTED_VERSION: what the build
 * system reported (pkg-config --modversion, libgmm_VERSION).
 * Exits 0 if every check passes, 1 otherwise. Needs only -lgmm (no libm).
 */
#include <vl/host.h>
#include <vl/generic.h>
#include <vl/random.h>
#include <vl/mathop.h>
#include <vl/kmeans.h>
#include <vl/gmm.h>
#include <vl/fisher.h>
#include <vl/vlad.h>
#include <vl/libgmm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D = 2, K = 3, PER = 100, N = K * PER };

static int failures = 0;

#define EXPECT(cond)                                                                 \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "consumer.c:%d: FAILED: %s (last error %d: %s)\n", __LINE__,   \
              #cond, vl_get_last_error(), vl_get_last_error_message());              \
      ++failures;                                                                    \
    }                                                                                \
  } while (0)

/* Deterministic test data without libm: three well separated blobs, each
 * coordinate a sum of 12 uniforms minus 6 (mean 0, variance 1). */
static unsigned long long rng_state = 88172645463325252ULL;
static double uniform01(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}
static double normal01(void)
{
  double s = 0;
  int j;
  for (j = 0; j < 12; ++j) s += uniform01();
  return s - 6.0;
}

static float const true_centers[K][D] = {{-6.f, 0.f}, {0.f, 6.f}, {6.f, 0.f}};

static double sqdist(float const *a, float const *b)
{
  double s = 0;
  int d;
  for (d = 0; d < D; ++d) s += ((double)a[d] - b[d]) * ((double)a[d] - b[d]);
  return s;
}

static int is_nan(double x) { return x != x; }

/* The library this process mapped must be EXPECTED_LIBDIR/libgmm.so.* */
static void check_loaded_from(char const *libdir)
{
  char line[4096];
  int found = 0, bad = 0;
  size_t n = strlen(libdir);
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) {
    printf("consumer.c: no /proc/self/maps, load path not checked here\n");
    return;
  }
  while (fgets(line, sizeof line, f)) {
    char *path = strchr(line, '/');
    char *nl;
    if (!path || !strstr(path, "/libgmm.so")) continue;
    if ((nl = strchr(path, '\n'))) *nl = '\0';
    if (!found) printf("consumer.c: libgmm mapped from %s\n", path);
    found = 1;
    if (!bad && (strncmp(path, libdir, n) != 0 || strncmp(path + n, "/libgmm.so.", 11) != 0)) {
      fprintf(stderr, "consumer.c: FAILED: libgmm mapped from %s, expected %s/libgmm.so.*\n",
              path, libdir);
      ++failures;
      bad = 1;
    }
  }
  fclose(f);
  if (!found) {
    fprintf(stderr, "consumer.c: FAILED: no libgmm.so in /proc/self/maps\n");
    ++failures;
  }
}

static void check_version(char const *expected)
{
  char built[64];
  snprintf(built, sizeof built, "%d.%d.%d", LIBGMM_VERSION_MAJOR, LIBGMM_VERSION_MINOR,
           LIBGMM_VERSION_PATCH);
  EXPECT(vl_get_version_string() != NULL);
  EXPECT(strcmp(vl_get_version_string(), LIBGMM_VERSION_STRING) == 0);
  EXPECT(strcmp(built, LIBGMM_VERSION_STRING) == 0);
  EXPECT(vl_get_abi_version() == LIBGMM_ABI_VERSION);
  EXPECT(vl_get_last_error() == VL_ERR_OK);
  if (expected) EXPECT(strcmp(vl_get_version_string(), expected) == 0);
}

static void check_errors(float const *data)
{
  VlKMeans *km;
  vl_uint32 assign[4];
  /* a bad data type: NULL, VL_ERR_BAD_ARG, a message */
  EXPECT(vl_gmm_new(VL_TYPE_INT32, D, K) == NULL);
  EXPECT(vl_get_last_error() == VL_ERR_BAD_ARG);
  EXPECT(vl_get_last_error_message()[0] != '\0');
  /* the next call clears it */
  EXPECT(vl_get_abi_version() == LIBGMM_ABI_VERSION);
  EXPECT(vl_get_last_error() == VL_ERR_OK);
  /* quantize before any center: VL_ERR_BAD_STATE */
  km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2);
  EXPECT(km != NULL);
  if (km) {
    vl_kmeans_quantize(km, assign, NULL, data, 4);
    EXPECT(vl_get_last_error() == VL_ERR_BAD_STATE);
    vl_kmeans_delete(km);
  }
  EXPECT(vl_gmm_get_means(NULL) == NULL);
  EXPECT(vl_get_last_error() == VL_ERR_BAD_ARG);
  EXPECT(vl_get_simd_level_name(99) == NULL);
  EXPECT(vl_get_last_error() == VL_ERR_BAD_ARG);
}

static int stop_after_two(void *user, vl_size iteration, double value)
{
  (void)value;
  ++*(int *)user;
  return iteration >= 1;
}

static VlGMM *train_gmm(float const *data)
{
  VlGMM *g = vl_gmm_new(VL_TYPE_FLOAT, D, K);
  double ll;
  EXPECT(g != NULL);
  if (!g) return NULL;
  vl_gmm_set_max_num_iterations(g, 100);
  vl_rand_seed(vl_get_rand(), 42);
  ll = vl_gmm_cluster(g, data, N);
  EXPECT(!is_nan(ll) && vl_get_last_error() == VL_ERR_OK);
  EXPECT(ll == vl_gmm_get_loglikelihood(g));
  return g;
}

static void check_gmm(VlGMM *g)
{
  float const *means = (float const *)vl_gmm_get_means(g);
  float const *covs = (float const *)vl_gmm_get_covariances(g);
  float const *priors = (float const *)vl_gmm_get_priors(g);
  int used[K] = {0, 0, 0};
  int c, k, d;
  double psum = 0;
  EXPECT(means && covs && priors);
  if (!means || !covs || !priors) return;
  EXPECT(vl_gmm_get_dimension(g) == D && vl_gmm_get_num_clusters(g) == K);
  EXPECT(vl_gmm_get_data_type(g) == VL_TYPE_FLOAT && vl_gmm_get_num_data(g) == N);
  /* every true center has its own nearby mean */
  for (c = 0; c < K; ++c) {
    int best = 0;
    for (k = 1; k < K; ++k)
      if (sqdist(means + k * D, true_centers[c]) < sqdist(means + best * D, true_centers[c]))
        best = k;
    EXPECT(sqdist(means + best * D, true_centers[c]) < 0.25);
    EXPECT(!used[best]);
    used[best] = 1;
    EXPECT(priors[best] > 0.28f && priors[best] < 0.39f);
    for (d = 0; d < D; ++d) EXPECT(covs[best * D + d] > 0.5f && covs[best * D + d] < 2.0f);
  }
  for (k = 0; k < K; ++k) psum += priors[k];
  EXPECT(psum > 1 - 1e-5 && psum < 1 + 1e-5);
}

static void check_callback(VlGMM *g, float const *data)
{
  int calls = 0;
  double ll;
  vl_gmm_set_iteration_callback(g, stop_after_two, &calls);
  ll = vl_gmm_em(g, data, N);
  EXPECT(vl_get_last_error() == VL_ERR_INTERRUPTED);
  EXPECT(calls == 2);
  EXPECT(!is_nan(ll) && ll == vl_gmm_get_loglikelihood(g));
  vl_gmm_set_iteration_callback(g, NULL, NULL);
}

static void check_fisher(VlGMM const *g, float const *data)
{
  float enc[2 * K * D], batch[2][2 * K * D];
  vl_size const offsets[3] = {0, 150, N};
  vl_size terms[2];
  void const *m = vl_gmm_get_means(g), *s = vl_gmm_get_covariances(g), *p = vl_gmm_get_priors(g);
  double norm2 = 0;
  int i, j;
  vl_size n = vl_fisher_encode(enc, VL_TYPE_FLOAT, m, D, K, s, p, data, N,
                               VL_FISHER_FLAG_IMPROVED);
  EXPECT(n > 0 && vl_get_last_error() == VL_ERR_OK);
  for (i = 0; i < 2 * K * D; ++i) norm2 += (double)enc[i] * enc[i];
  EXPECT(norm2 > 1 - 1e-5 && norm2 < 1 + 1e-5);
  /* the batch encoder gives the single-image encodings, bit for bit */
  EXPECT(vl_fisher_encode_batch(batch, VL_TYPE_FLOAT, m, D, K, s, p, data, offsets, 2,
                                VL_FISHER_FLAG_IMPROVED, terms) == VL_ERR_OK);
  for (j = 0; j < 2; ++j) {
    n = vl_fisher_encode(enc, VL_TYPE_FLOAT, m, D, K, s, p, data + offsets[j] * D,
                         offsets[j + 1] - offsets[j], VL_FISHER_FLAG_IMPROVED);
    EXPECT(n == terms[j]);
    EXPECT(memcmp(enc, batch[j], sizeof enc) == 0);
  }
  /* a bad flag is rejected with 0 and VL_ERR_BAD_ARG */
  EXPECT(vl_fisher_encode(enc, VL_TYPE_FLOAT, m, D, K, s, p, data, N, 0x100) == 0);
  EXPECT(vl_get_last_error() == VL_ERR_BAD_ARG);
}

static void check_kmeans(float const *data)
{
  VlKMeans *km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2);
  vl_uint32 *assign = (vl_uint32 *)malloc(N * sizeof *assign);
  float *dist = (float *)malloc(N * sizeof *dist);
  vl_uint32 label[K];
  double energy;
  int c, i, strays = 0, negative = 0;
  EXPECT(km && assign && dist);
  if (!km || !assign || !dist) goto done;
  vl_kmeans_set_algorithm(km, VlKMeansElkan);
  vl_kmeans_set_initialization(km, VlKMeansPlusPlus);
  vl_kmeans_set_num_repetitions(km, 3);
  vl_rand_seed(vl_get_rand(), 7);
  energy = vl_kmeans_cluster(km, data, D, N, K);
  EXPECT(!is_nan(energy) && energy > 0 && vl_get_last_error() == VL_ERR_OK);
  EXPECT(vl_kmeans_get_centers(km) != NULL && vl_kmeans_get_num_centers(km) == K);
  vl_kmeans_quantize(km, assign, dist, data, N);
  EXPECT(vl_get_last_error() == VL_ERR_OK);
  /* each blob maps to one center, and the blobs to different centers */
  for (c = 0; c < K; ++c) {
    label[c] = assign[c * PER];
    EXPECT(label[c] < K);
    for (i = 0; i < PER; ++i) {
      strays += assign[c * PER + i] != label[c];
      negative += !(dist[c * PER + i] >= 0.f);
    }
  }
  EXPECT(strays == 0 && negative == 0);
  EXPECT(label[0] != label[1] && label[1] != label[2] && label[0] != label[2]);
done:
  free(assign);
  free(dist);
  vl_kmeans_delete(km);
}

/* Same seed and data with 1 and 3 threads: the same bits. */
static void check_threads(float const *data)
{
  float means[2][K * D];
  int t;
  for (t = 0; t < 2; ++t) {
    VlGMM *g;
    vl_set_num_threads(t == 0 ? 1 : 3);
    g = train_gmm(data);
    if (!g) return;
    memcpy(means[t], vl_gmm_get_means(g), sizeof means[t]);
    vl_gmm_delete(g);
  }
  vl_set_num_threads(0);
  EXPECT(memcmp(means[0], means[1], sizeof means[0]) == 0);
}

int main(int argc, char **argv)
{
  float *data = (float *)malloc(N * D * sizeof *data);
  VlGMM *g;
  int c, i, d;
  if (!data) return 1;
  for (c = 0; c < K; ++c)
    for (i = 0; i < PER; ++i)
      for (d = 0; d < D; ++d) data[(c * PER + i) * D + d] = true_centers[c][d] + (float)normal01();

  if (argc > 1 && strcmp(argv[1], "-") != 0) check_loaded_from(argv[1]);
  check_version(argc > 2 ? argv[2] : NULL);
  EXPECT(vl_get_simd_level_name(vl_get_simd_level()) != NULL);
  EXPECT(vl_get_simd_level() <= vl_get_simd_max_level());
  EXPECT(vl_get_simd_level_available(vl_get_simd_level()));
  EXPECT(vl_get_simd_level_available(VL_SIMD_SCALAR) && !vl_get_simd_level_available(99));
  check_errors(data);

  g = train_gmm(data);
  if (g) {
    check_gmm(g);
    check_fisher(g, data);
    check_callback(g, data);
    vl_gmm_delete(g);
  }
  check_kmeans(data);
  check_threads(data);
  free(data);

  if (failures) {
    fprintf(stderr, "consumer.c: %d check(s) failed\n", failures);
    return 1;
  }
  printf("consumer.c: OK (libgmm %s, ABI %d, SIMD %s)\n", vl_get_version_string(),
         vl_get_abi_version(), vl_get_simd_level_name(vl_get_simd_level()));
  return 0;
}
