/* gmm_object.c: the VlGMM object's lifecycle: creation, deletion, deep
 * copies, the covariance type, and vl_gmm_cluster (initialise and run EM
 * numRepetitions times, keep the best). Type-independent: everything
 * numeric is reached through the gmm_model_* functions of gmm.c. */
#include <string.h>
#include <time.h>

#include "core/gmm.h"
#include "core/kmeans.h"

static double cpu_seconds(void) { return (double)clock() / CLOCKS_PER_SEC; }

static size_t esize(VlGMM const *self) { return gmm_type_size(self->dataType); }

/* ---- create and destroy -------------------------------------------------------- */

VlGMM *gmm_model_new(vl_type dataType, size_t D, size_t K)
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
  self->covType = VlGMMDiagonal;
  self->covSize = kd;
  if (!(self->means = gmm_alloc_array(kd, 1, es, 1)) ||
      !(self->covariances = gmm_alloc_array(kd, 1, es, 1)) ||
      !(self->priors = gmm_alloc_array(K, 1, es, 1)) ||
      !(self->sigmaLowBound = gmm_alloc_array(D, 1, sizeof(double), 0))) {
    gmm_model_delete(self);
    return NULL;
  }
  for (size_t d = 0; d < D; ++d) self->sigmaLowBound[d] = GMM_DEFAULT_LOWER_BOUND;
  return self;
}

void gmm_model_delete(VlGMM *self)
{
  if (!self) return;
  gmm_model_reset(self);
  gmm_free(self->means);
  gmm_free(self->covariances);
  gmm_free(self->priors);
  gmm_free(self->sigmaLowBound);
  gmm_free(self);
}

VlGMM *gmm_model_copy(VlGMM const *self)
{
  size_t const es = esize(self), kd = self->numClusters * self->dimension;
  VlGMM *copy = gmm_model_new(self->dataType, self->dimension, self->numClusters);
  if (!copy) return NULL;
  if (gmm_model_set_covariance_type(copy, self->covType) != VL_ERR_OK) {
    gmm_model_delete(copy);
    return NULL;
  }
  copy->regCovar = self->regCovar;
  copy->exactEM = self->exactEM;
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
  memcpy(copy->covariances, self->covariances, self->covSize * es);
  memcpy(copy->priors, self->priors, self->numClusters * es);
  memcpy(copy->sigmaLowBound, self->sigmaLowBound, self->dimension * sizeof(double));
  if (self->posteriors) {
    if (gmm_model_ensure_posteriors(copy, self->numData) != VL_ERR_OK) {
      gmm_model_delete(copy);
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
  b->covariances = gmm_alloc_array(self->covSize, 1, es, 1);
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

/* Arguments and (custom) parameters checked by the caller. */
double gmm_model_cluster(VlGMM *self, void const *data, size_t numData)
{
  size_t const R = self->numRepetitions;
  size_t const es = esize(self), kd = self->numClusters * self->dimension, cs = self->covSize;
  gmm_buffers best, custom;
  double bestLL = NAN;
  int const custom_init = self->initialization == VlGMMCustom;
  int have_best = 0, stopped = 0, err = VL_ERR_OK;

  memset(&best, 0, sizeof best);
  memset(&custom, 0, sizeof custom);
  if (R > 1 && (err = alloc_buffers(self, self->storePosteriors ? numData : 0, &best)))
    goto done;
  if (R > 1 && custom_init) {
    /* Every repetition starts from the user's parameters (VLFeat ran the
     * later ones on uninitialised memory). */
    if ((err = alloc_buffers(self, 0, &custom))) goto done;
    memcpy(custom.means, self->means, kd * es);
    memcpy(custom.covariances, self->covariances, cs * es);
    memcpy(custom.priors, self->priors, self->numClusters * es);
  }

  for (size_t r = 0; r < R && !stopped; ++r) {
    double LL, t0 = cpu_seconds();
    if (self->verbosity) gmm_printf("gmm: clustering: starting repetition %zu of %zu", r + 1, R);
    switch (self->initialization) {
      case VlGMMKMeans: err = gmm_model_init_kmeans(self, data, numData, NULL); break;
      case VlGMMRand: err = gmm_model_init_rand(self, data, numData); break;
      case VlGMMCustom:
        if (r > 0) {
          memcpy(self->means, custom.means, kd * es);
          memcpy(self->covariances, custom.covariances, cs * es);
          memcpy(self->priors, custom.priors, self->numClusters * es);
        }
        break;
    }
    if (err) goto done;
    if (self->verbosity) gmm_printf("gmm: model initialized in %.2f s", cpu_seconds() - t0);
    t0 = cpu_seconds();
    LL = gmm_model_em(self, data, numData, &stopped);
    if (isnan(LL) && (err = gmm_last_error())) goto done;
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
  if (self->verbosity) gmm_printf("gmm: all repetitions terminated with final loglikelihood %f", bestLL);
  self->LL = bestLL;
  if (stopped) gmm_model_report_stopped("vl_gmm_cluster");
done:
  free_buffers(&best);
  free_buffers(&custom);
  return err ? NAN : bestLL;
}

int gmm_model_set_covariance_type(VlGMM *self, int type)
{
  size_t const K = self->numClusters, D = self->dimension, es = esize(self);
  size_t size, bytes;
  void *covs;
  switch (type) {
    case VlGMMDiagonal: size = K * D; break;
    case VlGMMSpherical: size = K; break;
    case VlGMMTied:
      if (gmm_mul_size(D, D, &size)) return gmm_last_error();
      break;
    case VlGMMFull:
      if (gmm_mul_size(K * D, D, &size)) return gmm_last_error();
      break;
    default:
      return gmm_error(VL_ERR_BAD_ARG,
                       "vl_gmm_set_covariance_type: unknown type %d (VlGMMDiagonal=0, "
                       "VlGMMFull=1, VlGMMTied=2, VlGMMSpherical=3)", type);
  }
  if (gmm_mul_size(size, es, &bytes)) return gmm_last_error();
  if (!(covs = gmm_alloc_array(size, 1, es, 1))) return gmm_last_error();
  gmm_free(self->covariances);
  self->covariances = covs;
  self->covSize = size;
  self->covType = type;
  memset(self->means, 0, K * D * es);
  memset(self->priors, 0, K * es);
  gmm_model_reset(self);
  self->LL = 0;
  return VL_ERR_OK;
}
