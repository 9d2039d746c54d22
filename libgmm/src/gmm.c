/* gmm.c: the VlGMM object: lifecycle, parameters, EM driver, initialisations.
 *
 * EM follows VLFeat 0.9.21 (see docs/vlfeat-semantics in the repository's
 * spec and docs/vlfeat-differences.md for where we differ on purpose): the
 * E-step of estep.h, an M-step that ignores posteriors below 1e-2/K,
 * covariance lower bounds, restarts of nearly empty modes, a relative
 * log-likelihood convergence test of 1e-5, and the best of N repetitions.
 * The work is done in passes over fixed blocks of points (gmm_pass.h), so
 * the E-step and the M-step's sums share one sweep over the data and the
 * results do not depend on the number of threads.
 */
#include <float.h>
#include <string.h>
#include <time.h>

#include "gmm_internal.h"
#include "kmeans_internal.h"
#include "template.h"


#define T float
#define SFX f
#include "gmm.tc"
#undef T
#undef SFX

#define T double
#define SFX d
#include "gmm.tc"
#undef T
#undef SFX


/* ---- helpers ---------------------------------------------------------------- */

static double cpu_seconds(void) { return (double)clock() / CLOCKS_PER_SEC; }

static size_t esize(VlGMM const *self) { return gmm_type_size(self->dataType); }

/* The largest finite value of the object's data type. */
static double max_value(VlGMM const *self)
{
  return self->dataType == VL_TYPE_FLOAT ? (double)FLT_MAX : DBL_MAX;
}

/* Grow the posterior buffer to hold N x K (it never shrinks, as in VLFeat);
 * nothing to do when the object does not keep posteriors. */
static int ensure_posteriors(VlGMM *self, size_t N)
{
  size_t need;
  if (!self->storePosteriors) return VL_ERR_OK;
  if (gmm_mul_size(N, self->numClusters, &need)) return gmm_last_error();
  if (self->posteriors && self->posteriorsCapacity >= need) return VL_ERR_OK;
  {
    void *p = gmm_alloc_array(need, 1, esize(self), 1);
    if (!p) return gmm_last_error();
    gmm_free(self->posteriors);
    self->posteriors = p;
    self->posteriorsCapacity = need;
  }
  return VL_ERR_OK;
}

static void reset(VlGMM *self)
{
  gmm_free(self->posteriors);
  self->posteriors = NULL;
  self->posteriorsCapacity = 0;
  self->numData = 0;
  if (self->kmeansInit && self->kmeansInitIsOwner) {
    gmm_kmeans_delete(self->kmeansInit);
    self->kmeansInit = NULL;
  }
  self->kmeansInitIsOwner = 0;
}

/* ---- validation -------------------------------------------------------------- */

#define CHECK_SELF(fn, ret)                                              \
  do {                                                                   \
    if (!self) {                                                         \
      gmm_error(VL_ERR_BAD_ARG, "%s: the GMM object is NULL", fn);       \
      return ret;                                                        \
    }                                                                    \
  } while (0)

static int check_data(VlGMM const *self, void const *data, size_t N, char const *fn)
{
  size_t nd, nk, bytes;
  if (!data) return gmm_error(VL_ERR_BAD_ARG, "%s: data is NULL", fn);
  if (N == 0) return gmm_error(VL_ERR_BAD_ARG, "%s: numData is 0", fn);
  if (N < self->numClusters)
    return gmm_error(VL_ERR_BAD_ARG, "%s: fewer data points (%zu) than clusters (%zu)", fn, N,
                     self->numClusters);
  if (gmm_mul_size(N, self->dimension, &nd) || gmm_mul_size(N, self->numClusters, &nk) ||
      gmm_mul_size(nd, esize(self), &bytes) || gmm_mul_size(nk, esize(self), &bytes))
    return gmm_error(VL_ERR_OVERFLOW,
                     "%s: numData %zu is too large for dimension %zu and %zu clusters", fn, N,
                     self->dimension, self->numClusters);
  if (!gmm_all_finite(self->dataType, data, nd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: data contains NaN or Inf", fn);
  return VL_ERR_OK;
}

/* The current parameters must be usable by EM (after bounding covariances). */
static int check_params(VlGMM const *self, char const *fn)
{
  size_t const K = self->numClusters, D = self->dimension;
  int any_prior = 0;
  for (size_t k = 0; k < K; ++k) {
    double const p = self->dataType == VL_TYPE_FLOAT ? ((float const *)self->priors)[k]
                                                     : ((double const *)self->priors)[k];
    if (!(p >= 0) || !isfinite(p))
      return gmm_error(VL_ERR_BAD_ARG, "%s: prior %zu is %g (priors must be finite and >= 0)", fn, k, p);
    if (p >= GMM_MIN_PRIOR) any_prior = 1;
  }
  if (!any_prior)
    return gmm_error(VL_ERR_BAD_ARG,
                     "%s: every prior is below 1e-6 (were the parameters initialised?)", fn);
  if (!gmm_all_finite(self->dataType, self->means, K * D))
    return gmm_error(VL_ERR_BAD_ARG, "%s: the means contain NaN or Inf", fn);
  for (size_t k = 0; k < K; ++k)
    for (size_t d = 0; d < D; ++d) {
      double v = self->dataType == VL_TYPE_FLOAT ? ((float const *)self->covariances)[k * D + d]
                                                 : ((double const *)self->covariances)[k * D + d];
      if (v < self->sigmaLowBound[d]) v = self->sigmaLowBound[d];
      if (!(v > 0) || !isfinite(v))
        return gmm_error(VL_ERR_BAD_ARG,
                         "%s: covariance (%zu, %zu) is %g after bounding (must be finite and > 0)",
                         fn, k, d, v);
    }
  return VL_ERR_OK;
}

/* ---- algorithms (dispatch on the data type) ---------------------------------- */

/* EM; *stopped tells whether the iteration callback stopped it (the caller
 * reports VL_ERR_INTERRUPTED once it is done). */
static double em(VlGMM *self, void const *data, size_t N, int *stopped)
{
  double LL;
  *stopped = 0;
  if (ensure_posteriors(self, N) != VL_ERR_OK) return NAN;
  self->numData = N;
  LL = self->dataType == VL_TYPE_FLOAT ? em_f(self, (float const *)data, N, stopped)
                                       : em_d(self, (double const *)data, N, stopped);
  if (!isnan(LL) || gmm_last_error() == VL_ERR_OK) self->LL = LL;
  return LL;
}

static void report_stopped(char const *fn)
{
  gmm_error(VL_ERR_INTERRUPTED, "%s: stopped by the iteration callback (the model is valid)", fn);
}

static int init_rand(VlGMM *self, void const *data, size_t N)
{
  int const f = self->dataType == VL_TYPE_FLOAT;
  double *var = gmm_alloc_array(self->dimension, 1, sizeof(double), 0);
  int err;
  if (!var) return gmm_last_error();
  /* checked before anything changes: a rejected call leaves the object as it was */
  err = f ? rand_variance_f((float const *)data, N, self->dimension, var)
          : rand_variance_d((double const *)data, N, self->dimension, var);
  if (err == VL_ERR_OK) {
    reset(self);
    if ((err = ensure_posteriors(self, N)) == VL_ERR_OK) {
      self->numData = N;
      err = f ? init_rand_f(self, (float const *)data, N, var)
              : init_rand_d(self, (double const *)data, N, var);
    }
  }
  gmm_free(var);
  return err;
}

static int init_kmeans(VlGMM *self, void const *data, size_t N, VlKMeans *kmeansInit)
{
  size_t const K = self->numClusters, D = self->dimension;
  VlKMeans *km, *created = NULL;
  vl_uint32 *assign = NULL;
  double energy;
  int err;

  if (kmeansInit && kmeansInit->dataType != self->dataType)
    return gmm_error(VL_ERR_BAD_ARG,
                     "vl_gmm_init_with_kmeans: the k-means object's data type (%u) differs "
                     "from the GMM's (%u)", (unsigned)kmeansInit->dataType,
                     (unsigned)self->dataType);
  /* The k-means object: the argument, a user object set earlier, or a new
   * default one (as in VLFeat, an owned default object is never reused:
   * reset deletes it). */
  km = kmeansInit ? kmeansInit
                  : (self->kmeansInit && !self->kmeansInitIsOwner ? self->kmeansInit : NULL);
  if (!km) {
    if (!(created = gmm_kmeans_new(self->dataType, VlDistanceL2))) return gmm_last_error();
    created->initialization = VlKMeansRandomSelection;
    created->algorithm = VlKMeansANN;
    created->maxNumIterations = 5;
    created->maxNumComparisons = N / 4 > 10 ? N / 4 : 10;
    created->numTrees = 1;
    created->numRepetitions = 1;
    created->verbosity = self->verbosity;
    km = created;
  }
  /* Cluster and assign first: if that fails, the GMM is unchanged. */
  energy = gmm_kmeans_cluster(km, data, D, N, K);
  err = isnan(energy) ? gmm_last_error() : VL_ERR_OK;
  if (err == VL_ERR_OK && !(assign = gmm_alloc_array(N, 1, sizeof(vl_uint32), 0)))
    err = gmm_last_error();
  if (err == VL_ERR_OK) err = gmm_kmeans_quantize(km, assign, NULL, data, N);
  if (err != VL_ERR_OK) {
    gmm_free(assign);
    gmm_kmeans_delete(created);
    return err;
  }
  reset(self);
  self->kmeansInit = km;
  self->kmeansInitIsOwner = created != NULL;
  if ((err = ensure_posteriors(self, N)) == VL_ERR_OK) {
    self->numData = N;
    memset(self->means, 0, K * D * esize(self));
    memset(self->covariances, 0, K * D * esize(self));
    memset(self->priors, 0, K * esize(self));
    err = self->dataType == VL_TYPE_FLOAT
              ? init_from_assignments_f(self, (float const *)data, N, assign,
                                        (float const *)km->centers)
              : init_from_assignments_d(self, (double const *)data, N, assign,
                                        (double const *)km->centers);
  }
  gmm_free(assign);
  return err;
}

/* ---- create and destroy -------------------------------------------------------- */

static VlGMM *gmm_new(vl_type dataType, size_t D, size_t K)
{
  size_t const es = gmm_type_size(dataType);
  size_t kd;
  VlGMM *self;
  if (gmm_mul_size(K, D, &kd)) return NULL;
  self = gmm_alloc_array(1, 1, sizeof *self, 1);
  if (!self) return NULL;
  self->dataType = dataType;
  self->dimension = D;
  self->numClusters = K;
  self->maxNumIterations = 50;
  self->numRepetitions = 1;
  self->initialization = VlGMMRand;
  self->storePosteriors = 1;
  self->convergence = GMM_CONVERGENCE_EPS;
  self->means = gmm_alloc_array(kd, 1, es, 1);
  self->covariances = gmm_alloc_array(kd, 1, es, 1);
  self->priors = gmm_alloc_array(K, 1, es, 1);
  self->sigmaLowBound = gmm_alloc_array(D, 1, sizeof(double), 0);
  if (!self->means || !self->covariances || !self->priors || !self->sigmaLowBound) {
    gmm_free(self->means);
    gmm_free(self->covariances);
    gmm_free(self->priors);
    gmm_free(self->sigmaLowBound);
    gmm_free(self);
    return NULL;
  }
  for (size_t d = 0; d < D; ++d) self->sigmaLowBound[d] = GMM_DEFAULT_LOWER_BOUND;
  return self;
}

static void gmm_delete(VlGMM *self)
{
  if (!self) return;
  reset(self);
  gmm_free(self->means);
  gmm_free(self->covariances);
  gmm_free(self->priors);
  gmm_free(self->sigmaLowBound);
  gmm_free(self);
}

VL_EXPORT VlGMM *vl_gmm_new(vl_type dataType, vl_size dimension, vl_size numComponents)
{
  gmm_clear_error();
  if (gmm_check_type(dataType, "vl_gmm_new")) return NULL;
  if (dimension == 0 || numComponents == 0) {
    gmm_error(VL_ERR_BAD_ARG, "vl_gmm_new: dimension (%zu) and numComponents (%zu) must be >= 1",
              (size_t)dimension, (size_t)numComponents);
    return NULL;
  }
  return gmm_new(dataType, dimension, numComponents);
}

VL_EXPORT VlGMM *vl_gmm_new_copy(VlGMM const *gmm)
{
  VlGMM const *self = gmm;
  VlGMM *copy;
  size_t es, kd;
  gmm_clear_error();
  CHECK_SELF("vl_gmm_new_copy", NULL);
  es = esize(self);
  kd = self->numClusters * self->dimension;
  copy = gmm_new(self->dataType, self->dimension, self->numClusters);
  if (!copy) return NULL;
  copy->maxNumIterations = self->maxNumIterations;
  copy->numRepetitions = self->numRepetitions;
  copy->verbosity = self->verbosity;
  copy->initialization = self->initialization;
  copy->LL = self->LL;
  copy->storePosteriors = self->storePosteriors;
  copy->convergence = self->convergence;
  copy->callback = self->callback;
  copy->callbackUser = self->callbackUser;
  memcpy(copy->means, self->means, kd * es);
  memcpy(copy->covariances, self->covariances, kd * es);
  memcpy(copy->priors, self->priors, self->numClusters * es);
  memcpy(copy->sigmaLowBound, self->sigmaLowBound, self->dimension * sizeof(double));
  if (self->posteriors) {
    if (ensure_posteriors(copy, self->numData) != VL_ERR_OK) {
      gmm_delete(copy);
      return NULL;
    }
    memcpy(copy->posteriors, self->posteriors, self->numData * self->numClusters * es);
    copy->numData = self->numData;
  }
  /* A user-supplied k-means object is shared (it is not owned by either);
   * an owned default one is an implementation detail and is recreated. */
  if (!self->kmeansInitIsOwner) copy->kmeansInit = self->kmeansInit;
  return copy;
}

VL_EXPORT void vl_gmm_delete(VlGMM *self)
{
  gmm_clear_error();
  gmm_delete(self);
}

VL_EXPORT void vl_gmm_reset(VlGMM *self)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_reset", );
  reset(self);
}

/* ---- processing ------------------------------------------------------------------- */

VL_EXPORT double vl_gmm_em(VlGMM *self, void const *data, vl_size numData)
{
  int stopped;
  double LL;
  gmm_clear_error();
  CHECK_SELF("vl_gmm_em", NAN);
  if (check_data(self, data, numData, "vl_gmm_em") || check_params(self, "vl_gmm_em")) return NAN;
  LL = em(self, data, numData, &stopped);
  if (stopped) report_stopped("vl_gmm_em");
  return LL;
}

VL_EXPORT void vl_gmm_init_with_rand_data(VlGMM *self, void const *data, vl_size numData)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_init_with_rand_data", );
  if (check_data(self, data, numData, "vl_gmm_init_with_rand_data")) return;
  init_rand(self, data, numData);
}

VL_EXPORT void vl_gmm_init_with_kmeans(VlGMM *self, void const *data, vl_size numData,
                                       VlKMeans *kmeansInit)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_init_with_kmeans", );
  if (check_data(self, data, numData, "vl_gmm_init_with_kmeans")) return;
  init_kmeans(self, data, numData, kmeansInit);
}

/* Exchange the parameter and posterior buffers of two objects' worth of storage. */
typedef struct gmm_buffers {
  void *means, *covariances, *priors, *posteriors;
  size_t posteriorsCapacity;
} gmm_buffers;

static void swap_buffers(VlGMM *self, gmm_buffers *b)
{
  gmm_buffers const cur = {self->means, self->covariances, self->priors, self->posteriors,
                           self->posteriorsCapacity};
  self->means = b->means;
  self->covariances = b->covariances;
  self->priors = b->priors;
  self->posteriors = b->posteriors;
  self->posteriorsCapacity = b->posteriorsCapacity;
  *b = cur;
}

static void free_buffers(gmm_buffers *b)
{
  gmm_free(b->means);
  gmm_free(b->covariances);
  gmm_free(b->priors);
  gmm_free(b->posteriors);
  memset(b, 0, sizeof *b);
}

static int alloc_buffers(VlGMM const *self, size_t N, gmm_buffers *b)
{
  size_t const es = esize(self), K = self->numClusters, D = self->dimension;
  memset(b, 0, sizeof *b);
  b->means = gmm_alloc_array(K, D, es, 1);
  b->covariances = gmm_alloc_array(K, D, es, 1);
  b->priors = gmm_alloc_array(K, 1, es, 1);
  /* no posterior buffer when the object keeps none (N = 0) */
  b->posteriors = N ? gmm_alloc_array(N, K, es, 1) : NULL;
  b->posteriorsCapacity = N * K;
  if (!b->means || !b->covariances || !b->priors || (N && !b->posteriors)) {
    free_buffers(b);
    return gmm_last_error();
  }
  return VL_ERR_OK;
}

VL_EXPORT double vl_gmm_cluster(VlGMM *self, void const *data, vl_size numData)
{
  size_t const R = self ? self->numRepetitions : 1;
  gmm_buffers best, custom;
  double bestLL = NAN;
  int const custom_init = self && self->initialization == VlGMMCustom;
  int have_best = 0, stopped = 0;

  gmm_clear_error();
  CHECK_SELF("vl_gmm_cluster", NAN);
  if (check_data(self, data, numData, "vl_gmm_cluster")) return NAN;
  if (custom_init && check_params(self, "vl_gmm_cluster")) return NAN;
  memset(&best, 0, sizeof best);
  memset(&custom, 0, sizeof custom);
  if (R > 1 && alloc_buffers(self, self->storePosteriors ? numData : 0, &best) != VL_ERR_OK)
    return NAN;
  if (R > 1 && custom_init) {
    /* Every repetition starts from the user's parameters (VLFeat ran the
     * later ones on uninitialised memory). */
    size_t const es = esize(self), kd = self->numClusters * self->dimension;
    if (alloc_buffers(self, 0, &custom) != VL_ERR_OK) {
      free_buffers(&best);
      return NAN;
    }
    memcpy(custom.means, self->means, kd * es);
    memcpy(custom.covariances, self->covariances, kd * es);
    memcpy(custom.priors, self->priors, self->numClusters * es);
  }

  for (size_t r = 0; r < R && !stopped; ++r) {
    double LL, t0 = cpu_seconds();
    int err = VL_ERR_OK;
    if (self->verbosity) gmm_printf("gmm: clustering: starting repetition %zu of %zu", r + 1, R);
    switch (self->initialization) {
      case VlGMMKMeans: err = init_kmeans(self, data, numData, NULL); break;
      case VlGMMRand: err = init_rand(self, data, numData); break;
      case VlGMMCustom:
        if (r > 0) {
          size_t const es = esize(self), kd = self->numClusters * self->dimension;
          memcpy(self->means, custom.means, kd * es);
          memcpy(self->covariances, custom.covariances, kd * es);
          memcpy(self->priors, custom.priors, self->numClusters * es);
        }
        break;
    }
    if (err != VL_ERR_OK) {
      free_buffers(&best);
      free_buffers(&custom);
      return NAN;
    }
    if (self->verbosity) gmm_printf("gmm: model initialized in %.2f s", cpu_seconds() - t0);
    t0 = cpu_seconds();
    LL = em(self, data, numData, &stopped);
    if (isnan(LL) && gmm_last_error() != VL_ERR_OK) {
      free_buffers(&best);
      free_buffers(&custom);
      return NAN;
    }
    if (self->verbosity)
      gmm_printf("gmm: optimization terminated in %.2f s with loglikelihood %f",
                 cpu_seconds() - t0, LL);
    if (!have_best || LL > bestLL) {
      bestLL = LL;
      have_best = 1;
      /* The best run's buffers are kept aside; the next run overwrites the others. */
      if (R > 1) swap_buffers(self, &best);
    }
  }
  if (R > 1) {
    swap_buffers(self, &best);
    self->numData = numData;
  }
  free_buffers(&best);
  free_buffers(&custom);
  if (self->verbosity) gmm_printf("gmm: all repetitions terminated with final loglikelihood %f", bestLL);
  self->LL = bestLL;
  if (stopped) report_stopped("vl_gmm_cluster");
  return bestLL;
}

/* ---- set parameters ---------------------------------------------------------------- */

static int set_array(VlGMM *self, void *dst, void const *src, size_t n, char const *fn,
                     char const *what, int positive, int nonneg)
{
  if (!src) return gmm_error(VL_ERR_BAD_ARG, "%s: %s is NULL", fn, what);
  if (!gmm_all_finite(self->dataType, src, n))
    return gmm_error(VL_ERR_BAD_ARG, "%s: %s contain NaN or Inf", fn, what);
  for (size_t j = 0; (positive || nonneg) && j < n; ++j) {
    double const v = self->dataType == VL_TYPE_FLOAT ? ((float const *)src)[j]
                                                     : ((double const *)src)[j];
    if (nonneg && v < 0)
      return gmm_error(VL_ERR_BAD_ARG, "%s: %s[%zu] = %g is negative", fn, what, j, v);
    if (positive && !(v > 0))
      return gmm_error(VL_ERR_BAD_ARG, "%s: %s[%zu] = %g is not positive", fn, what, j, v);
  }
  memcpy(dst, src, n * esize(self));
  return VL_ERR_OK;
}

VL_EXPORT void vl_gmm_set_means(VlGMM *self, void const *means)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_means", );
  set_array(self, self->means, means, self->numClusters * self->dimension, "vl_gmm_set_means",
            "means", 0, 0);
}

VL_EXPORT void vl_gmm_set_covariances(VlGMM *self, void const *covariances)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_covariances", );
  set_array(self, self->covariances, covariances, self->numClusters * self->dimension,
            "vl_gmm_set_covariances", "covariances", 0, 1);
}

VL_EXPORT void vl_gmm_set_priors(VlGMM *self, void const *priors)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_priors", );
  set_array(self, self->priors, priors, self->numClusters, "vl_gmm_set_priors", "priors", 0, 1);
}

VL_EXPORT void vl_gmm_set_num_repetitions(VlGMM *self, vl_size numRepetitions)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_num_repetitions", );
  if (numRepetitions == 0) {
    gmm_error(VL_ERR_BAD_ARG, "vl_gmm_set_num_repetitions: must be >= 1");
    return;
  }
  self->numRepetitions = numRepetitions;
}

VL_EXPORT void vl_gmm_set_max_num_iterations(VlGMM *self, vl_size maxNumIterations)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_max_num_iterations", );
  self->maxNumIterations = maxNumIterations;
}

VL_EXPORT void vl_gmm_set_verbosity(VlGMM *self, int verbosity)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_verbosity", );
  self->verbosity = verbosity;
}

VL_EXPORT void vl_gmm_set_initialization(VlGMM *self, VlGMMInitialization init)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_initialization", );
  if (init != VlGMMKMeans && init != VlGMMRand && init != VlGMMCustom) {
    gmm_error(VL_ERR_BAD_ARG,
              "vl_gmm_set_initialization: unknown method %d (VlGMMKMeans=0, VlGMMRand=1, "
              "VlGMMCustom=2)", (int)init);
    return;
  }
  self->initialization = init;
}

VL_EXPORT void vl_gmm_set_kmeans_init_object(VlGMM *self, VlKMeans *kmeans)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_kmeans_init_object", );
  if (kmeans && kmeans->dataType != self->dataType) {
    gmm_error(VL_ERR_BAD_ARG,
              "vl_gmm_set_kmeans_init_object: the k-means object's data type (%u) differs "
              "from the GMM's (%u)", (unsigned)kmeans->dataType, (unsigned)self->dataType);
    return;
  }
  if (self->kmeansInit && self->kmeansInitIsOwner) gmm_kmeans_delete(self->kmeansInit);
  self->kmeansInit = kmeans;
  self->kmeansInitIsOwner = 0;
}

VL_EXPORT void vl_gmm_set_covariance_lower_bounds(VlGMM *self, double const *bounds)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_covariance_lower_bounds", );
  if (!bounds) {
    gmm_error(VL_ERR_BAD_ARG, "vl_gmm_set_covariance_lower_bounds: bounds is NULL");
    return;
  }
  for (size_t d = 0; d < self->dimension; ++d)
    if (!(bounds[d] >= 0) || !(bounds[d] <= max_value(self))) {
      gmm_error(VL_ERR_BAD_ARG,
                "vl_gmm_set_covariance_lower_bounds: bound %zu is %g (must be finite and >= 0, and fit in "
                "the data type)",
                d, bounds[d]);
      return;
    }
  memcpy(self->sigmaLowBound, bounds, self->dimension * sizeof(double));
}

VL_EXPORT void vl_gmm_set_covariance_lower_bound(VlGMM *self, double bound)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_covariance_lower_bound", );
  if (!(bound >= 0) || !(bound <= max_value(self))) {
    gmm_error(VL_ERR_BAD_ARG,
              "vl_gmm_set_covariance_lower_bound: bound is %g (must be finite and >= 0, and fit in the "
              "data type)", bound);
    return;
  }
  for (size_t d = 0; d < self->dimension; ++d) self->sigmaLowBound[d] = bound;
}

VL_EXPORT void vl_gmm_set_iteration_callback(VlGMM *self, vl_iteration_callback callback,
                                             void *user)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_iteration_callback", );
  self->callback = callback;
  self->callbackUser = user;
}

VL_EXPORT void vl_gmm_set_store_posteriors(VlGMM *self, vl_bool store)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_store_posteriors", );
  self->storePosteriors = store != 0;
  if (!store) {
    gmm_free(self->posteriors);
    self->posteriors = NULL;
    self->posteriorsCapacity = 0;
  }
}

VL_EXPORT void vl_gmm_set_convergence_threshold(VlGMM *self, double threshold)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_set_convergence_threshold", );
  if (!(threshold >= 0) || !isfinite(threshold)) {
    gmm_error(VL_ERR_BAD_ARG, "vl_gmm_set_convergence_threshold: %g (must be finite and >= 0)",
              threshold);
    return;
  }
  self->convergence = threshold;
}

/* ---- get parameters ----------------------------------------------------------------- */

#define GETTER(ret_t, name, expr, fail)                  \
  VL_EXPORT ret_t vl_gmm_get_##name(VlGMM const *self)   \
  {                                                      \
    gmm_clear_error();                                   \
    CHECK_SELF("vl_gmm_get_" #name, fail);               \
    return expr;                                         \
  }

GETTER(void const *, means, self->means, NULL)
GETTER(void const *, covariances, self->covariances, NULL)
GETTER(void const *, priors, self->priors, NULL)
GETTER(void const *, posteriors, self->posteriors, NULL)
GETTER(vl_type, data_type, self->dataType, 0)
GETTER(vl_size, dimension, self->dimension, 0)
GETTER(vl_size, num_repetitions, self->numRepetitions, 0)
GETTER(vl_size, num_data, self->numData, 0)
GETTER(vl_size, num_clusters, self->numClusters, 0)
GETTER(double, loglikelihood, self->LL, NAN)
GETTER(int, verbosity, self->verbosity, 0)
GETTER(vl_size, max_num_iterations, self->maxNumIterations, 0)
GETTER(VlGMMInitialization, initialization, self->initialization, VlGMMRand)
GETTER(VlKMeans *, kmeans_init_object, self->kmeansInit, NULL)
GETTER(double const *, covariance_lower_bounds, self->sigmaLowBound, NULL)
GETTER(vl_bool, store_posteriors, self->storePosteriors, 0)
GETTER(double, convergence_threshold, self->convergence, NAN)

/* ---- stateless E-step ------------------------------------------------------------------ */

static double posteriors_any(vl_type type, void *posteriors, size_t K, size_t N,
                             void const *priors, void const *means, size_t D,
                             void const *covariances, void const *data, char const *fn)
{
  gmm_eparams ep;
  double LL;
  size_t const es = gmm_type_size(type);
  size_t kd, nd, nk, bytes;
  if (!posteriors || !priors || !means || !covariances || (!data && N))
    return gmm_error(VL_ERR_BAD_ARG, "%s: NULL array argument", fn), NAN;
  if (K == 0 || D == 0)
    return gmm_error(VL_ERR_BAD_ARG, "%s: numClusters (%zu) and dimension (%zu) must be >= 1",
                     fn, K, D), NAN;
  /* element counts and byte sizes (an array larger than memory cannot exist) */
  if (gmm_mul_size(K, D, &kd) || gmm_mul_size(N, D, &nd) || gmm_mul_size(N, K, &nk) ||
      gmm_mul_size(kd, es, &bytes) || gmm_mul_size(nd, es, &bytes) || gmm_mul_size(nk, es, &bytes))
    return NAN;
  if (N == 0) return 0;
  if (!gmm_all_finite(type, data, nd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: data contains NaN or Inf", fn), NAN;
  if (!gmm_all_finite(type, means, kd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: means contain NaN or Inf", fn), NAN;
  {
    int any = 0;
    for (size_t j = 0; j < kd; ++j) {
      double const v = type == VL_TYPE_FLOAT ? ((float const *)covariances)[j]
                                             : ((double const *)covariances)[j];
      if (!(v > 0) || !isfinite(v))
        return gmm_error(VL_ERR_BAD_ARG, "%s: covariance %zu is %g (must be finite and > 0)",
                         fn, j, v), NAN;
    }
    for (size_t k = 0; k < K; ++k) {
      double const p = type == VL_TYPE_FLOAT ? ((float const *)priors)[k]
                                             : ((double const *)priors)[k];
      if (!(p >= 0) || !isfinite(p))
        return gmm_error(VL_ERR_BAD_ARG, "%s: prior %zu is %g (must be finite and >= 0)", fn,
                         k, p), NAN;
      any |= p >= GMM_MIN_PRIOR;
    }
    if (!any) return gmm_error(VL_ERR_BAD_ARG, "%s: every prior is below 1e-6", fn), NAN;
  }
  if (gmm_eparams_alloc(&ep, type, K, D) != VL_ERR_OK) return NAN;
  gmm_eparams_set(&ep, priors, means, covariances);
  LL = gmm_estep(&ep, data, N, posteriors);
  gmm_eparams_free(&ep);
  return LL;
}

VL_EXPORT double vl_get_gmm_data_posteriors_f(float *posteriors, vl_size numClusters,
                                              vl_size numData, float const *priors,
                                              float const *means, vl_size dimension,
                                              float const *covariances, float const *data)
{
  gmm_clear_error();
  return posteriors_any(VL_TYPE_FLOAT, posteriors, numClusters, numData, priors, means,
                        dimension, covariances, data, "vl_get_gmm_data_posteriors_f");
}

VL_EXPORT double vl_get_gmm_data_posteriors_d(double *posteriors, vl_size numClusters,
                                              vl_size numData, double const *priors,
                                              double const *means, vl_size dimension,
                                              double const *covariances, double const *data)
{
  gmm_clear_error();
  return posteriors_any(VL_TYPE_DOUBLE, posteriors, numClusters, numData, priors, means,
                        dimension, covariances, data, "vl_get_gmm_data_posteriors_d");
}

/* ---- EM by sufficient statistics ------------------------------------------------- */

/* A gmm_stats view of a flat statistics buffer (no copy). */
static gmm_stats stats_view(VlGMM const *self, double *buf)
{
  size_t const K = self->numClusters, KD = K * self->dimension;
  gmm_stats st;
  memset(&st, 0, sizeof st);
  st.K = K;
  st.D = self->dimension;
  st.s0 = buf;
  st.s0all = buf + K;
  st.s1 = buf + 2 * K;
  st.s2 = buf + 2 * K + KD;
  st.ll = buf[2 * K + 2 * KD];
  st.n = buf[2 * K + 2 * KD + 1];
  return st;
}

static size_t stats_size(VlGMM const *self)
{
  return 2 * self->numClusters + 2 * self->numClusters * self->dimension + 2;
}

VL_EXPORT vl_size vl_gmm_stats_size(VlGMM const *self)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_stats_size", 0);
  return stats_size(self);
}

/* Splits given as doubles -> gmm_split, validated. */
static int read_splits(VlGMM const *self, double const *splits, size_t n, gmm_split *out,
                       char const *fn)
{
  size_t const K = self->numClusters, D = self->dimension;
  for (size_t r = 0; r < n; ++r) {
    double const *s = splits + 4 * r;
    if (!(s[0] >= 0 && s[0] < (double)K && s[1] >= 0 && s[1] < (double)K && s[2] >= 0 &&
          s[2] < (double)D) || s[0] != floor(s[0]) || s[1] != floor(s[1]) ||
        s[2] != floor(s[2]) || s[0] == s[1] || isnan(s[3]))
      return gmm_error(VL_ERR_BAD_ARG,
                       "%s: split %zu (%g, %g, %g, %g) is not (empty mode < K, split mode < K, "
                       "dimension < D, threshold)", fn, r, s[0], s[1], s[2], s[3]);
    out[r].empty = (size_t)s[0];
    out[r].split = (size_t)s[1];
    out[r].dim = (size_t)s[2];
    out[r].tau = s[3];
  }
  return VL_ERR_OK;
}

VL_EXPORT int vl_gmm_stats_accumulate(VlGMM const *self, double *stats, void const *data,
                                      vl_size numData, void const *ref, double const *splits,
                                      vl_size numSplits)
{
  static char const fn[] = "vl_gmm_stats_accumulate";
  size_t const K = self ? self->numClusters : 0, D = self ? self->dimension : 0;
  size_t const es = self ? esize(self) : 0;
  gmm_split *sp = NULL;
  void *covs = NULL;
  gmm_eparams ep;
  gmm_pass pass;
  gmm_stats st, acc;
  size_t nd, bytes;
  int err;

  gmm_clear_error();
  CHECK_SELF(fn, VL_ERR_BAD_ARG);
  if (!stats) return gmm_error(VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  if (numData && !data) return gmm_error(VL_ERR_BAD_ARG, "%s: data is NULL", fn);
  if (numSplits && !splits) return gmm_error(VL_ERR_BAD_ARG, "%s: splits is NULL", fn);
  if (gmm_mul_size(numData, D, &nd) || gmm_mul_size(nd, es, &bytes)) return gmm_last_error();
  if (numData && !gmm_all_finite(self->dataType, data, nd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: data contains NaN or Inf", fn);
  if (ref && !gmm_all_finite(self->dataType, ref, K * D))
    return gmm_error(VL_ERR_BAD_ARG, "%s: ref contains NaN or Inf", fn);
  if ((err = check_params(self, fn))) return err;
  if (numData == 0) return VL_ERR_OK;
  if (numSplits) {
    if (!(sp = gmm_alloc_array(numSplits, 1, sizeof *sp, 0))) return gmm_last_error();
    if ((err = read_splits(self, splits, numSplits, sp, fn))) goto done_sp;
  }
  /* E-step parameters with the covariances raised to their bounds, as EM does. */
  if (!(covs = gmm_alloc_array(K, D, es, 0))) {
    err = gmm_last_error();
    goto done_sp;
  }
  memcpy(covs, self->covariances, K * D * es);
  for (size_t k = 0; k < K; ++k)
    for (size_t d = 0; d < D; ++d) {
      size_t const j = k * D + d;
      if (self->dataType == VL_TYPE_FLOAT) {
        float *c = (float *)covs;
        if (c[j] < self->sigmaLowBound[d]) c[j] = (float)self->sigmaLowBound[d];
      } else {
        double *c = (double *)covs;
        if (c[j] < self->sigmaLowBound[d]) c[j] = self->sigmaLowBound[d];
      }
    }
  if ((err = gmm_eparams_alloc(&ep, self->dataType, K, D))) goto done_covs;
  gmm_eparams_set(&ep, self->priors, self->means, covs);
  if ((err = gmm_pass_init(&pass, self->dataType, K, D, numData, &ep))) goto done_ep;
  if ((err = gmm_stats_alloc(&acc, K, D))) goto done_pass;
  {
    gmm_pass_opts const opts = {GMM_MIN_POSTERIOR / (double)K, 0, 0, sp, numSplits};
    gmm_pass_run(&pass, &ep, data, NULL, ref ? ref : self->means, &opts, &acc);
  }
  st = stats_view(self, stats);
  gmm_stats_add(&st, &acc);
  stats[2 * K + 2 * K * D] = st.ll;
  stats[2 * K + 2 * K * D + 1] = st.n;
  gmm_stats_free(&acc);
done_pass:
  gmm_pass_free(&pass);
done_ep:
  gmm_eparams_free(&ep);
done_covs:
  gmm_free(covs);
done_sp:
  gmm_free(sp);
  return err;
}

VL_EXPORT int vl_gmm_stats_merge(VlGMM const *self, double *dst, double const *src)
{
  gmm_clear_error();
  CHECK_SELF("vl_gmm_stats_merge", VL_ERR_BAD_ARG);
  if (!dst || !src) return gmm_error(VL_ERR_BAD_ARG, "vl_gmm_stats_merge: NULL buffer");
  for (size_t j = 0, n = stats_size(self); j < n; ++j) dst[j] += src[j];
  return VL_ERR_OK;
}

VL_EXPORT int vl_gmm_mstep_from_stats(VlGMM *self, double const *stats, void const *ref)
{
  static char const fn[] = "vl_gmm_mstep_from_stats";
  size_t n;
  gmm_stats st;
  gmm_clear_error();
  CHECK_SELF(fn, VL_ERR_BAD_ARG);
  if (!stats) return gmm_error(VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  n = stats_size(self);
  for (size_t j = 0; j < n; ++j)
    if (!isfinite(stats[j]))
      return gmm_error(VL_ERR_BAD_ARG, "%s: stats[%zu] is %g", fn, j, stats[j]);
  for (size_t k = 0; k < 2 * self->numClusters; ++k)
    if (stats[k] < 0) return gmm_error(VL_ERR_BAD_ARG, "%s: negative mass stats[%zu]", fn, k);
  if (ref && !gmm_all_finite(self->dataType, ref, self->numClusters * self->dimension))
    return gmm_error(VL_ERR_BAD_ARG, "%s: ref contains NaN or Inf", fn);
  st = stats_view(self, (double *)stats); /* read only */
  if (!ref) ref = self->means;
  if (self->dataType == VL_TYPE_FLOAT)
    mstep_f(self, &st, (float const *)ref);
  else
    mstep_d(self, &st, (double const *)ref);
  return VL_ERR_OK;
}

VL_EXPORT vl_size vl_gmm_plan_restart(VlGMM const *self, double const *mass, vl_size numData,
                                      vl_size start, double *split)
{
  static char const fn[] = "vl_gmm_plan_restart";
  gmm_split sp;
  size_t next;
  gmm_clear_error();
  CHECK_SELF(fn, 0);
  if (!mass || !split) return gmm_error(VL_ERR_BAD_ARG, "%s: NULL argument", fn), 0;
  next = self->dataType == VL_TYPE_FLOAT ? plan_restart_f(self, mass, numData, start, &sp)
                                         : plan_restart_d(self, mass, numData, start, &sp);
  if (next) {
    split[0] = (double)sp.empty;
    split[1] = (double)sp.split;
    split[2] = (double)sp.dim;
    split[3] = sp.tau;
  }
  return next;
}

/* ---- E-step on the object's parameters ----------------------------------------- */

VL_EXPORT double vl_gmm_estep(VlGMM const *self, void const *data, vl_size numData,
                              void *posteriors, double *loglikelihoods, vl_uint32 *labels)
{
  static char const fn[] = "vl_gmm_estep";
  size_t const K = self ? self->numClusters : 0, D = self ? self->dimension : 0;
  size_t const es = self ? esize(self) : 0;
  size_t nd, nk, nblocks, bytes;
  gmm_eparams ep;
  gmm_ework *ws;
  double *block_ll, total = 0;
  gmm_kernels const *kern = gmm_kernels_get();
  int nt;

  gmm_clear_error();
  CHECK_SELF(fn, NAN);
  if (numData && !data) return gmm_error(VL_ERR_BAD_ARG, "%s: data is NULL", fn), NAN;
  if (gmm_mul_size(numData, D, &nd) || gmm_mul_size(numData, K, &nk) ||
      gmm_mul_size(nd, es, &bytes) || gmm_mul_size(nk, es, &bytes))
    return NAN;
  if (numData && !gmm_all_finite(self->dataType, data, nd))
    return gmm_error(VL_ERR_BAD_ARG, "%s: data contains NaN or Inf", fn), NAN;
  if (check_params(self, fn)) return NAN;
  if (numData == 0) return 0;
  if (gmm_eparams_alloc(&ep, self->dataType, K, D) != VL_ERR_OK) return NAN;
  {
    /* covariances raised to their bounds, as EM uses them */
    void *covs = gmm_alloc_array(K, D, es, 0);
    if (!covs) {
      gmm_eparams_free(&ep);
      return NAN;
    }
    for (size_t j = 0; j < K * D; ++j) {
      double const lb = self->sigmaLowBound[j % D];
      if (self->dataType == VL_TYPE_FLOAT) {
        float const v = ((float const *)self->covariances)[j];
        ((float *)covs)[j] = v < lb ? (float)lb : v;
      } else {
        double const v = ((double const *)self->covariances)[j];
        ((double *)covs)[j] = v < lb ? lb : v;
      }
    }
    gmm_eparams_set(&ep, self->priors, self->means, covs);
    gmm_free(covs);
  }
  nt = gmm_num_threads();
  nblocks = (numData + GMM_EBLOCK - 1) / GMM_EBLOCK;
  block_ll = gmm_alloc_array(nblocks, 1, sizeof(double), 0);
  ws = block_ll ? gmm_ework_alloc_n(&ep, nt) : NULL;
  if (!ws) {
    gmm_free(block_ll);
    gmm_eparams_free(&ep);
    return NAN;
  }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nblocks > 1)
#endif
  for (size_t b = 0; b < nblocks; ++b) {
    gmm_ework *w = &ws[gmm_thread_id()];
    size_t const i0 = b * GMM_EBLOCK;
    size_t const n = numData - i0 < GMM_EBLOCK ? numData - i0 : GMM_EBLOCK;
    void *q = posteriors ? (char *)posteriors + i0 * K * es : w->tile;
    size_t const ldq = posteriors ? K : ep.kp;
    block_ll[b] = gmm_estep_block(&ep, kern, (char const *)data + i0 * D * es, n, w, q, ldq,
                                  loglikelihoods ? loglikelihoods + i0 : NULL);
    if (labels) {
      for (size_t i = 0; i < n; ++i) {
        size_t best = 0;
        if (self->dataType == VL_TYPE_FLOAT) {
          float const *qi = (float const *)q + i * ldq;
          for (size_t k = 1; k < K; ++k)
            if (qi[k] > qi[best]) best = k;
        } else {
          double const *qi = (double const *)q + i * ldq;
          for (size_t k = 1; k < K; ++k)
            if (qi[k] > qi[best]) best = k;
        }
        labels[i0 + i] = (vl_uint32)best;
      }
    }
  }
  for (size_t b = 0; b < nblocks; ++b) total += block_ll[b];
  gmm_ework_free_n(ws, nt);
  gmm_free(block_ll);
  gmm_eparams_free(&ep);
  return total;
}
