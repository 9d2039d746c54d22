/* kmeans.h: the k-means object and the hidden k-means functions (called by
 * the exported shims and by the GMM's initialisations). Never call the
 * exported vl_kmeans_* functions from inside the library. */
#ifndef GMM_CORE_KMEANS_H
#define GMM_CORE_KMEANS_H

#include "util/internal.h"
#include "vl/kmeans.h"
#include "vl/libgmm.h"

struct VlKMeans_ {
  vl_type dataType;
  size_t dimension;
  size_t numCenters;
  size_t numTrees;
  size_t maxNumComparisons;
  VlKMeansInitialization initialization;
  VlKMeansAlgorithm algorithm;
  VlVectorComparisonType distance;
  size_t maxNumIterations;
  double minEnergyVariation;
  size_t numRepetitions;
  int verbosity;
  void *centers;          /* numCenters x dimension, dataType */
  void *centerDistances;  /* optional cache, numCenters x numCenters */
  double energy;          /* energy of the last cluster/refine (0 before) */
  vl_iteration_callback callback; /* libgmm extension: called once per iteration */
  void *callbackUser;
};

/* NULL + last error on failure. */
GMM_HIDDEN VlKMeans *gmm_kmeans_new(vl_type dataType, VlVectorComparisonType distance);
GMM_HIDDEN VlKMeans *gmm_kmeans_new_copy(VlKMeans const *src);
GMM_HIDDEN void gmm_kmeans_delete(VlKMeans *self);
/* Drops the centers (and the energy). */
GMM_HIDDEN void gmm_kmeans_reset(VlKMeans *self);
/* VL_ERR_OK for L1 and L2, else VL_ERR_BAD_ARG. */
GMM_HIDDEN int gmm_kmeans_check_distance(VlVectorComparisonType distance, char const *fn);
/* Energy, or NaN + last error on failure. */
GMM_HIDDEN double gmm_kmeans_cluster(VlKMeans *self, void const *data, size_t dimension,
                                     size_t numData, size_t numCenters);
/* Energy of the refined centers, or NaN + last error. */
GMM_HIDDEN double gmm_kmeans_refine(VlKMeans *self, void const *data, size_t numData);
/* Exact nearest center; `distances` may be NULL. VL_ERR_OK or an error code. */
GMM_HIDDEN int gmm_kmeans_quantize(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                   void const *data, size_t numData);
GMM_HIDDEN int gmm_kmeans_quantize_ann(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                       void const *data, size_t numData, int update);
GMM_HIDDEN int gmm_kmeans_set_centers(VlKMeans *self, void const *centers, size_t D, size_t K);
/* Seeding of K centers into the object; `fn` names the entry point in errors. */
GMM_HIDDEN int gmm_kmeans_init_centers(VlKMeans *self, void const *data, size_t D, size_t N,
                                       size_t K, VlKMeansInitialization init, char const *fn);
/* k-means++ seeding (VLFeat's draw order: one uindex(N), then K real1) of K
 * centers (K x D of `dataType`) from N x D data, with `distance`, drawing
 * from `rand`. The GMM's "rand" initialisation uses it too. */
GMM_HIDDEN int gmm_kmeans_seed_plusplus(vl_type dataType, VlVectorComparisonType distance,
                                        void const *data, size_t dimension, size_t numData,
                                        size_t numCenters, void *centers, VlRand *rand);

/* Lloyd by sufficient statistics (see vl/libgmm/kmeans.h). The object must
 * pass gmm_kmeans_check_stats; the buffers are not NULL. */
GMM_HIDDEN int gmm_kmeans_check_stats(VlKMeans const *self, char const *fn);
GMM_HIDDEN size_t gmm_kmeans_stats_size(VlKMeans const *self);
GMM_HIDDEN int gmm_kmeans_stats_accumulate(VlKMeans const *self, double *stats, void const *data,
                                           size_t numData);
GMM_HIDDEN int gmm_kmeans_update_from_stats(VlKMeans *self, double const *stats);

#endif /* GMM_CORE_KMEANS_H */
