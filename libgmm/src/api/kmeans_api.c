/* kmeans_api.c: the exported vl_kmeans_* functions (vl/kmeans.h,
 * vl/libgmm/kmeans.h): a guard on the object, checks of the values set,
 * then the hidden k-means functions (core/kmeans.c). */
#include "core/kmeans.h"

/* The object guard of every entry point taking `self`. */
#define KM_SELF(fn, ret) GMM_REQUIRE(self, ret, VL_ERR_BAD_ARG, "%s: NULL k-means object", fn)

VL_EXPORT VlKMeans *vl_kmeans_new(vl_type dataType, VlVectorComparisonType distance)
{
  gmm_clear_error();
  return gmm_kmeans_new(dataType, distance);
}

VL_EXPORT VlKMeans *vl_kmeans_new_copy(VlKMeans const *kmeans)
{
  VlKMeans const *self = kmeans;
  gmm_clear_error();
  KM_SELF("vl_kmeans_new_copy", NULL);
  return gmm_kmeans_new_copy(self);
}

VL_EXPORT void vl_kmeans_delete(VlKMeans *self)
{
  gmm_clear_error();
  gmm_kmeans_delete(self);
}

VL_EXPORT void vl_kmeans_reset(VlKMeans *self)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_reset", );
  gmm_kmeans_reset(self);
}

/* ---- processing --------------------------------------------------------------------- */

VL_EXPORT double vl_kmeans_cluster(VlKMeans *self, void const *data, vl_size dimension,
                                   vl_size numData, vl_size numCenters)
{
  gmm_clear_error();
  return gmm_kmeans_cluster(self, data, dimension, numData, numCenters, NULL, "vl_kmeans_cluster");
}

VL_EXPORT double vl_kmeans_cluster_weighted(VlKMeans *self, void const *data, vl_size dimension,
                                            vl_size numData, vl_size numCenters,
                                            double const *weights)
{
  gmm_clear_error();
  return gmm_kmeans_cluster(self, data, dimension, numData, numCenters, weights,
                            "vl_kmeans_cluster_weighted");
}

VL_EXPORT void vl_kmeans_quantize(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                  void const *data, vl_size numData)
{
  gmm_clear_error();
  gmm_kmeans_quantize(self, assignments, distances, data, numData);
}

VL_EXPORT double vl_kmeans_quantize_energy(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                           void const *data, vl_size numData,
                                           double const *weights)
{
  gmm_clear_error();
  return gmm_kmeans_quantize_energy(self, assignments, distances, data, numData, weights);
}

VL_EXPORT void vl_kmeans_quantize_ann(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                      void const *data, vl_size numData, vl_bool update)
{
  gmm_clear_error();
  gmm_kmeans_quantize_ann(self, assignments, distances, data, numData, update != 0);
}

VL_EXPORT void vl_kmeans_set_centers(VlKMeans *self, void const *centers, vl_size dimension,
                                     vl_size numCenters)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_centers", );
  gmm_kmeans_set_centers(self, centers, dimension, numCenters);
}

VL_EXPORT void vl_kmeans_init_centers_with_rand_data(VlKMeans *self, void const *data,
                                                     vl_size dimension, vl_size numData,
                                                     vl_size numCenters)
{
  gmm_clear_error();
  gmm_kmeans_init_centers(self, data, dimension, numData, numCenters, VlKMeansRandomSelection,
                          NULL, "vl_kmeans_init_centers_with_rand_data");
}

VL_EXPORT int vl_kmeans_init_centers_with_rand_data_weighted(VlKMeans *self, void const *data,
                                                             vl_size dimension, vl_size numData,
                                                             vl_size numCenters,
                                                             double const *weights)
{
  gmm_clear_error();
  return gmm_kmeans_init_centers(self, data, dimension, numData, numCenters,
                                 VlKMeansRandomSelection, weights,
                                 "vl_kmeans_init_centers_with_rand_data_weighted");
}

VL_EXPORT void vl_kmeans_init_centers_plus_plus(VlKMeans *self, void const *data,
                                                vl_size dimension, vl_size numData,
                                                vl_size numCenters)
{
  gmm_clear_error();
  gmm_kmeans_init_centers(self, data, dimension, numData, numCenters, VlKMeansPlusPlus, NULL,
                          "vl_kmeans_init_centers_plus_plus");
}

VL_EXPORT int vl_kmeans_init_centers_plus_plus_weighted(VlKMeans *self, void const *data,
                                                        vl_size dimension, vl_size numData,
                                                        vl_size numCenters, double const *weights)
{
  gmm_clear_error();
  return gmm_kmeans_init_centers(self, data, dimension, numData, numCenters, VlKMeansPlusPlus,
                                 weights, "vl_kmeans_init_centers_plus_plus_weighted");
}

VL_EXPORT double vl_kmeans_refine_centers(VlKMeans *self, void const *data, vl_size numData)
{
  gmm_clear_error();
  return gmm_kmeans_refine(self, data, numData, NULL, "vl_kmeans_refine_centers");
}

VL_EXPORT double vl_kmeans_refine_centers_weighted(VlKMeans *self, void const *data,
                                                   vl_size numData, double const *weights)
{
  gmm_clear_error();
  return gmm_kmeans_refine(self, data, numData, weights, "vl_kmeans_refine_centers_weighted");
}

/* ---- getters ------------------------------------------------------------------------ */

#define KM_GETTER(ret_t, name, expr, fail)                    \
  VL_EXPORT ret_t vl_kmeans_get_##name(VlKMeans const *self)  \
  {                                                           \
    gmm_clear_error();                                        \
    KM_SELF("vl_kmeans_get_" #name, fail);                    \
    return expr;                                              \
  }

KM_GETTER(vl_type, data_type, self->dataType, 0)
KM_GETTER(VlVectorComparisonType, distance, self->distance, (VlVectorComparisonType)0)
KM_GETTER(VlKMeansAlgorithm, algorithm, self->algorithm, (VlKMeansAlgorithm)0)
KM_GETTER(VlKMeansInitialization, initialization, self->initialization, (VlKMeansInitialization)0)
KM_GETTER(vl_size, num_repetitions, self->numRepetitions, 0)
KM_GETTER(vl_size, dimension, self->dimension, 0)
KM_GETTER(vl_size, num_centers, self->numCenters, 0)
KM_GETTER(int, verbosity, self->verbosity, 0)
KM_GETTER(vl_size, max_num_iterations, self->maxNumIterations, 0)
KM_GETTER(double, min_energy_variation, self->minEnergyVariation, NAN)
KM_GETTER(vl_size, max_num_comparisons, self->maxNumComparisons, 0)
KM_GETTER(vl_size, num_trees, self->numTrees, 0)
KM_GETTER(double, energy, self->energy, NAN)
KM_GETTER(void const *, centers, self->centers, NULL)

/* ---- setters: an invalid value sets VL_ERR_BAD_ARG and leaves the field unchanged ---- */

VL_EXPORT void vl_kmeans_set_algorithm(VlKMeans *self, VlKMeansAlgorithm algorithm)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_algorithm", );
  GMM_REQUIRE(algorithm == VlKMeansLloyd || algorithm == VlKMeansElkan || algorithm == VlKMeansANN,
              , VL_ERR_BAD_ARG,
              "vl_kmeans_set_algorithm: unknown algorithm %d (Lloyd = 0, Elkan = 1, ANN = 2)",
              (int)algorithm);
  self->algorithm = algorithm;
}

VL_EXPORT void vl_kmeans_set_initialization(VlKMeans *self, VlKMeansInitialization initialization)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_initialization", );
  GMM_REQUIRE(initialization == VlKMeansRandomSelection || initialization == VlKMeansPlusPlus, ,
              VL_ERR_BAD_ARG,
              "vl_kmeans_set_initialization: unknown initialization %d (RandomSelection = 0, "
              "PlusPlus = 1)", (int)initialization);
  self->initialization = initialization;
}

VL_EXPORT void vl_kmeans_set_num_repetitions(VlKMeans *self, vl_size numRepetitions)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_num_repetitions", );
  GMM_REQUIRE(numRepetitions >= 1, , VL_ERR_BAD_ARG,
              "vl_kmeans_set_num_repetitions: numRepetitions must be >= 1, got 0");
  self->numRepetitions = numRepetitions;
}

VL_EXPORT void vl_kmeans_set_max_num_iterations(VlKMeans *self, vl_size maxNumIterations)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_max_num_iterations", );
  self->maxNumIterations = maxNumIterations;
}

VL_EXPORT void vl_kmeans_set_min_energy_variation(VlKMeans *self, double minEnergyVariation)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_min_energy_variation", );
  GMM_REQUIRE(minEnergyVariation >= 0 && isfinite(minEnergyVariation), , VL_ERR_BAD_ARG,
              "vl_kmeans_set_min_energy_variation: minEnergyVariation must be finite and >= 0, "
              "got %g", minEnergyVariation);
  self->minEnergyVariation = minEnergyVariation;
}

VL_EXPORT void vl_kmeans_set_verbosity(VlKMeans *self, int verbosity)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_verbosity", );
  self->verbosity = verbosity;
}

VL_EXPORT void vl_kmeans_set_max_num_comparisons(VlKMeans *self, vl_size maxNumComparisons)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_max_num_comparisons", );
  self->maxNumComparisons = maxNumComparisons;
}

VL_EXPORT void vl_kmeans_set_iteration_callback(VlKMeans *self, vl_iteration_callback callback,
                                                void *user)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_iteration_callback", );
  self->callback = callback;
  self->callbackUser = user;
}

VL_EXPORT void vl_kmeans_set_num_trees(VlKMeans *self, vl_size numTrees)
{
  gmm_clear_error();
  KM_SELF("vl_kmeans_set_num_trees", );
  GMM_REQUIRE(numTrees >= 1, , VL_ERR_BAD_ARG,
              "vl_kmeans_set_num_trees: numTrees must be >= 1, got 0");
  self->numTrees = numTrees;
}

/* ---- Lloyd by sufficient statistics ------------------------------------------------- */

VL_EXPORT vl_size vl_kmeans_stats_size(VlKMeans const *self)
{
  gmm_clear_error();
  if (gmm_kmeans_check_stats(self, "vl_kmeans_stats_size")) return 0;
  return gmm_kmeans_stats_size(self);
}

VL_EXPORT int vl_kmeans_stats_accumulate(VlKMeans const *self, double *stats, void const *data,
                                         vl_size numData)
{
  static char const fn[] = "vl_kmeans_stats_accumulate";
  int err;
  gmm_clear_error();
  if ((err = gmm_kmeans_check_stats(self, fn))) return err;
  GMM_REQUIRE(stats, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  return gmm_kmeans_stats_accumulate(self, stats, data, numData, NULL, fn);
}

VL_EXPORT int vl_kmeans_stats_accumulate_weighted(VlKMeans const *self, double *stats,
                                                  void const *data, vl_size numData,
                                                  double const *weights)
{
  static char const fn[] = "vl_kmeans_stats_accumulate_weighted";
  int err;
  gmm_clear_error();
  if ((err = gmm_kmeans_check_stats(self, fn))) return err;
  GMM_REQUIRE(stats, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  return gmm_kmeans_stats_accumulate(self, stats, data, numData, weights, fn);
}

VL_EXPORT int vl_kmeans_stats_merge(VlKMeans const *self, double *dst, double const *src)
{
  static char const fn[] = "vl_kmeans_stats_merge";
  int err;
  gmm_clear_error();
  if ((err = gmm_kmeans_check_stats(self, fn))) return err;
  GMM_REQUIRE(dst && src, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: NULL buffer", fn);
  for (size_t j = 0, n = gmm_kmeans_stats_size(self); j < n; ++j) dst[j] += src[j];
  return VL_ERR_OK;
}

VL_EXPORT int vl_kmeans_update_from_stats(VlKMeans *self, double const *stats)
{
  static char const fn[] = "vl_kmeans_update_from_stats";
  int err;
  gmm_clear_error();
  if ((err = gmm_kmeans_check_stats(self, fn))) return err;
  GMM_REQUIRE(stats, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  return gmm_kmeans_update_from_stats(self, stats);
}
