/* kmeans.c: k-means (VLFeat 0.9.21 semantics).
 *
 * Seeding (random selection, k-means++), refinement (Lloyd, Elkan, ANN with
 * a randomised kd-forest), repetitions and quantization. The numerical
 * bodies live in kmeans.tc, kmeans_ann.tc and kmeans_refine.tc, instantiated
 * once per data type; this file holds
 * the object, the argument checks and the hidden gmm_kmeans_* functions that
 * the exported shims (api/kmeans_api.c) and the GMM's initialisations call.
 *
 * Random draws come from the calling thread's default generator, in VLFeat's
 * order, so seeded seeding (and Lloyd/Elkan refinement from it) reproduce
 * VLFeat. Deliberate differences (docs/vlfeat-differences.md): K > N, K = 0,
 * D = 0, NULL
 * data, NaN/Inf data and distances other than L1/L2 are errors; the energy of
 * the last cluster/refine is stored; new_copy copies everything; the L1
 * update computes every median before restarting empty clusters; a failed
 * call leaves the object as it was.
 *
 * Sample weights (libgmm's extension, vl/libgmm/kmeans.h) enter the
 * seeding (probabilities proportional to the weights), the center update
 * (weighted means, weighted medians for L1), the energy and the
 * statistics; without weights (or with all weights equal to 1) every
 * computation is the unweighted one, bit for bit (kmeans_weights.c).
 *
 * The stopping rule (libgmm's extension) is VLFeat's by default
 * (kmeans_refine.tc) or scikit-learn's (kmeans_sklearn.tc: its stopping
 * tests, iteration count, relocation of empty clusters and final
 * assignment). */
#include <stdlib.h>
#include <string.h>

#include "core/kmeans.h"
#include "core/sched.h"
#include "simd/kernels.h"

/* L2 assignment tiles: about KM_TILE_ELEMS distances per thread, with
 * KM_BLOCK_MIN..KM_BLOCK_MAX points per block. */
#define KM_TILE_ELEMS 65536
#define KM_BLOCK_MIN 8
#define KM_BLOCK_MAX 256
/* The parallel L2 center update: ranges of dimensions, a multiple of
 * KM_DCHUNK wide, at most KM_DRANGES_PER_THREAD per thread. Each range walks
 * every point and reads its piece of each row: the update streams the data
 * from memory, and pieces of 256 bytes or more read it at full speed where
 * 64-byte pieces (one range per cache line) took 1.3x as long at D=128 (a
 * single thread reading whole rows of 64 floats is as fast as two threads
 * reading halves of them). */
#define KM_DCHUNK 64
#define KM_DRANGES_PER_THREAD 1
/* Parallel loops only for at least this many element operations (small
 * problems run faster on one thread), over ranges of KM_GRAIN points. */
#define KM_PAR_WORK 65536.0
#define KM_GRAIN 256
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
  /* Sample weights, as the numerics use them (kmeans_weights.c): NULL when every
   * point weighs the same; else one weight per point, 0 or 1 when all the
   * positive weights are equal (`wequal`), otherwise scaled by a power of
   * two so that the largest is in [1, 2). */
  double const *w;
  double wscale;     /* the given weights are wscale x w: energies are reported x wscale */
  size_t npos;       /* points with a positive weight (N without weights) */
  size_t const *pos; /* their indices, increasing; NULL when every point has one */
  int wequal;        /* every positive weight is the same */
  VlKMeansStoppingRule rule;
  double shiftThreshold; /* scikit-learn's rule: the absolute center shift threshold */
} km_ctx;

/* What a refinement did (vl_kmeans_get_num_iterations and the other getters). */
typedef struct {
  size_t iterations;
  VlKMeansStopReason reason;
  double shift, threshold;
} km_run;

/* An energy of the internal weights in the scale of the given ones. */
static double km_user(km_ctx const *c, double energy) { return energy * c->wscale; }

/* Reports an iteration to the callback; nonzero means stop. */
static int km_report(km_ctx const *c, size_t t, double energy)
{
  if (c->callback && c->callback(c->callbackUser, (vl_size)t, km_user(c, energy))) {
    *c->stopped = 1;
    if (c->verbosity > 0) gmm_printf("kmeans: stopped by the iteration callback");
    return 1;
  }
  return 0;
}

/* Threads for a loop of `work` element operations. */
static int km_threads(km_ctx const *c, double work) { return work >= KM_PAR_WORK ? c->nthreads : 1; }

/* The j-th point with a positive weight (j < npos). */
static size_t km_point(km_ctx const *c, size_t j) { return c->pos ? c->pos[j] : j; }

#define GMM_TEMPLATE "core/kmeans.tc"
#include "util/instantiate.h"
#define GMM_TEMPLATE "core/kmeans_weights.tc"
#include "util/instantiate.h"
#define GMM_TEMPLATE "core/kmeans_ann.tc"
#include "util/instantiate.h"
#define GMM_TEMPLATE "core/kmeans_refine.tc"
#include "util/instantiate.h"
#define GMM_TEMPLATE "core/kmeans_sklearn.tc"
#include "util/instantiate.h"

/* ---- helpers ---------------------------------------------------------------- */

static void ctx_init(km_ctx *c, VlKMeans const *self, size_t D, size_t K, gmm_kmeans_weights const *kw,
                     int *stopped)
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
  c->w = kw ? kw->w : NULL;
  c->wscale = kw ? kw->scale : 1.0;
  c->npos = kw ? kw->npos : 0;
  c->pos = kw ? kw->pos : NULL;
  c->wequal = kw ? kw->equal : 1;
  c->rule = self->stoppingRule;
  c->shiftThreshold = 0;
}

/* The stopping rule's checks and, for scikit-learn's, the center shift
 * threshold of the N points (the tolerance times their mean variance). */
static int ctx_rule(km_ctx *c, VlKMeans const *self, void const *data, size_t N, char const *fn)
{
  int err = VL_ERR_OK;
  if (c->rule != VlKMeansStopSklearn) return VL_ERR_OK;
  GMM_REQUIRE(self->distance == VlDistanceL2, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: scikit-learn's stopping rule needs the L2 distance", fn);
  if (self->centerShiftTolerance > 0)
    c->shiftThreshold = self->centerShiftTolerance *
                        GMM_DISPATCH(self->dataType, mean_variance, c, data, N, &err);
  return err;
}

/* Records what the kept run did. */
static void kmeans_adopt_run(VlKMeans *self, km_run const *run)
{
  self->numIterations = run->iterations;
  self->stopReason = run->reason;
  self->centerShift = run->shift;
  self->centerShiftThreshold = run->threshold;
}

int gmm_kmeans_check_distance(VlVectorComparisonType distance, char const *fn)
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
  GMM_REQUIRE(self, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: NULL k-means object", fn);
  if ((err = gmm_check_type(self->dataType, fn))) return err;
  if ((err = gmm_kmeans_check_distance(self->distance, fn))) return err;
  GMM_REQUIRE(self->algorithm == VlKMeansLloyd || self->algorithm == VlKMeansElkan ||
                  self->algorithm == VlKMeansANN,
              VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: unknown algorithm %d", fn, (int)self->algorithm);
  GMM_REQUIRE(self->initialization == VlKMeansRandomSelection ||
                  self->initialization == VlKMeansPlusPlus,
              VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: unknown initialization %d", fn,
              (int)self->initialization);
  GMM_REQUIRE(self->numTrees >= 1, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: numTrees is 0", fn);
  GMM_REQUIRE(self->numRepetitions >= 1, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: numRepetitions is 0", fn);
  return VL_ERR_OK;
}

/* D >= 1, 1 <= K <= N, K fits the 32-bit assignments. */
static int check_sizes(size_t D, size_t N, size_t K, char const *fn)
{
  GMM_REQUIRE(D, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: dimension is 0", fn);
  GMM_REQUIRE(K, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: numCenters is 0", fn);
  GMM_REQUIRE(K <= 0x7fffffffU, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: numCenters (%zu) is too large", fn, K);
  GMM_REQUIRE(K <= N, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: numCenters (%zu) exceeds numData (%zu)",
              fn, K, N);
  return VL_ERR_OK;
}

static void *copy_array(void const *src, size_t a, size_t b, size_t elem)
{
  void *dst = gmm_alloc_array(a, b, elem, 0);
  if (dst) memcpy(dst, src, a * b * elem);
  return dst;
}

void gmm_kmeans_reset(VlKMeans *self)
{
  gmm_free(self->centers);
  gmm_free(self->centerDistances);
  self->centers = NULL;
  self->centerDistances = NULL;
  self->numCenters = 0;
  self->dimension = 0;
  self->energy = 0;
  self->numIterations = 0;
  self->stopReason = VlKMeansNotRun;
  self->centerShift = self->centerShiftThreshold = NAN;
}

/* Replaces the centers with `centers` (owned from now on). */
static void kmeans_adopt(VlKMeans *self, void *centers, size_t D, size_t K, double energy)
{
  gmm_kmeans_reset(self);
  self->centers = centers;
  self->dimension = D;
  self->numCenters = K;
  self->energy = energy;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

VlKMeans *gmm_kmeans_new(vl_type dataType, VlVectorComparisonType distance)
{
  VlKMeans *self;
  if (gmm_check_type(dataType, "vl_kmeans_new") ||
      gmm_kmeans_check_distance(distance, "vl_kmeans_new"))
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
  self->stoppingRule = VlKMeansStopVLFeat;
  self->centerShiftTolerance = 1e-4;
  self->numIterations = 0;
  self->stopReason = VlKMeansNotRun;
  self->centerShift = self->centerShiftThreshold = NAN;
  return self;
}

void gmm_kmeans_delete(VlKMeans *self)
{
  if (!self) return;
  gmm_kmeans_reset(self);
  gmm_free(self);
}

VlKMeans *gmm_kmeans_new_copy(VlKMeans const *src)
{
  size_t const es = gmm_type_size(src->dataType);
  VlKMeans *self = gmm_alloc_array(1, 1, sizeof *self, 1);
  if (!self) return NULL;
  *self = *src;
  self->centers = NULL;
  self->centerDistances = NULL;
  if ((src->centers &&
       !(self->centers = copy_array(src->centers, src->numCenters, src->dimension, es))) ||
      (src->centerDistances &&
       !(self->centerDistances =
             copy_array(src->centerDistances, src->numCenters, src->numCenters, es)))) {
    gmm_kmeans_delete(self);
    return NULL;
  }
  return self;
}

/* ---- training and quantization ---------------------------------------------------- */

static void report_stopped(char const *fn)
{
  gmm_error(VL_ERR_INTERRUPTED, "%s: stopped by the iteration callback (the centers are valid)", fn);
}

double gmm_kmeans_cluster(VlKMeans *self, void const *data, size_t dimension, size_t numData,
                          size_t numCenters, double const *weights, vl_uint32 *assignments,
                          char const *fn)
{
  km_ctx c;
  km_run run = {0, VlKMeansNotRun, NAN, NAN};
  gmm_kmeans_weights kw;
  void *best = NULL;
  int err = VL_ERR_OK, stopped;
  double E;
  if (check_object(self, fn) || check_sizes(dimension, numData, numCenters, fn) ||
      gmm_check_data(fn, "data", self->dataType, data, numData, dimension) ||
      gmm_kmeans_weights_init(&kw, weights, numData, numCenters, fn))
    return NAN;
  ctx_init(&c, self, dimension, numCenters, &kw, &stopped);
  if ((err = ctx_rule(&c, self, data, numData, fn))) {
    gmm_kmeans_weights_free(&kw);
    return NAN;
  }
  E = GMM_DISPATCH(self->dataType, cluster, &c, self->initialization, self->numRepetitions, data,
                   numData, &best, assignments, &run, &err);
  gmm_kmeans_weights_free(&kw);
  if (err) return NAN;
  E = km_user(&c, E);
  kmeans_adopt(self, best, dimension, numCenters, E);
  kmeans_adopt_run(self, &run);
  if (stopped) report_stopped(fn);
  return E;
}

double gmm_kmeans_refine(VlKMeans *self, void const *data, size_t numData,
                         double const *weights, vl_uint32 *assignments, char const *fn)
{
  km_ctx c;
  km_run run = {0, VlKMeansNotRun, NAN, NAN};
  gmm_kmeans_weights kw;
  void *work;
  int err = VL_ERR_OK, stopped;
  double E = NAN;
  if (check_object(self, fn)) return NAN;
  if (!self->centers) {
    gmm_error(VL_ERR_BAD_STATE, "%s: the object has no centers (set or initialise them first)",
              fn);
    return NAN;
  }
  if (check_sizes(self->dimension, numData, self->numCenters, fn) ||
      gmm_check_data(fn, "data", self->dataType, data, numData, self->dimension) ||
      gmm_kmeans_weights_init(&kw, weights, numData, self->numCenters, fn))
    return NAN;
  work = copy_array(self->centers, self->numCenters, self->dimension,
                    gmm_type_size(self->dataType));
  if (!work) {
    gmm_kmeans_weights_free(&kw);
    return NAN;
  }
  ctx_init(&c, self, self->dimension, self->numCenters, &kw, &stopped);
  if (!(err = ctx_rule(&c, self, data, numData, fn)))
    E = GMM_DISPATCH(self->dataType, refine, &c, work, data, numData, assignments, &run, &err);
  gmm_kmeans_weights_free(&kw);
  if (err) {
    gmm_free(work);
    return NAN;
  }
  E = km_user(&c, E);
  kmeans_adopt(self, work, c.D, c.K, E);
  kmeans_adopt_run(self, &run);
  if (stopped) report_stopped(fn);
  return E;
}

/* `assignments` is only checked when `need_assignments`. */
static int check_quantize(VlKMeans const *self, vl_uint32 const *assignments, int need_assignments,
                          void const *data, size_t numData, char const *fn)
{
  int err;
  if ((err = check_object(self, fn))) return err;
  GMM_REQUIRE(self->centers, VL_ERR_BAD_STATE, VL_ERR_BAD_STATE,
              "%s: the object has no centers (cluster, set or initialise them first)", fn);
  GMM_REQUIRE(numData == 0 || assignments || !need_assignments, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: assignments is NULL", fn);
  return gmm_check_data(fn, "data", self->dataType, data, numData, self->dimension);
}

int gmm_kmeans_quantize(VlKMeans *self, vl_uint32 *assignments, void *distances,
                        void const *data, size_t numData)
{
  km_ctx c;
  int stopped;
  int err = check_quantize(self, assignments, 1, data, numData, "vl_kmeans_quantize");
  if (err) return err;
  if (numData == 0) return VL_ERR_OK;
  ctx_init(&c, self, self->dimension, self->numCenters, NULL, &stopped);
  return GMM_DISPATCH(self->dataType, quantize, &c, self->centers, assignments, distances, data,
                      numData);
}

double gmm_kmeans_quantize_energy(VlKMeans *self, vl_uint32 *assignments, void *distances,
                                  void const *data, size_t numData, double const *weights)
{
  static char const fn[] = "vl_kmeans_quantize_energy";
  km_ctx c;
  int stopped, err;
  vl_uint32 *assign = assignments, *ownAssign = NULL;
  void *dist = distances, *ownDist = NULL;
  double E = NAN;
  if ((err = check_quantize(self, assignments, 0, data, numData, fn)) ||
      (err = gmm_check_weights(fn, weights, numData, 1)))
    return NAN;
  if (numData == 0) return 0;
  if ((!assign && !(assign = ownAssign = gmm_alloc_array(numData, 1, sizeof *assign, 0))) ||
      (!dist &&
       !(dist = ownDist = gmm_alloc_array(numData, 1, gmm_type_size(self->dataType), 0)))) {
    err = gmm_last_error();
    goto done;
  }
  ctx_init(&c, self, self->dimension, self->numCenters, NULL, &stopped);
  if ((err = GMM_DISPATCH(self->dataType, quantize, &c, self->centers, assign, dist, data,
                          numData)))
    goto done;
  E = GMM_DISPATCH(self->dataType, sum, dist, weights, numData);
done:
  gmm_free(ownAssign);
  gmm_free(ownDist);
  return err ? NAN : E;
}

int gmm_kmeans_quantize_ann(VlKMeans *self, vl_uint32 *assignments, void *distances,
                            void const *data, size_t numData, int update)
{
  km_ctx c;
  int stopped;
  size_t where;
  int err = check_quantize(self, assignments, 1, data, numData, "vl_kmeans_quantize_ann");
  if (err) return err;
  if (numData == 0) return VL_ERR_OK;
  /* the current distances are an input: NaN would silently keep any assignment */
  if (update && distances && GMM_DISPATCH(self->dataType, find_nan, distances, numData, &where))
    return gmm_error(VL_ERR_BAD_ARG,
                     "vl_kmeans_quantize_ann: distances contain NaN (distance %zu; with "
                     "update the distances of the current assignments are read)", where);
  ctx_init(&c, self, self->dimension, self->numCenters, NULL, &stopped);
  return GMM_DISPATCH(self->dataType, quantize_ann, &c, self->centers, assignments, distances,
                      data, numData, update);
}

int gmm_kmeans_set_centers(VlKMeans *self, void const *centers, size_t D, size_t K)
{
  static char const fn[] = "vl_kmeans_set_centers";
  void *copy;
  int err;
  GMM_REQUIRE(D, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: dimension is 0", fn);
  GMM_REQUIRE(K, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: numCenters is 0", fn);
  GMM_REQUIRE(K <= 0x7fffffffU, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: numCenters (%zu) is too large", fn, K);
  if ((err = gmm_check_data(fn, "centers", self->dataType, centers, K, D))) return err;
  copy = copy_array(centers, K, D, gmm_type_size(self->dataType));
  if (!copy) return gmm_last_error();
  kmeans_adopt(self, copy, D, K, 0);
  return VL_ERR_OK;
}

int gmm_kmeans_init_centers(VlKMeans *self, void const *data, size_t D, size_t N, size_t K,
                            VlKMeansInitialization init, double const *weights, char const *fn)
{
  km_ctx c;
  gmm_kmeans_weights kw;
  void *centers;
  int err, stopped;
  if ((err = check_object(self, fn)) || (err = check_sizes(D, N, K, fn)) ||
      (err = gmm_check_data(fn, "data", self->dataType, data, N, D)) ||
      (err = gmm_kmeans_weights_init(&kw, weights, N, K, fn)))
    return err;
  centers = gmm_alloc_array(K, D, gmm_type_size(self->dataType), 0);
  if (!centers) {
    gmm_kmeans_weights_free(&kw);
    return gmm_last_error();
  }
  ctx_init(&c, self, D, K, &kw, &stopped);
  err = GMM_DISPATCH(self->dataType, seed, &c, init, data, N, centers, c.rand);
  gmm_kmeans_weights_free(&kw);
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
  if ((err = gmm_check_type(dataType, fn)) || (err = gmm_kmeans_check_distance(distance, fn)) ||
      (err = check_sizes(dimension, numData, numCenters, fn)) ||
      (err = gmm_check_data(fn, "data", dataType, data, numData, dimension)))
    return err;
  GMM_REQUIRE(centers, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: centers is NULL", fn);
  GMM_REQUIRE(rand, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: NULL generator", fn);
  memset(&c, 0, sizeof c);
  c.distance = distance;
  c.D = dimension;
  c.K = numCenters;
  c.numTrees = 1;
  c.nthreads = gmm_num_threads();
  c.kern = gmm_kernels_get();
  c.rand = rand;
  c.wscale = 1;
  c.npos = numData;
  c.wequal = 1;
  return GMM_DISPATCH(dataType, seed_plusplus, &c, data, numData, centers, rand);
}

/* ---- Lloyd by sufficient statistics ------------------------------------------------- */

int gmm_kmeans_check_stats(VlKMeans const *self, char const *fn)
{
  if (check_object(self, fn)) return gmm_last_error();
  GMM_REQUIRE(self->centers, VL_ERR_BAD_STATE, VL_ERR_BAD_STATE,
              "%s: the object has no centers (set or initialise them first)", fn);
  GMM_REQUIRE(self->distance == VlDistanceL2, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
              "%s: statistics need the L2 distance (the mean minimises it)", fn);
  return VL_ERR_OK;
}

size_t gmm_kmeans_stats_size(VlKMeans const *self)
{
  return self->numCenters * (self->dimension + 1) + 2;
}

int gmm_kmeans_stats_accumulate(VlKMeans const *self, double *stats, void const *data,
                                size_t numData, double const *weights, char const *fn)
{
  size_t const K = self->numCenters, D = self->dimension;
  vl_uint32 *assign = NULL;
  void *dist = NULL;
  int err;
  if (numData == 0) return VL_ERR_OK;
  if ((err = gmm_check_data(fn, "data", self->dataType, data, numData, D)) ||
      (err = gmm_check_weights(fn, weights, numData, 1)))
    return err;
  if (!(assign = gmm_alloc_array(numData, 1, sizeof *assign, 0)) ||
      !(dist = gmm_alloc_array(numData, 1, gmm_type_size(self->dataType), 0))) {
    err = gmm_last_error();
    goto done;
  }
  if ((err = gmm_kmeans_quantize((VlKMeans *)self, assign, dist, data, numData))) goto done;
  /* sequential sums in double: the same result for any thread count */
  stats[K * (D + 1)] += GMM_DISPATCH(self->dataType, stats_add, data, numData, D, assign, dist,
                                     weights, stats, stats + K);
  stats[K * (D + 1) + 1] += (double)numData;
done:
  gmm_free(dist);
  gmm_free(assign);
  return err;
}

int gmm_kmeans_update_from_stats(VlKMeans *self, double const *stats)
{
  static char const fn[] = "vl_kmeans_update_from_stats";
  size_t const K = self->numCenters, D = self->dimension, n = K * (D + 1) + 2;
  for (size_t j = 0; j < n; ++j)
    GMM_REQUIRE(isfinite(stats[j]), VL_ERR_BAD_ARG, VL_ERR_BAD_ARG, "%s: stats[%zu] is %g", fn, j,
                stats[j]);
  for (size_t k = 0; k < K; ++k)
    GMM_REQUIRE(stats[k] >= 0, VL_ERR_BAD_ARG, VL_ERR_BAD_ARG,
                "%s: negative count for center %zu", fn, k);
  GMM_DISPATCH(self->dataType, set_means, self->centers, stats, stats + K, K, D);
  self->energy = stats[K * (D + 1)];
  return VL_ERR_OK;
}
