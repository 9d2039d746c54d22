/* gmm.h: the GMM object and its hidden functions (gmm.c), called by the
 * exported shims of api/gmm_api.c. Functions named gmm_model_* take a
 * non-NULL object whose arguments the caller checked, unless they say
 * otherwise. */
#ifndef GMM_CORE_GMM_H
#define GMM_CORE_GMM_H

#include "core/pass.h"
#include "util/internal.h"
#include "vl/gmm.h"
#include "vl/libgmm.h"

/* VLFeat's constants. */
#define GMM_MIN_POSTERIOR 1e-2       /* M-step keeps q >= 1e-2 / K */
#define GMM_DEFAULT_LOWER_BOUND 1e-4 /* covariance lower bound, every dimension */
#define GMM_CONVERGENCE_EPS 1e-5     /* relative change of the summed log-likelihood */

struct VlGMM_ {
  vl_type dataType;
  size_t dimension;
  size_t numClusters;
  size_t numData;             /* N of the last init or EM */
  size_t maxNumIterations;
  size_t numRepetitions;
  int verbosity;
  void *means;                /* K x D */
  void *covariances;          /* covSize, in the layout of covType */
  void *priors;               /* K */
  void *posteriors;           /* numData x K (NULL before init/EM) */
  size_t posteriorsCapacity;  /* in elements */
  double *sigmaLowBound;      /* D */
  VlGMMInitialization initialization;
  VlKMeans *kmeansInit;
  int kmeansInitIsOwner;
  double LL;
  /* libgmm extensions */
  int storePosteriors;               /* keep the N x K posteriors (VLFeat: always) */
  double convergence;                /* relative LL change that ends EM (VLFeat: 1e-5) */
  vl_iteration_callback callback;    /* called after every E-step */
  void *callbackUser;
  int covType;                       /* VlGMMCovarianceType */
  size_t covSize;                    /* elements of covariances */
  double regCovar;                   /* added to the covariances' diagonals after M-steps */
  int exactEM;                       /* the exact variant for the diagonal type (others: always) */
};

/* Whether EM is the exact variant (vl/libgmm/gmm.h). */
static inline int gmm_model_exact(VlGMM const *self)
{
  return self->exactEM || self->covType != VlGMMDiagonal;
}

/* ---- lifecycle ---- */
GMM_HIDDEN VlGMM *gmm_model_new(vl_type dataType, size_t D, size_t K);
GMM_HIDDEN VlGMM *gmm_model_copy(VlGMM const *self);
GMM_HIDDEN void gmm_model_delete(VlGMM *self); /* NULL is a no-op */
/* Frees the posteriors and an owned k-means object; keeps the parameters. */
GMM_HIDDEN void gmm_model_reset(VlGMM *self);
/* Grow the posterior buffer to hold N x K (it never shrinks, as in VLFeat);
 * nothing to do when the object does not keep posteriors. */
GMM_HIDDEN int gmm_model_ensure_posteriors(VlGMM *self, size_t N);
/* A known covariance type: storage of its size, parameters zeroed. */
GMM_HIDDEN int gmm_model_set_covariance_type(VlGMM *self, int type);

/* ---- checks ---- */
/* N x D data: not NULL, N >= max(1, K), sizes without overflow, finite. */
GMM_HIDDEN int gmm_model_check_data(VlGMM const *self, void const *data, size_t N, char const *fn);
/* The parameters usable by EM (covariances raised to the bounds). */
GMM_HIDDEN int gmm_model_check_params(VlGMM const *self, char const *fn);
/* dst = src (n values of the data type): src not NULL, finite, and >= 0 with nonneg. */
GMM_HIDDEN int gmm_model_set_array(VlGMM *self, void *dst, void const *src, size_t n,
                                   char const *fn, char const *what, int nonneg);
/* The covariances in the type's layout: finite, variances >= 0, full and
 * tied matrices symmetric (up to 1e-5 sqrt(a_ii a_jj); stored as (A + A^T)/2). */
GMM_HIDDEN int gmm_model_set_covariances(VlGMM *self, void const *src, char const *fn);
/* The k-means object of the VlGMMKMeans initialisation (not owned; NULL: the default). */
GMM_HIDDEN int gmm_model_set_kmeans(VlGMM *self, VlKMeans *kmeans);
/* The largest finite value of the data type. */
GMM_HIDDEN double gmm_model_max_value(VlGMM const *self);

/* ---- training ---- */
/* EM from the current parameters; *stopped: the iteration callback stopped it
 * (the caller reports VL_ERR_INTERRUPTED with gmm_model_report_stopped). */
GMM_HIDDEN double gmm_model_em(VlGMM *self, void const *data, size_t N, int *stopped);
GMM_HIDDEN int gmm_model_init_rand(VlGMM *self, void const *data, size_t N);
GMM_HIDDEN int gmm_model_init_kmeans(VlGMM *self, void const *data, size_t N, VlKMeans *kmeansInit);
/* Labels checked (< K) by the caller. */
GMM_HIDDEN int gmm_model_init_labels(VlGMM *self, void const *data, size_t N,
                                     vl_uint32 const *labels);
/* Initialise and run EM numRepetitions times; keep the best. */
GMM_HIDDEN double gmm_model_cluster(VlGMM *self, void const *data, size_t N);
GMM_HIDDEN void gmm_model_report_stopped(char const *fn);

/* ---- E-steps ---- */
/* The object's E-step (covariances raised to the bounds); any output may be NULL. */
GMM_HIDDEN double gmm_model_estep(VlGMM const *self, void const *data, size_t N, void *posteriors,
                                  double *ll, vl_uint32 *labels);
/* The stateless E-step of checked parameters. */
GMM_HIDDEN double gmm_posteriors(vl_type type, void *posteriors, size_t K, size_t N,
                                 void const *priors, void const *means, size_t D,
                                 void const *covariances, void const *data);

/* ---- EM by sufficient statistics (layout: vl/libgmm/gmm.h) ---- */
GMM_HIDDEN size_t gmm_model_stats_size(VlGMM const *self);
/* A gmm_stats view of a flat statistics buffer (no copy). */
GMM_HIDDEN gmm_stats gmm_model_stats_view(VlGMM const *self, double *buf);
/* Splits given as 4 doubles each -> gmm_split, validated. */
GMM_HIDDEN int gmm_model_read_splits(VlGMM const *self, double const *splits, size_t n,
                                     gmm_split *out, char const *fn);
GMM_HIDDEN int gmm_model_stats_accumulate(VlGMM const *self, double *stats, void const *data,
                                          size_t numData, void const *ref,
                                          gmm_split const *splits, size_t numSplits);
/* VLFeat's M-step, or the exact one (which may fail, leaving self unchanged). */
GMM_HIDDEN int gmm_model_mstep(VlGMM *self, gmm_stats const *st, void const *ref, char const *fn);
GMM_HIDDEN size_t gmm_model_plan_restart(VlGMM const *self, double const *mass, size_t numData,
                                         size_t start, gmm_split *split);

#endif /* GMM_CORE_GMM_H */
