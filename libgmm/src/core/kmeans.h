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
/* `weights` (numData doubles, or NULL: every point weighs 1) are the sample
 * weights of vl/libgmm/kmeans.h; `fn` names the entry point in errors. */
/* Energy, or NaN + last error on failure. */
GMM_HIDDEN double gmm_kmeans_cluster(VlKMeans *self, void const *data, size_t dimension,
                                     size_t numData, size_t numCenters, double const *weights,
                                     char const *fn);
/* Energy of the refined centers, or NaN + last error. */
GMM_HIDDEN double gmm_kmeans_refine(VlKMeans *self, void const *data, size_t numData,
                                    double const *weights, char const *fn);
/* Exact nearest center; `distances` may be NULL. VL_ERR_OK or an error code. */
GMM_HIDDEN int gmm_kmeans_quantize(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                   void const *data, size_t numData);
/* The same (both outputs may be NULL); returns the (weighted) sum of the
 * distances, or NaN + last error. */
GMM_HIDDEN double gmm_kmeans_quantize_energy(VlKMeans *self, vl_uint32 *assignments,
                                             void *distances, void const *data, size_t numData,
                                             double const *weights);
GMM_HIDDEN int gmm_kmeans_quantize_ann(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                       void const *data, size_t numData, int update);
GMM_HIDDEN int gmm_kmeans_set_centers(VlKMeans *self, void const *centers, size_t D, size_t K);
/* Seeding of K centers into the object; `fn` names the entry point in errors. */
GMM_HIDDEN int gmm_kmeans_init_centers(VlKMeans *self, void const *data, size_t D, size_t N,
                                       size_t K, VlKMeansInitialization init,
                                       double const *weights, char const *fn);
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
                                           size_t numData, double const *weights, char const *fn);
GMM_HIDDEN int gmm_kmeans_update_from_stats(VlKMeans *self, double const *stats);

/* ---- sample weights (kmeans_weights.c) ------------------------------------------------ */

/* The sample weights of a training call as the numerics use them: `w` NULL
 * when every point weighs the same, else N weights (0 or 1 when `equal`:
 * every positive weight the same; else rescaled by a power of two); `pos`
 * the indices of the `npos` points with a positive weight (NULL when that is
 * every point); the given weights are `scale` times `w`. */
typedef struct {
  double *w;
  size_t *pos;
  size_t npos;
  double scale;
  int equal;
} gmm_kmeans_weights;

/* From N given weights (NULL: unweighted) for K centers: copied, checked
 * (BAD_ARG for NaN, Inf, negative or all-zero weights, and for K above the
 * number of positive weights), rescaled. Free with gmm_kmeans_weights_free. */
GMM_HIDDEN int gmm_kmeans_weights_init(gmm_kmeans_weights *kw, double const *weights, size_t N,
                                       size_t K, char const *fn);
GMM_HIDDEN void gmm_kmeans_weights_free(gmm_kmeans_weights *kw);
/* A point drawn with probability proportional to its weight (N weights >= 0,
 * one positive): one real1, then the first point of positive weight whose
 * cumulative weight (in point order) reaches that fraction of the total. */
GMM_HIDDEN size_t gmm_kmeans_pick_weighted(double const *w, size_t N, VlRand *rand);

typedef struct {
  double key;
  size_t i;
} gmm_kmeans_key;

/* Weighted random selection's order: every point of positive weight (in
 * point order) draws u in (0, 1) (two uint32 draws) and gets the key
 * -log(u) / w_i, into `keys` (room for the positive weights, unsorted).
 * Returns their number. The order is by key, ties by index:
 * gmm_kmeans_sort_front puts the k smallest of n keys first, sorted. */
GMM_HIDDEN size_t gmm_kmeans_clocks(gmm_kmeans_key *keys, double const *w, size_t N,
                                    VlRand *rand);
GMM_HIDDEN void gmm_kmeans_sort_front(gmm_kmeans_key *keys, size_t n, size_t k);

#endif /* GMM_CORE_KMEANS_H */
