/* gmm_api.c: the exported vl_gmm_* functions and the stateless posteriors
 * (vl/gmm.h, vl/libgmm/gmm.h): the object guard, the argument checks, then
 * the hidden GMM functions (core/gmm.c). */
#include <string.h>

#include "core/gmm.h"

/* The object guard of every entry point taking `self`. */
#define GMM_SELF(fn, ret) GMM_REQUIRE(self, ret, VL_ERR_BAD_ARG, "%s: the GMM object is NULL", fn)

/* ---- create and destroy -------------------------------------------------------- */

VL_EXPORT VlGMM *vl_gmm_new(vl_type dataType, vl_size dimension, vl_size numComponents)
{
  gmm_clear_error();
  if (gmm_check_type(dataType, "vl_gmm_new")) return NULL;
  GMM_REQUIRE(dimension && numComponents, NULL, VL_ERR_BAD_ARG,
              "vl_gmm_new: dimension (%zu) and numComponents (%zu) must be >= 1",
              (size_t)dimension, (size_t)numComponents);
  return gmm_model_new(dataType, dimension, numComponents);
}

VL_EXPORT VlGMM *vl_gmm_new_copy(VlGMM const *gmm)
{
  VlGMM const *self = gmm;
  gmm_clear_error();
  GMM_SELF("vl_gmm_new_copy", NULL);
  return gmm_model_copy(self);
}

VL_EXPORT void vl_gmm_delete(VlGMM *self)
{
  gmm_clear_error();
  gmm_model_delete(self);
}

VL_EXPORT void vl_gmm_reset(VlGMM *self)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_reset", );
  gmm_model_reset(self);
}

/* ---- processing ------------------------------------------------------------------- */

VL_EXPORT double vl_gmm_cluster(VlGMM *self, void const *data, vl_size numData)
{
  static char const fn[] = "vl_gmm_cluster";
  gmm_clear_error();
  GMM_SELF(fn, NAN);
  if (gmm_model_check_data(self, data, numData, fn) ||
      (self->initialization == VlGMMCustom && gmm_model_check_params(self, fn)))
    return NAN;
  return gmm_model_cluster(self, data, numData);
}

VL_EXPORT double vl_gmm_em(VlGMM *self, void const *data, vl_size numData)
{
  static char const fn[] = "vl_gmm_em";
  int stopped;
  double LL;
  gmm_clear_error();
  GMM_SELF(fn, NAN);
  if (gmm_model_check_data(self, data, numData, fn) || gmm_model_check_params(self, fn))
    return NAN;
  LL = gmm_model_em(self, data, numData, &stopped);
  if (stopped) gmm_model_report_stopped(fn);
  return LL;
}

VL_EXPORT void vl_gmm_init_with_rand_data(VlGMM *self, void const *data, vl_size numData)
{
  static char const fn[] = "vl_gmm_init_with_rand_data";
  gmm_clear_error();
  GMM_SELF(fn, );
  if (gmm_model_check_data(self, data, numData, fn)) return;
  gmm_model_init_rand(self, data, numData);
}

VL_EXPORT void vl_gmm_init_with_kmeans(VlGMM *self, void const *data, vl_size numData,
                                       VlKMeans *kmeansInit)
{
  static char const fn[] = "vl_gmm_init_with_kmeans";
  gmm_clear_error();
  GMM_SELF(fn, );
  if (gmm_model_check_data(self, data, numData, fn)) return;
  gmm_model_init_kmeans(self, data, numData, kmeansInit);
}

VL_EXPORT double vl_gmm_estep(VlGMM const *self, void const *data, vl_size numData,
                              void *posteriors, double *loglikelihoods, vl_uint32 *labels)
{
  static char const fn[] = "vl_gmm_estep";
  size_t nd, nk, bytes;
  gmm_clear_error();
  GMM_SELF(fn, NAN);
  GMM_REQUIRE(data || !numData, NAN, VL_ERR_BAD_ARG, "%s: data is NULL", fn);
  if (gmm_mul_size(numData, self->dimension, &nd) ||
      gmm_mul_size(numData, self->numClusters, &nk) ||
      gmm_mul_size(nd, gmm_type_size(self->dataType), &bytes) ||
      gmm_mul_size(nk, gmm_type_size(self->dataType), &bytes))
    return NAN;
  GMM_REQUIRE(!numData || gmm_all_finite(self->dataType, data, nd), NAN, VL_ERR_BAD_ARG,
              "%s: data contains NaN or Inf", fn);
  if (gmm_model_check_params(self, fn)) return NAN;
  return gmm_model_estep(self, data, numData, posteriors, loglikelihoods, labels);
}

/* ---- set parameters ---------------------------------------------------------------- */

VL_EXPORT void vl_gmm_set_means(VlGMM *self, void const *means)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_means", );
  gmm_model_set_array(self, self->means, means, self->numClusters * self->dimension,
                      "vl_gmm_set_means", "means", 0);
}

VL_EXPORT void vl_gmm_set_covariances(VlGMM *self, void const *covariances)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_covariances", );
  gmm_model_set_covariances(self, covariances, "vl_gmm_set_covariances");
}

VL_EXPORT void vl_gmm_set_priors(VlGMM *self, void const *priors)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_priors", );
  gmm_model_set_array(self, self->priors, priors, self->numClusters, "vl_gmm_set_priors",
                      "priors", 1);
}

VL_EXPORT void vl_gmm_set_num_repetitions(VlGMM *self, vl_size numRepetitions)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_num_repetitions", );
  GMM_REQUIRE(numRepetitions, , VL_ERR_BAD_ARG, "vl_gmm_set_num_repetitions: must be >= 1");
  self->numRepetitions = numRepetitions;
}

VL_EXPORT void vl_gmm_set_max_num_iterations(VlGMM *self, vl_size maxNumIterations)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_max_num_iterations", );
  self->maxNumIterations = maxNumIterations;
}

VL_EXPORT void vl_gmm_set_verbosity(VlGMM *self, int verbosity)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_verbosity", );
  self->verbosity = verbosity;
}

VL_EXPORT void vl_gmm_set_initialization(VlGMM *self, VlGMMInitialization init)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_initialization", );
  GMM_REQUIRE(init == VlGMMKMeans || init == VlGMMRand || init == VlGMMCustom, , VL_ERR_BAD_ARG,
              "vl_gmm_set_initialization: unknown method %d (VlGMMKMeans=0, VlGMMRand=1, "
              "VlGMMCustom=2)", (int)init);
  self->initialization = init;
}

VL_EXPORT void vl_gmm_set_kmeans_init_object(VlGMM *self, VlKMeans *kmeans)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_kmeans_init_object", );
  gmm_model_set_kmeans(self, kmeans);
}

VL_EXPORT void vl_gmm_set_covariance_lower_bounds(VlGMM *self, double const *bounds)
{
  static char const fn[] = "vl_gmm_set_covariance_lower_bounds";
  gmm_clear_error();
  GMM_SELF(fn, );
  GMM_REQUIRE(bounds, , VL_ERR_BAD_ARG, "%s: bounds is NULL", fn);
  for (size_t d = 0; d < self->dimension; ++d)
    GMM_REQUIRE(bounds[d] >= 0 && bounds[d] <= gmm_model_max_value(self), , VL_ERR_BAD_ARG,
                "%s: bound %zu is %g (must be finite and >= 0, and fit in the data type)", fn, d,
                bounds[d]);
  memcpy(self->sigmaLowBound, bounds, self->dimension * sizeof(double));
}

VL_EXPORT void vl_gmm_set_covariance_lower_bound(VlGMM *self, double bound)
{
  static char const fn[] = "vl_gmm_set_covariance_lower_bound";
  gmm_clear_error();
  GMM_SELF(fn, );
  GMM_REQUIRE(bound >= 0 && bound <= gmm_model_max_value(self), , VL_ERR_BAD_ARG,
              "%s: bound is %g (must be finite and >= 0, and fit in the data type)", fn, bound);
  for (size_t d = 0; d < self->dimension; ++d) self->sigmaLowBound[d] = bound;
}

VL_EXPORT void vl_gmm_set_covariance_type(VlGMM *self, VlGMMCovarianceType type)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_covariance_type", );
  gmm_model_set_covariance_type(self, (int)type);
}

VL_EXPORT void vl_gmm_set_reg_covar(VlGMM *self, double regCovar)
{
  static char const fn[] = "vl_gmm_set_reg_covar";
  gmm_clear_error();
  GMM_SELF(fn, );
  GMM_REQUIRE(regCovar >= 0 && regCovar <= gmm_model_max_value(self), , VL_ERR_BAD_ARG,
              "%s: %g (must be finite and >= 0, and fit in the data type)", fn, regCovar);
  self->regCovar = regCovar;
}

VL_EXPORT void vl_gmm_set_exact_em(VlGMM *self, vl_bool exact)
{
  static char const fn[] = "vl_gmm_set_exact_em";
  gmm_clear_error();
  GMM_SELF(fn, );
  GMM_REQUIRE(exact || self->covType == VlGMMDiagonal, , VL_ERR_BAD_ARG,
              "%s: VLFeat's EM exists for the diagonal covariance type only (this GMM's type "
              "is %d)", fn, self->covType);
  self->exactEM = exact != 0;
}

VL_EXPORT void vl_gmm_init_with_labels(VlGMM *self, void const *data, vl_size numData,
                                       vl_uint32 const *labels)
{
  static char const fn[] = "vl_gmm_init_with_labels";
  gmm_clear_error();
  GMM_SELF(fn, );
  if (gmm_model_check_data(self, data, numData, fn)) return;
  GMM_REQUIRE(labels, , VL_ERR_BAD_ARG, "%s: labels is NULL", fn);
  for (size_t i = 0; i < numData; ++i)
    GMM_REQUIRE(labels[i] < self->numClusters, , VL_ERR_BAD_ARG,
                "%s: label %zu is %u (must be < numClusters = %zu)", fn, i, (unsigned)labels[i],
                self->numClusters);
  gmm_model_init_labels(self, data, numData, labels);
}

VL_EXPORT void vl_gmm_set_iteration_callback(VlGMM *self, vl_iteration_callback callback,
                                             void *user)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_iteration_callback", );
  self->callback = callback;
  self->callbackUser = user;
}

VL_EXPORT void vl_gmm_set_store_posteriors(VlGMM *self, vl_bool store)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_set_store_posteriors", );
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
  GMM_SELF("vl_gmm_set_convergence_threshold", );
  GMM_REQUIRE(threshold >= 0 && isfinite(threshold), , VL_ERR_BAD_ARG,
              "vl_gmm_set_convergence_threshold: %g (must be finite and >= 0)", threshold);
  self->convergence = threshold;
}

/* ---- get parameters ----------------------------------------------------------------- */

#define GETTER(ret_t, name, expr, fail)                  \
  VL_EXPORT ret_t vl_gmm_get_##name(VlGMM const *self)   \
  {                                                      \
    gmm_clear_error();                                   \
    GMM_SELF("vl_gmm_get_" #name, fail);                 \
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
GETTER(VlGMMCovarianceType, covariance_type, (VlGMMCovarianceType)self->covType, VlGMMDiagonal)
GETTER(vl_size, covariances_size, self->covSize, 0)
GETTER(double, reg_covar, self->regCovar, NAN)
GETTER(vl_bool, exact_em, gmm_model_exact(self), 0)

/* ---- stateless E-step ------------------------------------------------------------------ */

static double posteriors(vl_type type, void *post, size_t K, size_t N, void const *priors,
                         void const *means, size_t D, void const *covs, void const *data,
                         char const *fn)
{
  size_t const es = gmm_type_size(type);
  size_t kd, nd, nk, bytes;
  GMM_REQUIRE(post && priors && means && covs && (data || !N), NAN, VL_ERR_BAD_ARG,
              "%s: NULL array argument", fn);
  GMM_REQUIRE(K && D, NAN, VL_ERR_BAD_ARG, "%s: numClusters (%zu) and dimension (%zu) must be >= 1",
              fn, K, D);
  /* element counts and byte sizes (an array larger than memory cannot exist) */
  if (gmm_mul_size(K, D, &kd) || gmm_mul_size(N, D, &nd) || gmm_mul_size(N, K, &nk) ||
      gmm_mul_size(kd, es, &bytes) || gmm_mul_size(nd, es, &bytes) || gmm_mul_size(nk, es, &bytes))
    return NAN;
  if (N == 0) return 0;
  GMM_REQUIRE(gmm_all_finite(type, data, nd), NAN, VL_ERR_BAD_ARG, "%s: data contains NaN or Inf",
              fn);
  if (gmm_check_gmm_params(fn, type, K, D, means, covs, priors, NULL, 1, NULL)) return NAN;
  return gmm_posteriors(type, post, K, N, priors, means, D, covs, data);
}

VL_EXPORT double vl_get_gmm_data_posteriors_f(float *posteriors_, vl_size numClusters,
                                              vl_size numData, float const *priors,
                                              float const *means, vl_size dimension,
                                              float const *covariances, float const *data)
{
  gmm_clear_error();
  return posteriors(VL_TYPE_FLOAT, posteriors_, numClusters, numData, priors, means, dimension,
                    covariances, data, "vl_get_gmm_data_posteriors_f");
}

VL_EXPORT double vl_get_gmm_data_posteriors_d(double *posteriors_, vl_size numClusters,
                                              vl_size numData, double const *priors,
                                              double const *means, vl_size dimension,
                                              double const *covariances, double const *data)
{
  gmm_clear_error();
  return posteriors(VL_TYPE_DOUBLE, posteriors_, numClusters, numData, priors, means, dimension,
                    covariances, data, "vl_get_gmm_data_posteriors_d");
}

/* ---- EM by sufficient statistics ------------------------------------------------- */

VL_EXPORT vl_size vl_gmm_stats_size(VlGMM const *self)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_stats_size", 0);
  return gmm_model_stats_size(self);
}

VL_EXPORT int vl_gmm_stats_accumulate(VlGMM const *self, double *stats, void const *data,
                                      vl_size numData, void const *ref, double const *splits,
                                      vl_size numSplits)
{
  static char const fn[] = "vl_gmm_stats_accumulate";
  size_t const K = self ? self->numClusters : 0, D = self ? self->dimension : 0;
  size_t nd, bytes;
  gmm_split *sp = NULL;
  int err;

  gmm_clear_error();
  GMM_SELF(fn, VL_ERR_BAD_ARG);
  GMM_REQUIRE(stats, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  GMM_REQUIRE(data || !numData, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: data is NULL", fn);
  GMM_REQUIRE(splits || !numSplits, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: splits is NULL", fn);
  GMM_REQUIRE(!numSplits || !gmm_model_exact(self), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: splits restart components in VLFeat's EM only (this GMM's EM is exact)", fn);
  if (gmm_mul_size(numData, D, &nd) || gmm_mul_size(nd, gmm_type_size(self->dataType), &bytes))
    return gmm_last_error();
  GMM_REQUIRE(!numData || gmm_all_finite(self->dataType, data, nd), VL_ERR_BAD_ARG,
              VL_ERR_BAD_ARG, "%s: data contains NaN or Inf", fn);
  GMM_REQUIRE(!ref || gmm_all_finite(self->dataType, ref, K * D), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: ref contains NaN or Inf", fn);
  if ((err = gmm_model_check_params(self, fn))) return err;
  if (numData == 0) return VL_ERR_OK;
  if (numSplits) {
    if (!(sp = gmm_alloc_array(numSplits, 1, sizeof *sp, 0))) return gmm_last_error();
    if ((err = gmm_model_read_splits(self, splits, numSplits, sp, fn))) goto done;
  }
  err = gmm_model_stats_accumulate(self, stats, data, numData, ref, sp, numSplits);
done:
  gmm_free(sp);
  return err;
}

VL_EXPORT int vl_gmm_stats_merge(VlGMM const *self, double *dst, double const *src)
{
  gmm_clear_error();
  GMM_SELF("vl_gmm_stats_merge", VL_ERR_BAD_ARG);
  GMM_REQUIRE(dst && src, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "vl_gmm_stats_merge: NULL buffer");
  for (size_t j = 0, n = gmm_model_stats_size(self); j < n; ++j) dst[j] += src[j];
  return VL_ERR_OK;
}

VL_EXPORT int vl_gmm_mstep_from_stats(VlGMM *self, double const *stats, void const *ref)
{
  static char const fn[] = "vl_gmm_mstep_from_stats";
  gmm_stats st;
  gmm_clear_error();
  GMM_SELF(fn, VL_ERR_BAD_ARG);
  GMM_REQUIRE(stats, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  for (size_t j = 0, n = gmm_model_stats_size(self); j < n; ++j)
    GMM_REQUIRE(isfinite(stats[j]), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: stats[%zu] is %g", fn, j,
                stats[j]);
  for (size_t k = 0; k < 2 * self->numClusters; ++k)
    GMM_REQUIRE(stats[k] >= 0, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: negative mass stats[%zu]", fn,
                k);
  GMM_REQUIRE(!ref || gmm_all_finite(self->dataType, ref, self->numClusters * self->dimension),
              VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: ref contains NaN or Inf", fn);
  st = gmm_model_stats_view(self, (double *)stats); /* read only */
  return gmm_model_mstep(self, &st, ref, fn);
}

VL_EXPORT vl_size vl_gmm_plan_restart(VlGMM const *self, double const *mass, vl_size numData,
                                      vl_size start, double *split)
{
  static char const fn[] = "vl_gmm_plan_restart";
  gmm_split sp;
  size_t next;
  gmm_clear_error();
  GMM_SELF(fn, 0);
  GMM_REQUIRE(mass && split, 0, VL_ERR_BAD_ARG, "%s: NULL argument", fn);
  next = gmm_model_plan_restart(self, mass, numData, start, &sp);
  if (next) {
    split[0] = (double)sp.empty;
    split[1] = (double)sp.split;
    split[2] = (double)sp.dim;
    split[3] = sp.tau;
  }
  return next;
}
