/** @file kmeans.h
 ** @brief K-means clustering (VLFeat-compatible API, opaque object).
 **
 ** Same function names, argument order and enum values as VLFeat 0.9.21.
 ** Unlike VLFeat, ::VlKMeans is opaque and every accessor is an exported
 ** function (VLFeat's are `static inline`), so other languages can call them.
 **
 ** Layouts: data is N x D row-major (`data[i*D + d]`), centers K x D,
 ** assignments N `vl_uint32`, distances N elements of the data type.
 **
 ** Differences from VLFeat (see docs/vlfeat-differences.md): K > N is an
 ** error; ::vl_kmeans_get_energy returns the energy of the last
 ** cluster/refine call; ::vl_kmeans_new_copy copies every setting;
 ** reductions are in a fixed order so results do not depend on the number
 ** of threads; invalid arguments set the last error instead of aborting.
 ** libgmm's extensions are in vl/libgmm/kmeans.h.
 **/
#ifndef VL_KMEANS_H
#define VL_KMEANS_H

#include "generic.h"
#include "mathop.h"
#include "random.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief K-means algorithms. */
typedef enum VlKMeansAlgorithm_ {
  VlKMeansLloyd = 0,  /**< Lloyd's algorithm (exact assignment every iteration) */
  VlKMeansElkan = 1,  /**< Elkan's accelerated exact algorithm */
  VlKMeansANN   = 2   /**< approximate nearest neighbours (randomised kd-forest) */
} VlKMeansAlgorithm;

/** @brief K-means seeding methods. */
typedef enum VlKMeansInitialization_ {
  VlKMeansRandomSelection = 0, /**< K distinct data points chosen at random */
  VlKMeansPlusPlus = 1         /**< k-means++ */
} VlKMeansInitialization;

/** @brief Opaque k-means object. */
typedef struct VlKMeans_ VlKMeans;

/** @name Create and destroy
 ** @{ */
/** @return a new object, or NULL on error (bad type or distance, allocation). */
VL_EXPORT VlKMeans *vl_kmeans_new(vl_type dataType, VlVectorComparisonType distance);
VL_EXPORT VlKMeans *vl_kmeans_new_copy(VlKMeans const *kmeans);
VL_EXPORT void vl_kmeans_delete(VlKMeans *self);
VL_EXPORT void vl_kmeans_reset(VlKMeans *self);
/** @} */

/** @name Basic data processing
 ** @{ */
/** @brief Seed and refine `numRepetitions` times, keep the lowest energy.
 ** @return the energy, or NaN on error. */
VL_EXPORT double vl_kmeans_cluster(VlKMeans *self, void const *data, vl_size dimension,
                                   vl_size numData, vl_size numCenters);
/** @brief Exact nearest center of each point. @p distances may be NULL. */
VL_EXPORT void vl_kmeans_quantize(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                  void const *data, vl_size numData);
/** @brief Approximate nearest center (kd-forest). With @p update and non-NULL
 ** @p distances a point keeps its current assignment unless the ANN answer is strictly closer. */
VL_EXPORT void vl_kmeans_quantize_ann(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                      void const *data, vl_size numData, vl_bool update);
/** @} */

/** @name Advanced data processing
 ** @{ */
VL_EXPORT void vl_kmeans_set_centers(VlKMeans *self, void const *centers, vl_size dimension,
                                     vl_size numCenters);
VL_EXPORT void vl_kmeans_init_centers_with_rand_data(VlKMeans *self, void const *data,
                                                     vl_size dimension, vl_size numData,
                                                     vl_size numCenters);
VL_EXPORT void vl_kmeans_init_centers_plus_plus(VlKMeans *self, void const *data,
                                                vl_size dimension, vl_size numData,
                                                vl_size numCenters);
/** @return the energy of the refined centers, or NaN on error. */
VL_EXPORT double vl_kmeans_refine_centers(VlKMeans *self, void const *data, vl_size numData);
/** @} */

/** @name Retrieve data and parameters
 ** @{ */
VL_EXPORT vl_type vl_kmeans_get_data_type(VlKMeans const *self);
VL_EXPORT VlVectorComparisonType vl_kmeans_get_distance(VlKMeans const *self);
VL_EXPORT VlKMeansAlgorithm vl_kmeans_get_algorithm(VlKMeans const *self);
VL_EXPORT VlKMeansInitialization vl_kmeans_get_initialization(VlKMeans const *self);
VL_EXPORT vl_size vl_kmeans_get_num_repetitions(VlKMeans const *self);
VL_EXPORT vl_size vl_kmeans_get_dimension(VlKMeans const *self);
VL_EXPORT vl_size vl_kmeans_get_num_centers(VlKMeans const *self);
VL_EXPORT int vl_kmeans_get_verbosity(VlKMeans const *self);
VL_EXPORT vl_size vl_kmeans_get_max_num_iterations(VlKMeans const *self);
VL_EXPORT double vl_kmeans_get_min_energy_variation(VlKMeans const *self);
VL_EXPORT vl_size vl_kmeans_get_max_num_comparisons(VlKMeans const *self);
VL_EXPORT vl_size vl_kmeans_get_num_trees(VlKMeans const *self);
/** @return the energy of the last cluster/refine call (0 before any). */
VL_EXPORT double vl_kmeans_get_energy(VlKMeans const *self);
/** @return K x D centers owned by the object (NULL if none); valid until the next call that changes them. */
VL_EXPORT void const *vl_kmeans_get_centers(VlKMeans const *self);
/** @} */

/** @name Set parameters
 ** @{ */
VL_EXPORT void vl_kmeans_set_algorithm(VlKMeans *self, VlKMeansAlgorithm algorithm);
VL_EXPORT void vl_kmeans_set_initialization(VlKMeans *self, VlKMeansInitialization initialization);
VL_EXPORT void vl_kmeans_set_num_repetitions(VlKMeans *self, vl_size numRepetitions);
VL_EXPORT void vl_kmeans_set_max_num_iterations(VlKMeans *self, vl_size maxNumIterations);
VL_EXPORT void vl_kmeans_set_min_energy_variation(VlKMeans *self, double minEnergyVariation);
VL_EXPORT void vl_kmeans_set_verbosity(VlKMeans *self, int verbosity);
VL_EXPORT void vl_kmeans_set_max_num_comparisons(VlKMeans *self, vl_size maxNumComparisons);
VL_EXPORT void vl_kmeans_set_num_trees(VlKMeans *self, vl_size numTrees);
/** @} */

/** @brief Alias for the name VLFeat's header declares (its library exports only the lower-case one). */
#define vl_kmeans_quantize_ANN(self, a, d, x, n, update) \
  vl_kmeans_quantize_ann((self), (a), (d), (x), (n), (update))

#ifdef __cplusplus
}
#endif

#endif /* VL_KMEANS_H */
