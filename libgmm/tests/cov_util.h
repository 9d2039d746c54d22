/* cov_util.h: data and helpers shared by the covariance-type tests
 * (test_gmm_cov.c, test_gmm_cov_em.c). */
#ifndef GMM_TEST_COV_UTIL_H
#define GMM_TEST_COV_UTIL_H

#include "test_util.h"
#include "vl/libgmm.h"

enum { CN = 9000, CD = 5, CK = 4 }; /* more points than one chunk of the full pass */

static double CX[CN * CD];   /* a mixture of CK correlated Gaussians */
static float CXF[CN * CD];
static vl_uint32 CLAB[CN];  /* the component of each point */

static char const *const COV_NAMES[] = {"diagonal", "full", "tied", "spherical"};
static vl_type const TYPES[] = {VL_TYPE_DOUBLE, VL_TYPE_FLOAT};

static void make_cov_data(void)
{
  test_seed(31);
  for (int i = 0; i < CN; ++i) {
    int const k = i % CK;
    double z[CD];
    for (int d = 0; d < CD; ++d) z[d] = test_normal();
    for (int d = 0; d < CD; ++d) {
      /* mean 5k along a direction, a lower-triangular mixing per component */
      double v = 5.0 * k * (d % 2 ? 1 : -0.5);
      for (int c = 0; c <= d; ++c) v += (c == d ? 1.0 + 0.3 * k : 0.4 * (k + 1) / (d + 1)) * z[c];
      CX[i * CD + d] = v;
      CXF[i * CD + d] = (float)v;
    }
    CLAB[i] = (vl_uint32)k;
  }
}

static size_t esize_of(vl_type t) { return t == VL_TYPE_FLOAT ? sizeof(float) : sizeof(double); }

static void const *data_of(vl_type t) { return t == VL_TYPE_FLOAT ? (void const *)CXF : CX; }

/* n values of type t at p, as doubles. */
static void to_d(vl_type t, void const *p, double *out, size_t n)
{
  for (size_t j = 0; j < n; ++j)
    out[j] = t == VL_TYPE_FLOAT ? (double)((float const *)p)[j] : ((double const *)p)[j];
}

/* n doubles as values of type t (into buf, which must hold n of them). */
static void const *from_d(vl_type t, double const *x, void *buf, size_t n)
{
  if (t == VL_TYPE_DOUBLE) return x;
  for (size_t j = 0; j < n; ++j) ((float *)buf)[j] = (float)x[j];
  return buf;
}

/* An exact-EM GMM of `cov` type, lower bound 0, no convergence test,
 * initialised from the true labels. */
static VlGMM *labelled_gmm_n(vl_type t, int cov, double reg, size_t n)
{
  VlGMM *g = vl_gmm_new(t, CD, CK);
  vl_gmm_set_covariance_type(g, (VlGMMCovarianceType)cov);
  vl_gmm_set_exact_em(g, 1);
  vl_gmm_set_covariance_lower_bound(g, 0);
  vl_gmm_set_reg_covar(g, reg);
  vl_gmm_set_convergence_threshold(g, 0);
  vl_gmm_init_with_labels(g, data_of(t), n, CLAB);
  return g;
}

static VlGMM *labelled_gmm(vl_type t, int cov, double reg)
{
  return labelled_gmm_n(t, cov, reg, CN);
}

/* |a - b| <= rtol max|b| over n values. */
static int close_all(double const *a, double const *b, size_t n, double rtol)
{
  double m = 0, e = 0;
  int finite = 1;
  for (size_t j = 0; j < n; ++j) {
    finite &= isfinite(a[j]) && isfinite(b[j]);
    if (fabs(b[j]) > m) m = fabs(b[j]);
    if (fabs(a[j] - b[j]) > e) e = fabs(a[j] - b[j]);
  }
  return finite && e <= rtol * m;
}

#endif /* GMM_TEST_COV_UTIL_H */
