/* fisher_example.c: train a GMM on synthetic descriptors with libgmm and
 * print the norm of a Fisher vector.
 *
 * Build against an installed libgmm (see README.md):
 *   cc -std=c11 fisher_example.c $(pkg-config --cflags --libs libgmm) -lm -o fisher_example
 *
 * Error handling is the documented one (docs/c-api.md): constructors return
 * NULL, computations return a sentinel (NaN, 0), and right after any call
 * vl_get_last_error() tells whether that call failed, with the reason in
 * vl_get_last_error_message().
 */
#include <vl/fisher.h>
#include <vl/gmm.h>
#include <vl/libgmm.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define DIMENSION 16   /* descriptor length D */
#define NUM_MODES 8    /* GMM components K */
#define NUM_TRAIN 5000 /* training descriptors */
#define NUM_IMAGE 300  /* descriptors of the "image" to encode */

/* Report the calling thread's last libgmm error, if any; 1 if there was one. */
static int failed(char const *what)
{
  int code = vl_get_last_error();
  if (code == VL_ERR_OK) return 0;
  fprintf(stderr, "%s failed: error %d: %s\n", what, code, vl_get_last_error_message());
  return 1;
}

/* Synthetic descriptors: NUM_MODES Gaussian blobs with random centers. */
static float gaussian(void)
{
  double u = (rand() + 1.0) / (RAND_MAX + 2.0), v = (rand() + 1.0) / (RAND_MAX + 2.0);
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static void make_descriptors(float *x, size_t n, float const *centers)
{
  for (size_t i = 0; i < n; ++i) {
    size_t k = (size_t)rand() % NUM_MODES;
    for (size_t d = 0; d < DIMENSION; ++d)
      x[i * DIMENSION + d] = centers[k * DIMENSION + d] + 0.5f * gaussian();
  }
}

int main(void)
{
  int status = EXIT_FAILURE;
  float *train = malloc(sizeof(float) * NUM_TRAIN * DIMENSION);   /* N x D, row-major */
  float *image = malloc(sizeof(float) * NUM_IMAGE * DIMENSION);
  float *fv = malloc(sizeof(float) * 2 * NUM_MODES * DIMENSION);  /* 2 K D */
  float centers[NUM_MODES * DIMENSION];
  VlGMM *gmm = NULL;

  if (!train || !image || !fv) {
    fprintf(stderr, "out of memory\n");
    goto done;
  }
  printf("libgmm %s (ABI %d, header %s), SIMD %s, %zu threads\n", vl_get_version_string(),
         vl_get_abi_version(), LIBGMM_VERSION_STRING, vl_get_simd_level_name(vl_get_simd_level()),
         (size_t)vl_get_max_threads());
  if (vl_get_abi_version() != LIBGMM_ABI_VERSION) {
    fprintf(stderr, "built for ABI %d, running with ABI %d\n", LIBGMM_ABI_VERSION,
            vl_get_abi_version());
    goto done;
  }

  srand(1);
  for (size_t i = 0; i < NUM_MODES * DIMENSION; ++i) centers[i] = (float)(rand() % 9) - 4.f;
  make_descriptors(train, NUM_TRAIN, centers);
  make_descriptors(image, NUM_IMAGE, centers);

  /* Create: NULL on error. */
  gmm = vl_gmm_new(VL_TYPE_FLOAT, DIMENSION, NUM_MODES);
  if (!gmm) {
    failed("vl_gmm_new");
    goto done;
  }
  /* Setters return nothing: check the last error after each one (every
   * call clears it first, so it is not sticky across calls). */
  vl_gmm_set_initialization(gmm, VlGMMKMeans);
  if (failed("vl_gmm_set_initialization")) goto done;
  vl_gmm_set_max_num_iterations(gmm, 100);
  if (failed("vl_gmm_set_max_num_iterations")) goto done;
  vl_gmm_set_num_repetitions(gmm, 2);
  if (failed("vl_gmm_set_num_repetitions")) goto done;

  /* Train: NaN and an error code on failure. */
  vl_rand_seed(vl_get_rand(), 42); /* repeatable (the calling thread's generator) */
  double ll = vl_gmm_cluster(gmm, train, NUM_TRAIN);
  if (failed("vl_gmm_cluster")) goto done;
  printf("GMM: %d components, log-likelihood %.2f\n", NUM_MODES, ll);

  /* The parameters belong to the GMM: read them, never free them. */
  float const *means = vl_gmm_get_means(gmm);
  float const *covariances = vl_gmm_get_covariances(gmm);
  float const *priors = vl_gmm_get_priors(gmm);

  /* Encode, plain then "improved" (signed square root + L2 normalisation):
   * 0 and an error code on bad arguments. */
  for (int improved = 0; improved <= 1; ++improved) {
    vl_size terms = vl_fisher_encode(fv, VL_TYPE_FLOAT, means, DIMENSION, NUM_MODES, covariances,
                                     priors, image, NUM_IMAGE,
                                     improved ? VL_FISHER_FLAG_IMPROVED : 0);
    if (failed("vl_fisher_encode")) goto done;
    double norm = 0;
    for (size_t i = 0; i < 2 * NUM_MODES * DIMENSION; ++i) norm += (double)fv[i] * fv[i];
    printf("Fisher vector (%s): %d values from %zu (descriptor, component) terms, L2 norm %.6f\n",
           improved ? "improved" : "plain", 2 * NUM_MODES * DIMENSION, (size_t)terms, sqrt(norm));
  }
  status = EXIT_SUCCESS;

done:
  vl_gmm_delete(gmm); /* NULL is fine */
  free(train);
  free(image);
  free(fv);
  return status;
}
