/* gmm_internal.h: the GMM object (hidden). */
#ifndef GMM_GMM_INTERNAL_H
#define GMM_GMM_INTERNAL_H

#include "internal.h"
#include "vl/gmm.h"
#include "gmm_pass.h"

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
  void *covariances;          /* K x D */
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
};

#endif /* GMM_GMM_INTERNAL_H */
