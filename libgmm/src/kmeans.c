/* kmeans.c: k-means (VLFeat 0.9.21 semantics, spec section 5).
 *
 * Seeding (random selection, k-means++), refinement (Lloyd, Elkan, ANN with
 * a randomised kd-forest), repetitions and quantization. The numerical
 * bodies live in kmeans.tc, included once per data type; this file holds the
 * object, the argument checks, the hidden gmm_kmeans_* entry points the GMM
 * uses and the exported vl_kmeans_* shims.
 *
 * Random draws come from the calling thread's default generator, in VLFeat's
 * order, so seeded seeding (and Lloyd/Elkan refinement from it) reproduce
 * VLFeat. Deliberate differences (spec section 9): K > N, K = 0, D = 0, NULL
 * data, NaN/Inf data and distances other than L1/L2 are errors; the energy of
 * the last cluster/refine is stored; new_copy copies everything; the L1
 * update computes every median before restarting empty clusters; a failed
 * call leaves the object as it was. */
#include <string.h>
#include <math.h>
#include <float.h>
#ifdef _OPENMP
#  include <omp.h>
#endif

#include "kmeans_internal.h"
#include "simd/kernels.h"

#define KM_CAT_(a, b) a##_##b
#define KM_CAT(a, b) KM_CAT_(a, b)

/* L2 assignment tiles: about KM_TILE_ELEMS distances per thread, with
 * KM_BLOCK_MIN..KM_BLOCK_MAX points per block. */
#define KM_TILE_ELEMS 65536
#define KM_BLOCK_MIN 8
#define KM_BLOCK_MAX 256
/* Dimensions per task of the parallel L2 center update (one cache line of floats). */
#define KM_DCHUNK 16
/* Parallel regions only for loops of at least this many element operations
 * (small problems run faster on one thread, and spinning teams hurt when the
 * machine is oversubscribed). */
#define KM_PAR_WORK 65536.0
#define KM_WORTH(work) ((work) >= KM_PAR_WORK)
/* kd-forest: the split dimension is drawn among this many highest-variance ones. */
#define KM_KD_TOP 5

/* Everything a refinement needs, copied from the object (or given). */
typedef struct {
  VlVectorComparisonType distance;
  VlKMeansAlgorithm algorithm;
  size_t D, K;
  size_t maxNumIterations;
  double minEnergyVariation;
  size_t numTrees, maxNumComparisons;
  int verbosity;
  int nthreads;
  gmm_kernels const *kern;
  VlRand *rand;
  vl_iteration_callback callback;
  void *callbackUser;
  int *stopped; /* set when the callback asks to stop */
} km_ctx;

/* Reports an iteration to the callback; nonzero means stop. */
static int km_report(km_ctx const *c, size_t t, double energy)
{
  if (c->callback && c->callback(c->callbackUser, (vl_size)t, energy)) {
    *c->stopped = 1;
    if (c->verbosity > 0) gmm_printf("kmeans: stopped by the iteration callback");
    return 1;
  }
  return 0;
}

static inline int km_thread_num(void)
{
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

#define TYPE float
#define SFX f
#define TYPE_SLACK 1e-4
#define TYPE_EPS FLT_EPSILON
#include "kmeans.tc"
#undef TYPE
#undef SFX
#undef TYPE_SLACK
#undef TYPE_EPS

#define TYPE double
#define SFX d
#define TYPE_SLACK 1e-10
#define TYPE_EPS DBL_EPSILON
#include "kmeans.tc"
#undef TYPE
#undef SFX
#undef TYPE_SLACK
#undef TYPE_EPS

/* ---- helpers ---------------------------------------------------------------- */

static void ctx_init(km_ctx *c, VlKMeans const *self, size_t D, size_t K, int *stopped)
{
  *stopped = 0;
  c->callback = self->callback;
  c->callbackUser = self->callbackUser;
  c->stopped = stopped;
  c->distance = self->distance;
  c->algorithm = self->algorithm;
  c->D = D;
  c->K = K;
  c->maxNumIterations = self->maxNumIterations;
  c->minEnergyVariation = self->minEnergyVariation;
  c->numTrees = self->numTrees;
  c->maxNumComparisons = self->maxNumComparisons;
  c->verbosity = self->verbosity;
  c->nthreads = gmm_num_threads();
  c->kern = gmm_kernels_get();
  c->rand = gmm_rand_default();
}

static int is_float(vl_type t) { return t == VL_TYPE_FLOAT; }

static int check_distance(VlVectorComparisonType distance, char const *fn)
{
  if (distance == VlDistanceL1 || distance == VlDistanceL2) return VL_ERR_OK;
  return gmm_error(VL_ERR_BAD_ARG,
                   "%s: distance %d is not supported by k-means (use VlDistanceL1 = 0 or "
                   "VlDistanceL2 = 1)",
                   fn, (int)distance);
}

/* Object sanity for any computation (the fields are only set through checked
 * setters, but the struct is visible to internal code). */
static int check_object(VlKMeans const *self, char const *fn)
{
  int err;
  if (!self) return gmm_error(VL_ERR_BAD_ARG, "%s: NULL k-means object", fn);
  if ((err = gmm_check_type(self->dataType, fn))) return err;
  if ((err = check_distance(self->distance, fn))) return err;
  if (self->algorithm != VlKMeansLloyd && self->algorithm != VlKMeansElkan &&
      self->algorithm != VlKMeansANN)
    return gmm_error(VL_ERR_BAD_ARG, "%s: unknown algorithm %d", fn, (int)self->algorithm);
  if (self->initialization != VlKMeansRandomSelection &&
      self->initialization != VlKMeansPlusPlus)
    return gmm_error(VL_ERR_BAD_ARG, "%s: unknown initialization %d", fn,
                     (int)self->initialization);
  if (self->numTrees < 1) return gmm_error(VL_ERR_BAD_ARG, "%s: numTrees is 0", fn);
  if (self->numRepetitions < 1) return gmm_error(VL_ERR_BAD_ARG, "%s: numRepetitions is 0", fn);
  return VL_ERR_OK;
}

/* D >= 1, 1 <= K <= N, K fits the 32-bit assignments. */
static int check_sizes(size_t D, size_t N, size_t K, char const *fn)
{
  if (D == 0) return gmm_error(VL_ERR_BAD_ARG, "%s: dimension is 0", fn);
  if (K == 0) return gmm_error(VL_ERR_BAD_ARG, "%s: numCenters is 0", fn);
  if (K > 0x7fffffffU)
    return gmm_error(VL_ERR_BAD_ARG, "%s: numCenters (%zu) is too large", fn, K);
  if (K > N)
    return gmm_error(VL_ERR_BAD_ARG, "%s: numCenters (%zu) exceeds numData (%zu)", fn, K, N);
  return VL_ERR_OK;
}

/* N x D elements of type t at `data`: non-NULL (unless N = 0), addressable, finite. */
static int check_data(vl_type t, void const *data, size_t D, size_t N, char const *what,
                      char const *fn)
{
  size_t n, bytes;
  if (N == 0) return VL_ERR_OK;
  if (!data) return gmm_error(VL_ERR_BAD_ARG, "%s: %s is NULL", fn, what);
  if (gmm_mul_size(N, D, &n) || gmm_mul_size(n, gmm_type_size(t), &bytes))
    return gmm_error(VL_ERR_OVERFLOW, "%s: %s size %zu x %zu overflows", fn, what, N, D);
  if (!gmm_all_finite(t, data, n))
    return gmm_error(VL_ERR_BAD_ARG, "%s: %s contains NaN or Inf values", fn, what);
  return VL_ERR_OK;
}

static void *copy_array(void const *src, size_t a, size_t b, size_t elem)
{
  void *dst = gmm_alloc_array(a, b, elem, 0);
  if (dst) memcpy(dst, src, a * b * elem);
  return dst;
}

static void kmeans_reset(VlKMeans *self)
{
  gmm_free(self->centers);
  gmm_free(self->centerDistances);
  self->centers = NULL;
  self->centerDistances = NULL;
  self->numCenters = 0;
  self->dimension = 0;
  self->energy = 0;
}

/* Replaces the centers with `centers` (owned from now on). */
static void kmeans_adopt(VlKMeans *self, void *centers, size_t D, size_t K, double energy)
{
  kmeans_reset(self);
  self->centers = centers;
  self->dimension = D;
  self->numCenters = K;
  self->energy = energy;
}

/* ---- hidden entry points --------------------------------------------------------- */

VlKMeans *gmm_kmeans_new(vl_type dataType, VlVectorComparisonType distance)
{
  VlKMeans *self;
  if (gmm_check_type(dataType, "vl_kmeans_new") || check_distance(distance, "vl_kmeans_new"))
    return NULL;
  self = gmm_alloc_array(1, 1, sizeof *self, 1);
  if (!self) return NULL;
  self->dataType = dataType;
  self->distance = distance;
  self->algorithm = VlKMeansLloyd;
  self->initialization = VlKMeansRandomSelection;
  self->maxNumIterations = 100;
  self->minEnergyVariation = 1e-4;
  self->numRepetitions = 1;
  self->verbosity = 0;
  self->numTrees = 3;
  self->maxNumComparisons = 100;
  self->centers = NULL;
  self->centerDistances = NULL;
  self->energy = 0;
  return self;
}

void gmm_kmeans_delete(VlKMeans *self)
{
  if (!self) return;
  kmeans_reset(self);
  gmm_free(self);
}

static VlKMeans *kmeans_new_copy(VlKMeans const *src)
{
  size_t const es = gmm_type_size(src->dataType);
  VlKMeans *self = gmm_alloc_array(1, 1, sizeof *self, 1);
  if (!self) return NULL;
  *self = *src;
  self->centers = NULL;
  self->centerDistances = NULL;
  if (src->centers) {
    self->centers = copy_array(src->centers, src->numCenters, src->dimension, es);
    if (!self->centers) goto fail;
  }
  if (src->centerDistances) {
    self->centerDistances = copy_array(src->centerDistances, src->numCenters, src->numCenters, es);
    if (!self->centerDistances) goto fail;
  }
  return self;
fail:
  gmm_kmeans_delete(self);
  return NULL;
}

double gmm_kmeans_cluster(VlKMeans *self, void const *data, size_t dimension, size_t numData,
                          size_t numCenters)
{
  static char const fn[] = "vl_kmeans_cluster";
  km_ctx c;
  void *best = NULL;
  int err = VL_ERR_OK, stopped;
  double E;
  if (check_object(self, fn) || check_sizes(dimension, numData, numCenters, fn) ||
      check_data(self->dataType, data, dimension, numData, "data", fn))
    return NAN;
  ctx_init(&c, self, dimension, numCenters, &stopped);
  if (is_float(self->dataType)) {
    float *b = NULL;
    E = cluster_f(&c, self->initialization, self->numRepetitions, data, numData, &b, &err);
    best = b;
  } else {
    double *b = NULL;
    E = cluster_d(&c, self->initialization, self->numRepetitions, data, numData, &b, &err);
    best = b;
  }
  if (err) return NAN;
  kmeans_adopt(self, best, dimension, numCenters, E);
  if (stopped)
    gmm_error(VL_ERR_INTERRUPTED, "%s: stopped by the iteration callback (the centers are valid)", fn);
  return E;
}

static double kmeans_refine(VlKMeans *self, void const *data, size_t numData)
{
  static char const fn[] = "vl_kmeans_refine_centers";
  size_t const es = self ? gmm_type_size(self->dataType) : 0;
  km_ctx c;
  void *work;
  int err = VL_ERR_OK, stopped;
  double E;
  if (check_object(self, fn)) return NAN;
  if (!self->centers) {
    gmm_error(VL_ERR_BAD_STATE, "%s: the object has no centers (set or initialise them first)",
              fn);
    return NAN;
  }
  if (check_sizes(self->dimension, numData, self->numCenters, fn) ||
      check_data(self->dataType, data, self->dimension, numData, "data", fn))
    return NAN;
  work = copy_array(self->centers, self->numCenters, self->dimension, es);
  if (!work) return NAN;
  ctx_init(&c, self, self->dimension, self->numCenters, &stopped);
  E = is_float(self->dataType) ? refine_f(&c, work, data, numData, &err)
                               : refine_d(&c, work, data, numData, &err);
  if (err) {
    gmm_free(work);
    return NAN;
  }
  kmeans_adopt(self, work, c.D, c.K, E);
  if (stopped)
    gmm_error(VL_ERR_INTERRUPTED, "%s: stopped by the iteration callback (the centers are valid)", fn);
  return E;
}

static int check_quantize(VlKMeans const *self, vl_uint32 const *assignments, void const *data,
                          size_t numData, char const *fn)
{
  int err;
  if ((err = check_object(self, fn))) return err;
  if (!self->centers)
    return gmm_error(VL_ERR_BAD_STATE,
                     "%s: the object has no centers (cluster, set or initialise them first)", fn);
  if (numData > 0 && !assignments)
    return gmm_error(VL_ERR_BAD_ARG, "%s: assignments is NULL", fn);
  return check_data(self->dataType, data, self->dimension, numData, "data", fn);
}

int gmm_kmeans_quantize(VlKMeans *self, vl_uint32 *assignments, void *distances,
                        void const *data, size_t numData)
{
  km_ctx c;
  int stopped;
  int err = check_quantize(self, assignments, data, numData, "vl_kmeans_quantize");
  if (err) return err;
  if (numData == 0) return VL_ERR_OK;
  ctx_init(&c, self, self->dimension, self->numCenters, &stopped);
  return is_float(self->dataType)
             ? quantize_f(&c, self->centers, assignments, distances, data, numData)
             : quantize_d(&c, self->centers, assignments, distances, data, numData);
}

static int kmeans_quantize_ann(VlKMeans *self, vl_uint32 *assignments, void *distances,
                               void const *data, size_t numData, int update)
{
  km_ctx c;
  int stopped;
  int err = check_quantize(self, assignments, data, numData, "vl_kmeans_quantize_ann");
  if (err) return err;
  if (numData == 0) return VL_ERR_OK;
  if (update && distances) {
    /* the current distances are an input: NaN would silently keep any assignment */
    for (size_t i = 0; i < numData; ++i) {
      double const v = is_float(self->dataType) ? (double)((float const *)distances)[i]
                                                : ((double const *)distances)[i];
      if (isnan(v))
        return gmm_error(VL_ERR_BAD_ARG,
                         "vl_kmeans_quantize_ann: distances contain NaN (distance %zu; with "
                         "update the distances of the current assignments are read)", i);
    }
  }
  ctx_init(&c, self, self->dimension, self->numCenters, &stopped);
  return is_float(self->dataType)
             ? quantize_ann_f(&c, self->centers, assignments, distances, data, numData, update)
             : quantize_ann_d(&c, self->centers, assignments, distances, data, numData, update);
}

static int kmeans_set_centers(VlKMeans *self, void const *centers, size_t D, size_t K)
{
  static char const fn[] = "vl_kmeans_set_centers";
  void *copy;
  int err;
  if (!self) return gmm_error(VL_ERR_BAD_ARG, "%s: NULL k-means object", fn);
  if (D == 0) return gmm_error(VL_ERR_BAD_ARG, "%s: dimension is 0", fn);
  if (K == 0) return gmm_error(VL_ERR_BAD_ARG, "%s: numCenters is 0", fn);
  if (K > 0x7fffffffU)
    return gmm_error(VL_ERR_BAD_ARG, "%s: numCenters (%zu) is too large", fn, K);
  if ((err = check_data(self->dataType, centers, D, K, "centers", fn))) return err;
  copy = copy_array(centers, K, D, gmm_type_size(self->dataType));
  if (!copy) return gmm_last_error();
  kmeans_adopt(self, copy, D, K, 0);
  return VL_ERR_OK;
}

static int kmeans_init_centers(VlKMeans *self, void const *data, size_t D, size_t N, size_t K,
                               VlKMeansInitialization init, char const *fn)
{
  km_ctx c;
  void *centers;
  int err, stopped;
  if ((err = check_object(self, fn)) || (err = check_sizes(D, N, K, fn)) ||
      (err = check_data(self->dataType, data, D, N, "data", fn)))
    return err;
  centers = gmm_alloc_array(K, D, gmm_type_size(self->dataType), 0);
  if (!centers) return gmm_last_error();
  ctx_init(&c, self, D, K, &stopped);
  err = is_float(self->dataType) ? seed_f(&c, init, data, N, centers, c.rand)
                                 : seed_d(&c, init, data, N, centers, c.rand);
  if (err) {
    gmm_free(centers);
    return err;
  }
  kmeans_adopt(self, centers, D, K, 0);
  return VL_ERR_OK;
}

int gmm_kmeans_seed_plusplus(vl_type dataType, VlVectorComparisonType distance, void const *data,
                             size_t dimension, size_t numData, size_t numCenters, void *centers,
                             VlRand *rand)
{
  static char const fn[] = "k-means++ seeding";
  km_ctx c;
  int err;
  if ((err = gmm_check_type(dataType, fn)) || (err = check_distance(distance, fn)) ||
      (err = check_sizes(dimension, numData, numCenters, fn)) ||
      (err = check_data(dataType, data, dimension, numData, "data", fn)))
    return err;
  if (!centers) return gmm_error(VL_ERR_BAD_ARG, "%s: centers is NULL", fn);
  if (!rand) return gmm_error(VL_ERR_BAD_ARG, "%s: NULL generator", fn);
  memset(&c, 0, sizeof c);
  c.distance = distance;
  c.D = dimension;
  c.K = numCenters;
  c.numTrees = 1;
  c.nthreads = gmm_num_threads();
  c.kern = gmm_kernels_get();
  c.rand = rand;
  return is_float(dataType) ? seed_plusplus_f(&c, data, numData, centers, rand)
                            : seed_plusplus_d(&c, data, numData, centers, rand);
}

/* ---- exported shims ----------------------------------------------------------------- */

#define KM_SELF_OR(fn, ret)                                                    \
  gmm_clear_error();                                                           \
  if (!self) {                                                                 \
    gmm_error(VL_ERR_BAD_ARG, fn ": NULL k-means object");                     \
    return ret;                                                                \
  }

VL_EXPORT VlKMeans *vl_kmeans_new(vl_type dataType, VlVectorComparisonType distance)
{
  gmm_clear_error();
  return gmm_kmeans_new(dataType, distance);
}

VL_EXPORT VlKMeans *vl_kmeans_new_copy(VlKMeans const *kmeans)
{
  gmm_clear_error();
  if (!kmeans) {
    gmm_error(VL_ERR_BAD_ARG, "vl_kmeans_new_copy: NULL k-means object");
    return NULL;
  }
  return kmeans_new_copy(kmeans);
}

VL_EXPORT void vl_kmeans_delete(VlKMeans *self)
{
  gmm_clear_error();
  gmm_kmeans_delete(self);
}

VL_EXPORT void vl_kmeans_reset(VlKMeans *self)
{
  KM_SELF_OR("vl_kmeans_reset", )
  kmeans_reset(self);
}

VL_EXPORT double vl_kmeans_cluster(VlKMeans *self, void const *data, vl_size dimension,
                                   vl_size numData, vl_size numCenters)
{
  gmm_clear_error();
  return gmm_kmeans_cluster(self, data, dimension, numData, numCenters);
}

VL_EXPORT void vl_kmeans_quantize(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                  void const *data, vl_size numData)
{
  gmm_clear_error();
  gmm_kmeans_quantize(self, assignments, distances, data, numData);
}

VL_EXPORT void vl_kmeans_quantize_ann(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                      void const *data, vl_size numData, vl_bool update)
{
  gmm_clear_error();
  kmeans_quantize_ann(self, assignments, distances, data, numData, update != 0);
}

VL_EXPORT void vl_kmeans_set_centers(VlKMeans *self, void const *centers, vl_size dimension,
                                     vl_size numCenters)
{
  gmm_clear_error();
  kmeans_set_centers(self, centers, dimension, numCenters);
}

VL_EXPORT void vl_kmeans_init_centers_with_rand_data(VlKMeans *self, void const *data,
                                                     vl_size dimension, vl_size numData,
                                                     vl_size numCenters)
{
  gmm_clear_error();
  kmeans_init_centers(self, data, dimension, numData, numCenters, VlKMeansRandomSelection,
                      "vl_kmeans_init_centers_with_rand_data");
}

VL_EXPORT void vl_kmeans_init_centers_plus_plus(VlKMeans *self, void const *data,
                                                vl_size dimension, vl_size numData,
                                                vl_size numCenters)
{
  gmm_clear_error();
  kmeans_init_centers(self, data, dimension, numData, numCenters, VlKMeansPlusPlus,
                      "vl_kmeans_init_centers_plus_plus");
}

VL_EXPORT double vl_kmeans_refine_centers(VlKMeans *self, void const *data, vl_size numData)
{
  gmm_clear_error();
  return kmeans_refine(self, data, numData);
}

/* getters */

VL_EXPORT vl_type vl_kmeans_get_data_type(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_data_type", 0)
  return self->dataType;
}

VL_EXPORT VlVectorComparisonType vl_kmeans_get_distance(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_distance", (VlVectorComparisonType)0)
  return self->distance;
}

VL_EXPORT VlKMeansAlgorithm vl_kmeans_get_algorithm(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_algorithm", (VlKMeansAlgorithm)0)
  return self->algorithm;
}

VL_EXPORT VlKMeansInitialization vl_kmeans_get_initialization(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_initialization", (VlKMeansInitialization)0)
  return self->initialization;
}

VL_EXPORT vl_size vl_kmeans_get_num_repetitions(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_num_repetitions", 0)
  return self->numRepetitions;
}

VL_EXPORT vl_size vl_kmeans_get_dimension(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_dimension", 0)
  return self->dimension;
}

VL_EXPORT vl_size vl_kmeans_get_num_centers(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_num_centers", 0)
  return self->numCenters;
}

VL_EXPORT int vl_kmeans_get_verbosity(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_verbosity", 0)
  return self->verbosity;
}

VL_EXPORT vl_size vl_kmeans_get_max_num_iterations(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_max_num_iterations", 0)
  return self->maxNumIterations;
}

VL_EXPORT double vl_kmeans_get_min_energy_variation(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_min_energy_variation", NAN)
  return self->minEnergyVariation;
}

VL_EXPORT vl_size vl_kmeans_get_max_num_comparisons(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_max_num_comparisons", 0)
  return self->maxNumComparisons;
}

VL_EXPORT vl_size vl_kmeans_get_num_trees(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_num_trees", 0)
  return self->numTrees;
}

VL_EXPORT double vl_kmeans_get_energy(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_energy", NAN)
  return self->energy;
}

VL_EXPORT void const *vl_kmeans_get_centers(VlKMeans const *self)
{
  KM_SELF_OR("vl_kmeans_get_centers", NULL)
  return self->centers;
}

/* setters: an invalid value sets VL_ERR_BAD_ARG and leaves the field unchanged */

VL_EXPORT void vl_kmeans_set_algorithm(VlKMeans *self, VlKMeansAlgorithm algorithm)
{
  KM_SELF_OR("vl_kmeans_set_algorithm", )
  if (algorithm != VlKMeansLloyd && algorithm != VlKMeansElkan && algorithm != VlKMeansANN) {
    gmm_error(VL_ERR_BAD_ARG,
              "vl_kmeans_set_algorithm: unknown algorithm %d (Lloyd = 0, Elkan = 1, ANN = 2)",
              (int)algorithm);
    return;
  }
  self->algorithm = algorithm;
}

VL_EXPORT void vl_kmeans_set_initialization(VlKMeans *self, VlKMeansInitialization initialization)
{
  KM_SELF_OR("vl_kmeans_set_initialization", )
  if (initialization != VlKMeansRandomSelection && initialization != VlKMeansPlusPlus) {
    gmm_error(VL_ERR_BAD_ARG,
              "vl_kmeans_set_initialization: unknown initialization %d (RandomSelection = 0, "
              "PlusPlus = 1)",
              (int)initialization);
    return;
  }
  self->initialization = initialization;
}

VL_EXPORT void vl_kmeans_set_num_repetitions(VlKMeans *self, vl_size numRepetitions)
{
  KM_SELF_OR("vl_kmeans_set_num_repetitions", )
  if (numRepetitions < 1) {
    gmm_error(VL_ERR_BAD_ARG, "vl_kmeans_set_num_repetitions: numRepetitions must be >= 1, got 0");
    return;
  }
  self->numRepetitions = numRepetitions;
}

VL_EXPORT void vl_kmeans_set_max_num_iterations(VlKMeans *self, vl_size maxNumIterations)
{
  KM_SELF_OR("vl_kmeans_set_max_num_iterations", )
  self->maxNumIterations = maxNumIterations;
}

VL_EXPORT void vl_kmeans_set_min_energy_variation(VlKMeans *self, double minEnergyVariation)
{
  KM_SELF_OR("vl_kmeans_set_min_energy_variation", )
  if (!(minEnergyVariation >= 0) || !isfinite(minEnergyVariation)) {
    gmm_error(VL_ERR_BAD_ARG,
              "vl_kmeans_set_min_energy_variation: minEnergyVariation must be finite and >= 0, "
              "got %g", minEnergyVariation);
    return;
  }
  self->minEnergyVariation = minEnergyVariation;
}

VL_EXPORT void vl_kmeans_set_verbosity(VlKMeans *self, int verbosity)
{
  KM_SELF_OR("vl_kmeans_set_verbosity", )
  self->verbosity = verbosity;
}

VL_EXPORT void vl_kmeans_set_max_num_comparisons(VlKMeans *self, vl_size maxNumComparisons)
{
  KM_SELF_OR("vl_kmeans_set_max_num_comparisons", )
  self->maxNumComparisons = maxNumComparisons;
}

VL_EXPORT void vl_kmeans_set_iteration_callback(VlKMeans *self, vl_iteration_callback callback,
                                                void *user)
{
  KM_SELF_OR("vl_kmeans_set_iteration_callback", )
  self->callback = callback;
  self->callbackUser = user;
}

VL_EXPORT void vl_kmeans_set_num_trees(VlKMeans *self, vl_size numTrees)
{
  KM_SELF_OR("vl_kmeans_set_num_trees", )
  if (numTrees < 1) {
    gmm_error(VL_ERR_BAD_ARG, "vl_kmeans_set_num_trees: numTrees must be >= 1, got 0");
    return;
  }
  self->numTrees = numTrees;
}

/* ---- Lloyd by sufficient statistics ------------------------------------------------- */

static int check_stats_object(VlKMeans const *self, char const *fn)
{
  if (check_object(self, fn)) return gmm_last_error();
  if (!self->centers)
    return gmm_error(VL_ERR_BAD_STATE, "%s: the object has no centers (set or initialise them first)",
                     fn);
  if (self->distance != VlDistanceL2)
    return gmm_error(VL_ERR_BAD_ARG, "%s: statistics need the L2 distance (the mean minimises it)", fn);
  return VL_ERR_OK;
}

VL_EXPORT vl_size vl_kmeans_stats_size(VlKMeans const *self)
{
  static char const fn[] = "vl_kmeans_stats_size";
  gmm_clear_error();
  if (check_stats_object(self, fn)) return 0;
  return self->numCenters * (self->dimension + 1) + 2;
}

VL_EXPORT int vl_kmeans_stats_accumulate(VlKMeans const *self, double *stats, void const *data,
                                         vl_size numData)
{
  static char const fn[] = "vl_kmeans_stats_accumulate";
  size_t const K = self ? self->numCenters : 0, D = self ? self->dimension : 0;
  vl_uint32 *assign;
  void *dist;
  double *counts = stats, *sums = stats + K;
  double energy = 0;
  int err;
  gmm_clear_error();
  if ((err = check_stats_object(self, fn))) return err;
  if (!stats) return gmm_error(VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  if (numData == 0) return VL_ERR_OK;
  if ((err = check_data(self->dataType, data, D, numData, "data", fn))) return err;
  assign = gmm_alloc_array(numData, 1, sizeof *assign, 0);
  dist = assign ? gmm_alloc_array(numData, 1, gmm_type_size(self->dataType), 0) : NULL;
  if (!dist) {
    gmm_free(assign);
    return gmm_last_error();
  }
  if ((err = gmm_kmeans_quantize((VlKMeans *)self, assign, dist, data, numData)) == VL_ERR_OK) {
    /* sequential sums in double: the same result for any thread count */
    for (size_t i = 0; i < numData; ++i) {
      size_t const k = assign[i];
      double *sk = sums + k * D;
      counts[k] += 1;
      if (is_float(self->dataType)) {
        float const *x = (float const *)data + i * D;
        for (size_t d = 0; d < D; ++d) sk[d] += (double)x[d];
        energy += (double)((float const *)dist)[i];
      } else {
        double const *x = (double const *)data + i * D;
        for (size_t d = 0; d < D; ++d) sk[d] += x[d];
        energy += ((double const *)dist)[i];
      }
    }
    stats[K * (D + 1)] += energy;
    stats[K * (D + 1) + 1] += (double)numData;
  }
  gmm_free(dist);
  gmm_free(assign);
  return err;
}

VL_EXPORT int vl_kmeans_stats_merge(VlKMeans const *self, double *dst, double const *src)
{
  static char const fn[] = "vl_kmeans_stats_merge";
  int err;
  gmm_clear_error();
  if ((err = check_stats_object(self, fn))) return err;
  if (!dst || !src) return gmm_error(VL_ERR_BAD_ARG, "%s: NULL buffer", fn);
  for (size_t j = 0, n = self->numCenters * (self->dimension + 1) + 2; j < n; ++j) dst[j] += src[j];
  return VL_ERR_OK;
}

VL_EXPORT int vl_kmeans_update_from_stats(VlKMeans *self, double const *stats)
{
  static char const fn[] = "vl_kmeans_update_from_stats";
  size_t K, D, n;
  int err;
  gmm_clear_error();
  if ((err = check_stats_object(self, fn))) return err;
  if (!stats) return gmm_error(VL_ERR_BAD_ARG, "%s: stats is NULL", fn);
  K = self->numCenters;
  D = self->dimension;
  n = K * (D + 1) + 2;
  for (size_t j = 0; j < n; ++j)
    if (!isfinite(stats[j])) return gmm_error(VL_ERR_BAD_ARG, "%s: stats[%zu] is %g", fn, j, stats[j]);
  for (size_t k = 0; k < K; ++k) {
    double const count = stats[k];
    if (count < 0) return gmm_error(VL_ERR_BAD_ARG, "%s: negative count for center %zu", fn, k);
    if (count == 0) continue;
    for (size_t d = 0; d < D; ++d) {
      double const mean = stats[K + k * D + d] / count;
      if (is_float(self->dataType))
        ((float *)self->centers)[k * D + d] = (float)mean;
      else
        ((double *)self->centers)[k * D + d] = mean;
    }
  }
  self->energy = stats[K * (D + 1)];
  return VL_ERR_OK;
}
