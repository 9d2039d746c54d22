/* gmm.c: the VlGMM object's checks, the EM driver, initialisations, E-steps
 * and EM by sufficient statistics (its creation, copies, covariance type and
 * repetitions are in gmm_object.c). Type-independent: the numerics are in
 * gmm.tc and gmm_exact.tc, reached through GMM_DISPATCH.
 *
 * EM follows VLFeat 0.9.21 (docs/vlfeat-differences.md lists where we
 * differ on purpose): the E-step of estep.h, an M-step that ignores
 * posteriors below 1e-2/K, covariance lower bounds, restarts of nearly
 * empty modes, a relative log-likelihood convergence test of 1e-5, and the
 * best of N repetitions. The work is done in passes over fixed blocks of
 * points (pass.h), so the E-step and the M-step's sums share one sweep over
 * the data and the results do not depend on the number of threads.
 *
 * The exact variant and the full, tied and spherical covariance types
 * (vl/libgmm/gmm.h) are scikit-learn's EM, in gmm_exact.tc: the same
 * E-step, every posterior in the M-step (the passes of pass.h with a
 * threshold of 0, or of scatter.h for full and tied), no restarts.
 */
#include <float.h>
#include <string.h>

#include "core/gmm.h"
#include "core/kmeans.h"
#include "core/scatter.h"

#define GMM_TEMPLATE "core/gmm_exact.tc"
#include "util/instantiate.h"
#define GMM_TEMPLATE "core/gmm.tc"
#include "util/instantiate.h"

/* ---- helpers ---------------------------------------------------------------- */

static size_t esize(VlGMM const *self) { return gmm_type_size(self->dataType); }

int gmm_model_ensure_posteriors(VlGMM *self, size_t N)
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
  if (self->covType != VlGMMDiagonal)
    return GMM_DISPATCH(self->dataType, check_params_cov, self, fn);
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
  if (gmm_model_ensure_posteriors(self, N) != VL_ERR_OK) return NAN;
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
    if ((err = gmm_model_ensure_posteriors(self, N)) == VL_ERR_OK) {
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
  energy = gmm_kmeans_cluster(km, data, D, N, K, NULL, "vl_kmeans_cluster");
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
  if ((err = gmm_model_ensure_posteriors(self, N)) == VL_ERR_OK) {
    self->numData = N;
    if (!gmm_model_exact(self)) { /* VLFeat's M-step writes them all */
      memset(self->means, 0, K * D * esize(self));
      memset(self->covariances, 0, self->covSize * esize(self));
      memset(self->priors, 0, K * esize(self));
    }
    err = GMM_DISPATCH(self->dataType, init_from_labels, self, data, N, assign, km->centers,
                       "vl_gmm_init_with_kmeans");
  }
done:
  gmm_free(assign);
  return err;
}

int gmm_model_init_labels(VlGMM *self, void const *data, size_t N, vl_uint32 const *labels)
{
  size_t const K = self->numClusters, D = self->dimension;
  void *ref = gmm_alloc_array(K, D, esize(self), 0);
  double *acc = ref ? gmm_alloc_array(K, D + 1, sizeof(double), 0) : NULL;
  int err;
  if (!acc) {
    gmm_free(ref);
    return gmm_last_error();
  }
  GMM_DISPATCH(self->dataType, label_means, self, data, N, labels, ref, acc);
  gmm_free(acc);
  gmm_model_reset(self);
  if ((err = gmm_model_ensure_posteriors(self, N)) == VL_ERR_OK) {
    self->numData = N;
    err = GMM_DISPATCH(self->dataType, init_from_labels, self, data, N, labels, ref,
                       "vl_gmm_init_with_labels");
  }
  gmm_free(ref);
  return err;
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

int gmm_model_set_covariances(VlGMM *self, void const *src, char const *fn)
{
  if (self->covType == VlGMMDiagonal || self->covType == VlGMMSpherical)
    return gmm_model_set_array(self, self->covariances, src, self->covSize, fn, "covariances", 1);
  GMM_REQUIRE(src, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: covariances is NULL", fn);
  GMM_REQUIRE(gmm_all_finite(self->dataType, src, self->covSize), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: covariances contain NaN or Inf", fn);
  return GMM_DISPATCH(self->dataType, set_matrices, self, src, fn);
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

/* E-step parameters from the object's parameters, with the covariances'
 * diagonals raised to their bounds, as EM uses them (parameters checked). */
static int bounded_eparams(VlGMM const *self, gmm_eparams *ep)
{
  size_t bad;
  int err;
  if ((err = gmm_eparams_alloc_cov(ep, self->dataType, self->covType, self->numClusters,
                                   self->dimension)))
    return err;
  if (gmm_model_exact(self)) ep->minprior = 0;
  bad = GMM_DISPATCH(self->dataType, gmm_eparams_set_cov, ep, self->priors, self->means,
                     self->covariances, self->sigmaLowBound);
  if (bad) { /* excluded by gmm_model_check_params: a safeguard */
    gmm_eparams_free(ep);
    return gmm_error(VL_ERR_BAD_ARG, "covariance %zu is not positive definite", bad - 1);
  }
  return VL_ERR_OK;
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

/* Doubles of the second moments in a statistics buffer (vl/libgmm/gmm.h; no
 * overflow: the covariances have at least this size). */
static size_t stats_s2_size(VlGMM const *self)
{
  size_t n2 = 0;
  gmm_stats_s2_size(self->covType, self->numClusters, self->dimension, &n2);
  return n2;
}

gmm_stats gmm_model_stats_view(VlGMM const *self, double *buf)
{
  size_t const K = self->numClusters, KD = K * self->dimension, n2 = stats_s2_size(self);
  gmm_stats st;
  memset(&st, 0, sizeof st);
  st.K = K;
  st.D = self->dimension;
  st.cov = self->covType;
  st.n2 = n2;
  st.s0 = buf;
  st.s0all = buf + K;
  st.s1 = buf + 2 * K;
  st.s2 = buf + 2 * K + KD;
  st.ll = buf[2 * K + KD + n2];
  st.n = buf[2 * K + KD + n2 + 1];
  return st;
}

size_t gmm_model_stats_size(VlGMM const *self)
{
  return 2 * self->numClusters + self->numClusters * self->dimension + stats_s2_size(self) + 2;
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
  int const cov = self->covType, exact = gmm_model_exact(self);
  void const *r = ref ? ref : self->means;
  gmm_eparams ep;
  gmm_pass pass;
  gmm_spass sp;
  gmm_stats st, acc;
  int err;

  memset(&pass, 0, sizeof pass);
  memset(&sp, 0, sizeof sp);
  memset(&acc, 0, sizeof acc);
  if ((err = bounded_eparams(self, &ep))) return err;
  if ((err = gmm_stats_alloc_cov(&acc, cov, K, D))) goto done;
  if (cov == VlGMMFull || cov == VlGMMTied) {
    if ((err = gmm_spass_init(&sp, &ep, numData, 1))) goto done;
    GMM_DISPATCH(self->dataType, gmm_spass_run, &sp, &ep, 1, data, NULL, NULL, r, &acc);
  } else {
    gmm_pass_opts const opts = {exact ? 0 : GMM_MIN_POSTERIOR / (double)K, 0, 0, splits,
                                numSplits};
    if ((err = gmm_pass_init(&pass, self->dataType, K, D, numData, &ep, 0))) goto done;
    GMM_DISPATCH(self->dataType, gmm_pass_run, &pass, &ep, data, NULL, r, &opts, &acc);
  }
  st = gmm_model_stats_view(self, stats);
  gmm_stats_add(&st, &acc);
  stats[2 * K + K * D + st.n2] = st.ll;
  stats[2 * K + K * D + st.n2 + 1] = st.n;
done:
  gmm_stats_free(&acc);
  gmm_pass_free(&pass);
  gmm_spass_free(&sp);
  gmm_eparams_free(&ep);
  return err;
}

int gmm_model_mstep(VlGMM *self, gmm_stats const *st, void const *ref, char const *fn)
{
  size_t nraised;
  if (!ref) ref = self->means;
  if (gmm_model_exact(self))
    return GMM_DISPATCH(self->dataType, mstep_exact, self, st, ref, fn, &nraised);
  GMM_DISPATCH(self->dataType, mstep, self, st, ref);
  return VL_ERR_OK;
}

size_t gmm_model_plan_restart(VlGMM const *self, double const *mass, size_t numData, size_t start,
                              gmm_split *split)
{
  return GMM_DISPATCH(self->dataType, plan_restart, self, mass, numData, start, split);
}
