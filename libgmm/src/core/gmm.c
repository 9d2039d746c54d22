/* gmm.c: the VlGMM object: lifecycle, checks, the EM and cluster drivers,
 * initialisations, E-steps and EM by sufficient statistics. Type-independent:
 * the numerics are in gmm.tc, reached through GMM_DISPATCH.
 *
 * EM follows VLFeat 0.9.21 (docs/vlfeat-differences.md lists where we
 * differ on purpose): the E-step of estep.h, an M-step that ignores
 * posteriors below 1e-2/K, covariance lower bounds, restarts of nearly
 * empty modes, a relative log-likelihood convergence test of 1e-5, and the
 * best of N repetitions. The work is done in passes over fixed blocks of
 * points (pass.h), so the E-step and the M-step's sums share one sweep over
 * the data and the results do not depend on the number of threads.
 */
#include <float.h>
#include <string.h>
#include <time.h>

#include "core/gmm.h"
#include "core/kmeans.h"

#define GMM_TEMPLATE "core/gmm.tc"
#include "util/instantiate.h"

/* ---- helpers ---------------------------------------------------------------- */

static double cpu_seconds(void) { return (double)clock() / CLOCKS_PER_SEC; }

static size_t esize(VlGMM const *self) { return gmm_type_size(self->dataType); }

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

void gmm_model_reset(VlGMM *self)
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

/* ---- checks -------------------------------------------------------------------- */

int gmm_model_check_data(VlGMM const *self, void const *data, size_t N, char const *fn)
{
  size_t nd, nk, bytes;
  GMM_REQUIRE(data, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: data is NULL", fn);
  GMM_REQUIRE(N, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: numData is 0", fn);
  GMM_REQUIRE(N >= self->numClusters, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: fewer data points (%zu) than clusters (%zu)", fn, N, self->numClusters);
  if (gmm_mul_size(N, self->dimension, &nd) || gmm_mul_size(N, self->numClusters, &nk) ||
      gmm_mul_size(nd, esize(self), &bytes) || gmm_mul_size(nk, esize(self), &bytes))
    return gmm_error(VL_ERR_OVERFLOW,
                     "%s: numData %zu is too large for dimension %zu and %zu clusters", fn, N,
                     self->dimension, self->numClusters);
  GMM_REQUIRE(gmm_all_finite(self->dataType, data, nd), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: data contains NaN or Inf", fn);
  return VL_ERR_OK;
}

int gmm_model_check_params(VlGMM const *self, char const *fn)
{
  return gmm_check_gmm_params(fn, self->dataType, self->numClusters, self->dimension,
                              self->means, self->covariances, self->priors, self->sigmaLowBound,
                              1, NULL);
}

/* ---- EM and initialisations -------------------------------------------------------- */

void gmm_model_report_stopped(char const *fn)
{
  gmm_error(VL_ERR_INTERRUPTED, "%s: stopped by the iteration callback (the model is valid)", fn);
}

double gmm_model_em(VlGMM *self, void const *data, size_t N, int *stopped)
{
  double LL;
  *stopped = 0;
  if (ensure_posteriors(self, N) != VL_ERR_OK) return NAN;
  self->numData = N;
  LL = GMM_DISPATCH(self->dataType, em, self, data, N, stopped);
  if (!isnan(LL) || gmm_last_error() == VL_ERR_OK) self->LL = LL;
  return LL;
}

int gmm_model_init_rand(VlGMM *self, void const *data, size_t N)
{
  double *var = gmm_alloc_array(self->dimension, 1, sizeof(double), 0);
  int err;
  if (!var) return gmm_last_error();
  /* checked before anything changes: a rejected call leaves the object as it was */
  err = GMM_DISPATCH(self->dataType, rand_variance, data, N, self->dimension, var);
  if (err == VL_ERR_OK) {
    gmm_model_reset(self);
    if ((err = ensure_posteriors(self, N)) == VL_ERR_OK) {
      self->numData = N;
      err = GMM_DISPATCH(self->dataType, init_rand, self, data, N, var);
    }
  }
  gmm_free(var);
  return err;
}

int gmm_model_init_kmeans(VlGMM *self, void const *data, size_t N, VlKMeans *kmeansInit)
{
  size_t const K = self->numClusters, D = self->dimension;
  VlKMeans *km, *created = NULL;
  vl_uint32 *assign = NULL;
  double energy;
  int err;

  GMM_REQUIRE(!kmeansInit || kmeansInit->dataType == self->dataType, VL_ERR_BAD_ARG,
              VL_ERR_BAD_ARG,
              "vl_gmm_init_with_kmeans: the k-means object's data type (%u) differs from the "
              "GMM's (%u)", kmeansInit ? (unsigned)kmeansInit->dataType : 0u,
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
    gmm_kmeans_delete(created);
    goto done;
  }
  gmm_model_reset(self);
  self->kmeansInit = km;
  self->kmeansInitIsOwner = created != NULL;
  if ((err = ensure_posteriors(self, N)) == VL_ERR_OK) {
    self->numData = N;
    memset(self->means, 0, K * D * esize(self));
    memset(self->covariances, 0, K * D * esize(self));
    memset(self->priors, 0, K * esize(self));
    err = GMM_DISPATCH(self->dataType, init_from_assignments, self, data, N, assign, km->centers);
  }
done:
  gmm_free(assign);
  return err;
}

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

/* Arguments and (custom) parameters checked by the caller. */
double gmm_model_cluster(VlGMM *self, void const *data, size_t numData)
{
  size_t const R = self->numRepetitions;
  size_t const es = esize(self), kd = self->numClusters * self->dimension;
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
    memcpy(custom.covariances, self->covariances, kd * es);
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
          memcpy(self->covariances, custom.covariances, kd * es);
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

/* ---- parameters ------------------------------------------------------------------- */

int gmm_model_set_array(VlGMM *self, void *dst, void const *src, size_t n, char const *fn,
                        char const *what, int nonneg)
{
  size_t where = 0;
  GMM_REQUIRE(src, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: %s is NULL", fn, what);
  GMM_REQUIRE(gmm_all_finite(self->dataType, src, n), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: %s contain NaN or Inf", fn, what);
  if (nonneg && GMM_DISPATCH(self->dataType, find_negative, src, n, &where))
    return gmm_error(VL_ERR_BAD_ARG, "%s: %s[%zu] = %g is negative", fn, what, where,
                     GMM_DISPATCH(self->dataType, value_at, src, where));
  memcpy(dst, src, n * esize(self));
  return VL_ERR_OK;
}

int gmm_model_set_kmeans(VlGMM *self, VlKMeans *kmeans)
{
  GMM_REQUIRE(!kmeans || kmeans->dataType == self->dataType, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "vl_gmm_set_kmeans_init_object: the k-means object's data type (%u) differs from "
              "the GMM's (%u)", kmeans ? (unsigned)kmeans->dataType : 0u,
              (unsigned)self->dataType);
  if (self->kmeansInit && self->kmeansInitIsOwner) gmm_kmeans_delete(self->kmeansInit);
  self->kmeansInit = kmeans;
  self->kmeansInitIsOwner = 0;
  return VL_ERR_OK;
}

double gmm_model_max_value(VlGMM const *self)
{
  return GMM_DISPATCH(self->dataType, type_max, self);
}

/* ---- E-steps -------------------------------------------------------------------------- */

/* E-step parameters from the object's parameters, with the covariances
 * raised to their bounds, as EM uses them. */
static int bounded_eparams(VlGMM const *self, gmm_eparams *ep)
{
  int err;
  void *covs = gmm_alloc_array(self->numClusters, self->dimension, esize(self), 0);
  if (!covs) return gmm_last_error();
  if ((err = gmm_eparams_alloc(ep, self->dataType, self->numClusters, self->dimension)) == VL_ERR_OK) {
    GMM_DISPATCH(self->dataType, bounded_covariances, self, covs);
    GMM_DISPATCH(self->dataType, gmm_eparams_set, ep, self->priors, self->means, covs);
  }
  gmm_free(covs);
  return err;
}

double gmm_model_estep(VlGMM const *self, void const *data, size_t N, void *posteriors,
                       double *ll, vl_uint32 *labels)
{
  gmm_eparams ep;
  double LL;
  if (N == 0) return 0;
  if (bounded_eparams(self, &ep)) return NAN;
  LL = GMM_DISPATCH(self->dataType, gmm_estep, &ep, data, N, posteriors, ll, labels);
  gmm_eparams_free(&ep);
  return LL;
}

double gmm_posteriors(vl_type type, void *posteriors, size_t K, size_t N, void const *priors,
                      void const *means, size_t D, void const *covariances, void const *data)
{
  gmm_eparams ep;
  double LL;
  if (N == 0) return 0;
  if (gmm_eparams_alloc(&ep, type, K, D) != VL_ERR_OK) return NAN;
  GMM_DISPATCH(type, gmm_eparams_set, &ep, priors, means, covariances);
  LL = GMM_DISPATCH(type, gmm_estep, &ep, data, N, posteriors, NULL, NULL);
  gmm_eparams_free(&ep);
  return LL;
}

/* ---- EM by sufficient statistics ------------------------------------------------- */

gmm_stats gmm_model_stats_view(VlGMM const *self, double *buf)
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

size_t gmm_model_stats_size(VlGMM const *self)
{
  return 2 * self->numClusters + 2 * self->numClusters * self->dimension + 2;
}

int gmm_model_read_splits(VlGMM const *self, double const *splits, size_t n, gmm_split *out,
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

int gmm_model_stats_accumulate(VlGMM const *self, double *stats, void const *data,
                               size_t numData, void const *ref, gmm_split const *splits,
                               size_t numSplits)
{
  size_t const K = self->numClusters, D = self->dimension;
  gmm_eparams ep;
  gmm_pass pass;
  gmm_stats st, acc;
  int err;

  memset(&pass, 0, sizeof pass);
  memset(&acc, 0, sizeof acc);
  if ((err = bounded_eparams(self, &ep))) return err;
  if ((err = gmm_pass_init(&pass, self->dataType, K, D, numData, &ep, 0)) ||
      (err = gmm_stats_alloc(&acc, K, D)))
    goto done;
  {
    gmm_pass_opts const opts = {GMM_MIN_POSTERIOR / (double)K, 0, 0, splits, numSplits};
    GMM_DISPATCH(self->dataType, gmm_pass_run, &pass, &ep, data, NULL, ref ? ref : self->means,
                 &opts, &acc);
  }
  st = gmm_model_stats_view(self, stats);
  gmm_stats_add(&st, &acc);
  stats[2 * K + 2 * K * D] = st.ll;
  stats[2 * K + 2 * K * D + 1] = st.n;
done:
  gmm_stats_free(&acc);
  gmm_pass_free(&pass);
  gmm_eparams_free(&ep);
  return err;
}

void gmm_model_mstep(VlGMM *self, gmm_stats const *st, void const *ref)
{
  GMM_DISPATCH(self->dataType, mstep, self, st, ref ? ref : self->means);
}

size_t gmm_model_plan_restart(VlGMM const *self, double const *mass, size_t numData, size_t start,
                              gmm_split *split)
{
  return GMM_DISPATCH(self->dataType, plan_restart, self, mass, numData, start, split);
}
