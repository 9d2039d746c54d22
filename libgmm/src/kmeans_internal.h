/* kmeans_internal.h: the k-means object and the hidden k-means entry points
 * other modules use (the GMM's initialisations). Never call the exported
 * vl_kmeans_* functions from inside the library. */
#ifndef GMM_KMEANS_INTERNAL_H
#define GMM_KMEANS_INTERNAL_H

#include "internal.h"
#include "vl/kmeans.h"

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
GMM_HIDDEN void gmm_kmeans_delete(VlKMeans *self);
/* Energy, or NaN + last error on failure. */
GMM_HIDDEN double gmm_kmeans_cluster(VlKMeans *self, void const *data, size_t dimension,
                                     size_t numData, size_t numCenters);
/* Exact nearest center; `distances` may be NULL. VL_ERR_OK or an error code. */
GMM_HIDDEN int gmm_kmeans_quantize(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                   void const *data, size_t numData);
/* k-means++ seeding (VLFeat's draw order: one uindex(N), then K real1) of K
 * centers (K x D of `dataType`) from N x D data, with `distance`, drawing
 * from `rand`. The GMM's "rand" initialisation uses it too. */
GMM_HIDDEN int gmm_kmeans_seed_plusplus(vl_type dataType, VlVectorComparisonType distance,
                                        void const *data, size_t dimension, size_t numData,
                                        size_t numCenters, void *centers, VlRand *rand);

#endif /* GMM_KMEANS_INTERNAL_H */
