/* test_gmm_cov.c: the covariance types, reg_covar and the exact EM
 * (vl/libgmm/gmm.h) against closed forms written out here in long double:
 *  - the E-step (log-likelihoods and posteriors) of every type, with
 *    covariances built as A A^T from known triangular A (log det and the
 *    Mahalanobis term by forward substitution);
 *  - the initialisation from labels (one exact M-step: cluster means,
 *    scatter / (n + 10 eps) + reg_covar, priors (n + 10 eps) / sum);
 *  - a full GMM with diagonal covariances is the diagonal GMM;
 *  - exact EM never decreases the log-likelihood;
 *  - degenerate data (components collapsed on identical points) without
 *    reg_covar: the "not positive definite" error, the object left with the
 *    parameters and log-likelihood before the failed M-step; with reg_covar
 *    the closed form reg I;
 *  - the setters' validation and the copy.
 * Threads, the statistics API and allocation failures: test_gmm_cov_em.c. */
#include <float.h>

#include "cov_util.h"

/* ---- E-step against the closed form --------------------------------------- */

/* Component k's covariance factor A_k (lower-triangular, positive diagonal)
 * of each type: full, each its own; tied, one; diagonal, a diagonal;
 * spherical, a multiple of I. */
static void factor_of(int cov, int k, double *A)
{
  for (int r = 0; r < CD; ++r)
    for (int c = 0; c < CD; ++c) {
      double v = 0;
      int const kk = cov == VlGMMTied ? 1 : k;
      if (c == r) v = cov == VlGMMSpherical ? 0.7 + 0.4 * kk : 0.6 + 0.2 * kk + 0.15 * r;
      else if (c < r && (cov == VlGMMFull || cov == VlGMMTied)) v = 0.3 * (kk + 1) / (r + c + 1);
      A[r * CD + c] = v;
    }
}

/* The covariances (the type's layout, as doubles) from the factors. */
static size_t covs_of(int cov, double *out)
{
  size_t n = 0;
  for (int k = 0; k < (cov == VlGMMTied ? 1 : CK); ++k) {
    double A[CD * CD];
    factor_of(cov, k, A);
    if (cov == VlGMMSpherical) {
      out[n++] = A[0] * A[0];
      continue;
    }
    for (int r = 0; r < CD; ++r)
      for (int c = 0; c < CD; ++c) {
        double s = 0;
        for (int j = 0; j < CD; ++j) s += A[r * CD + j] * A[c * CD + j];
        if (cov == VlGMMDiagonal) {
          if (r == c) out[n++] = s;
        } else {
          out[n++] = s;
        }
      }
  }
  return n;
}

static void check_estep_closed_form(vl_type t, int cov)
{
  enum { NP = 300 };
  double const rtol = t == VL_TYPE_FLOAT ? 2e-5 : 1e-12;
  double mu[CK * CD], pri[CK] = {0.1, 0.2, 0.3, 0.4}, covs[CK * CD * CD], ll[NP];
  double post[NP * CK], postd[NP * CK];
  float buf[CK * CD * CD];
  VlGMM *g = vl_gmm_new(t, CD, CK);
  vl_gmm_set_covariance_type(g, (VlGMMCovarianceType)cov);
  vl_gmm_set_covariance_lower_bound(g, 0);
  for (int j = 0; j < CK * CD; ++j) mu[j] = CX[(j / CD) * 7 * CD + j % CD] + 0.5;
  vl_gmm_set_means(g, from_d(t, mu, buf, CK * CD));
  vl_gmm_set_covariances(g, from_d(t, covs, buf, covs_of(cov, covs)));
  vl_gmm_set_priors(g, from_d(t, pri, buf, CK));
  CHECK(vl_get_last_error() == VL_ERR_OK);
  {
    void *q = malloc(NP * CK * esize_of(t));
    vl_gmm_estep(g, data_of(t), NP, q, ll, NULL);
    CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message());
    to_d(t, q, post, NP * CK);
    free(q);
  }
  for (int i = 0; i < NP; ++i) {
    long double lj[CK], m = -INFINITY, s = 0, dmin = INFINITY;
    for (int k = 0; k < CK; ++k) {
      double A[CD * CD];
      long double y[CD], maha = 0, logdet = 0;
      factor_of(cov, k, A);
      for (int r = 0; r < CD; ++r) { /* A y = x - mu */
        long double v = (long double)(t == VL_TYPE_FLOAT ? CXF[i * CD + r] : CX[i * CD + r]) -
                        (t == VL_TYPE_FLOAT ? (float)mu[k * CD + r] : mu[k * CD + r]);
        for (int c = 0; c < r; ++c) v -= A[r * CD + c] * y[c];
        y[r] = v / A[r * CD + r];
        maha += y[r] * y[r];
        logdet += 2 * logl(A[r * CD + r]);
      }
      if (maha < dmin) dmin = maha;
      lj[k] = logl(pri[k]) - 0.5L * CD * logl(2 * 3.14159265358979323846L) - 0.5L * logdet -
              0.5L * maha;
      if (lj[k] > m) m = lj[k];
    }
    for (int k = 0; k < CK; ++k) s += expl(lj[k] - m);
    for (int k = 0; k < CK; ++k) postd[i * CK + k] = (double)(expl(lj[k] - m) / s);
    {
      double const ref = (double)(logl(s) + m), tol = rtol * (1 + fabs(ref) + (double)dmin);
      CHECK_MSG(fabs(ll[i] - ref) <= tol, "%s %s point %d: ll %.17g, closed form %.17g",
                t == VL_TYPE_FLOAT ? "float" : "double", COV_NAMES[cov], i, ll[i], ref);
    }
  }
  CHECK_MSG(close_all(post, postd, NP * CK, t == VL_TYPE_FLOAT ? 1e-4 : 1e-10),
            "%s posteriors", COV_NAMES[cov]);
  vl_gmm_delete(g);
}

/* A full GMM whose covariances are diagonal is the diagonal GMM (two
 * independent E-step paths: chol_dist and wdist). */
static void check_full_is_diagonal(vl_type t)
{
  double covs[CK * CD], full[CK * CD * CD] = {0}, lla[CN], llb[CN];
  float buf[CK * CD * CD];
  VlGMM *a = labelled_gmm(t, VlGMMDiagonal, 0), *b = vl_gmm_new(t, CD, CK);
  to_d(t, vl_gmm_get_covariances(a), covs, CK * CD);
  for (int k = 0; k < CK; ++k)
    for (int d = 0; d < CD; ++d) full[k * CD * CD + d * (CD + 1)] = covs[k * CD + d];
  vl_gmm_set_covariance_type(b, VlGMMFull);
  vl_gmm_set_means(b, vl_gmm_get_means(a));
  vl_gmm_set_priors(b, vl_gmm_get_priors(a));
  vl_gmm_set_covariances(b, from_d(t, full, buf, CK * CD * CD));
  vl_gmm_estep(a, data_of(t), CN, NULL, lla, NULL);
  vl_gmm_estep(b, data_of(t), CN, NULL, llb, NULL);
  CHECK(vl_get_last_error() == VL_ERR_OK);
  CHECK_MSG(close_all(llb, lla, CN, t == VL_TYPE_FLOAT ? 1e-5 : 1e-13), "full vs diagonal");
  vl_gmm_delete(a);
  vl_gmm_delete(b);
}

/* ---- initialisation from labels against the closed form -------------------- */

static void check_labels_closed_form(vl_type t, int cov, double reg)
{
  double const rtol = t == VL_TYPE_FLOAT ? 2e-5 : 1e-12;
  long double const eps10 = 10.0L * (t == VL_TYPE_FLOAT ? FLT_EPSILON : DBL_EPSILON);
  long double n[CK] = {0}, sum[CK][CD] = {{0}}, S[CK][CD][CD] = {{{0}}}, total = 0;
  double mu[CK * CD], got_mu[CK * CD], pri[CK], got_pri[CK], want[CK * CD * CD];
  double got[CK * CD * CD];
  size_t const size = cov == VlGMMFull ? CK * CD * CD : cov == VlGMMTied ? CD * CD
                      : cov == VlGMMDiagonal ? CK * CD : CK;
  VlGMM *g = labelled_gmm(t, cov, reg);
  CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message());
  CHECK(vl_gmm_get_covariances_size(g) == size);
  for (int i = 0; i < CN; ++i) {
    int const k = (int)CLAB[i];
    n[k] += 1;
    for (int d = 0; d < CD; ++d) sum[k][d] += t == VL_TYPE_FLOAT ? CXF[i * CD + d] : CX[i * CD + d];
  }
  for (int k = 0; k < CK; ++k) {
    total += n[k] + eps10;
    for (int d = 0; d < CD; ++d) mu[k * CD + d] = (double)(sum[k][d] / n[k]);
  }
  for (int i = 0; i < CN; ++i) {
    int const k = (int)CLAB[i];
    for (int r = 0; r < CD; ++r)
      for (int c = 0; c < CD; ++c)
        S[k][r][c] += ((long double)(t == VL_TYPE_FLOAT ? CXF[i * CD + r] : CX[i * CD + r]) -
                       (long double)sum[k][r] / n[k]) *
                      ((long double)(t == VL_TYPE_FLOAT ? CXF[i * CD + c] : CX[i * CD + c]) -
                       (long double)sum[k][c] / n[k]);
  }
  for (int k = 0; k < CK; ++k) {
    pri[k] = (double)((n[k] + eps10) / total);
    for (int r = 0; r < CD; ++r)
      for (int c = 0; c < CD; ++c) {
        long double const v = S[k][r][c] / (n[k] + eps10) + (r == c ? reg : 0);
        long double tied = 0;
        for (int j = 0; j < CK; ++j) tied += S[j][r][c];
        tied = tied / total + (r == c ? reg : 0);
        if (cov == VlGMMFull) want[k * CD * CD + r * CD + c] = (double)v;
        if (cov == VlGMMTied && k == 0) want[r * CD + c] = (double)tied;
        if (cov == VlGMMDiagonal && r == c) want[k * CD + r] = (double)v;
      }
    if (cov == VlGMMSpherical) {
      long double m = 0;
      for (int d = 0; d < CD; ++d) m += S[k][d][d] / (n[k] + eps10);
      want[k] = (double)(m / CD + reg);
    }
  }
  to_d(t, vl_gmm_get_means(g), got_mu, CK * CD);
  to_d(t, vl_gmm_get_priors(g), got_pri, CK);
  to_d(t, vl_gmm_get_covariances(g), got, size);
  CHECK_MSG(close_all(got_mu, mu, CK * CD, rtol), "%s means", COV_NAMES[cov]);
  CHECK_MSG(close_all(got_pri, pri, CK, rtol), "%s priors", COV_NAMES[cov]);
  CHECK_MSG(close_all(got, want, size, t == VL_TYPE_FLOAT ? 1e-4 : 1e-11), "%s covariances",
            COV_NAMES[cov]);
  vl_gmm_delete(g);
}

/* ---- exact EM: monotone log-likelihood ------------------------------------------ */

static int record(void *user, vl_size it, double ll)
{
  ((double *)user)[it] = ll;
  return 0;
}

static void check_monotone(vl_type t, int cov)
{
  double lls[21];
  VlGMM *g = vl_gmm_new(t, CD, CK);
  vl_gmm_set_covariance_type(g, (VlGMMCovarianceType)cov);
  vl_gmm_set_exact_em(g, 1);
  vl_gmm_set_covariance_lower_bound(g, 0); /* no bound, no reg_covar: EM proper */
  vl_gmm_set_convergence_threshold(g, 0);
  vl_rand_seed(vl_get_rand(), 5);
  vl_gmm_init_with_rand_data(g, data_of(t), CN); /* far from the labels' answer */
  vl_gmm_set_max_num_iterations(g, 20);
  vl_gmm_set_iteration_callback(g, record, lls);
  vl_gmm_em(g, data_of(t), CN);
  CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message());
  for (int it = 1; it <= 20; ++it)
    CHECK_MSG(lls[it] >= lls[it - 1] - (t == VL_TYPE_FLOAT ? 1e-5 : 1e-10) * fabs(lls[it - 1]),
              "%s %s iteration %d: %.17g < %.17g", t == VL_TYPE_FLOAT ? "float" : "double",
              COV_NAMES[cov], it, lls[it], lls[it - 1]);
  CHECK(lls[20] > lls[0]);
  vl_gmm_delete(g);
}

/* ---- degenerate data: "not positive definite" --------------------------------- */

static void check_degenerate(int cov)
{
  /* two groups of identical points, so far apart (in units of the initial
   * covariance I) that the posteriors are exactly one-hot; the means start
   * at the two points */
  enum { NP = 10, DD = 3, KK = 2 };
  double x[NP * DD], mu[KK * DD], covs[KK * DD * DD] = {0}, pri[KK] = {0.5, 0.5}, ll;
  double before[KK * DD * DD], after[KK * DD * DD], m_before[KK * DD], m_after[KK * DD];
  vl_uint32 lab[NP];
  size_t size;
  VlGMM *g = vl_gmm_new(VL_TYPE_DOUBLE, DD, KK);
  for (int i = 0; i < NP * DD; ++i) x[i] = i / DD < NP / 2 ? 100.0 : 0.0;
  for (int j = 0; j < KK * DD; ++j) mu[j] = j < DD ? 100.0 : 0.0;
  vl_gmm_set_covariance_type(g, (VlGMMCovarianceType)cov);
  if (cov == VlGMMDiagonal) vl_gmm_set_exact_em(g, 1);
  size = vl_gmm_get_covariances_size(g);
  for (size_t j = 0; j < size; ++j)
    covs[j] = (cov == VlGMMFull || cov == VlGMMTied) ? ((j % (DD * DD)) % (DD + 1) == 0) : 1.0;
  vl_gmm_set_covariance_lower_bound(g, 0);
  vl_gmm_set_means(g, mu);
  vl_gmm_set_covariances(g, covs);
  vl_gmm_set_priors(g, pri);
  ll = vl_gmm_estep(g, x, NP, NULL, NULL, NULL);
  memcpy(before, vl_gmm_get_covariances(g), size * sizeof(double));
  memcpy(m_before, vl_gmm_get_means(g), sizeof m_before);
  CHECK(isnan(vl_gmm_em(g, x, NP)));
  CHECK_MSG(vl_get_last_error() == VL_ERR_BAD_ARG &&
                strstr(vl_get_last_error_message(), "not positive definite after the M-step") &&
                strstr(vl_get_last_error_message(), "reg_covar"),
            "%s: %s", COV_NAMES[cov], vl_get_last_error_message());
  memcpy(after, vl_gmm_get_covariances(g), size * sizeof(double));
  memcpy(m_after, vl_gmm_get_means(g), sizeof m_after);
  CHECK(memcmp(before, after, size * sizeof(double)) == 0); /* the state before the M-step */
  CHECK(memcmp(m_before, m_after, sizeof m_after) == 0);
  CHECK(vl_gmm_get_loglikelihood(g) == ll);
  /* the same from labels (scikit-learn's initialisation from k-means) */
  for (int i = 0; i < NP; ++i) lab[i] = i < NP / 2 ? 0 : 1;
  vl_gmm_init_with_labels(g, x, NP, lab);
  CHECK_MSG(vl_get_last_error() == VL_ERR_BAD_ARG &&
                strstr(vl_get_last_error_message(), "vl_gmm_init_with_labels: the") &&
                strstr(vl_get_last_error_message(), "not positive definite after the M-step"),
            "%s: %s", COV_NAMES[cov], vl_get_last_error_message());
  vl_gmm_set_means(g, mu);
  vl_gmm_set_covariances(g, covs);
  vl_gmm_set_priors(g, pri);
  /* with reg_covar, the covariances are reg I (the points of a group are equal) */
  vl_gmm_set_reg_covar(g, 1e-6);
  vl_gmm_set_max_num_iterations(g, 3);
  CHECK(isfinite(vl_gmm_em(g, x, NP)) && vl_get_last_error() == VL_ERR_OK);
  {
    double const *c = vl_gmm_get_covariances(g);
    for (size_t j = 0; j < size; ++j) {
      int const diag = (cov == VlGMMFull || cov == VlGMMTied) ? (j % (DD * DD)) % (DD + 1) == 0 : 1;
      CHECK_CLOSE(c[j], diag ? 1e-6 : 0.0, 1e-6, 1e-20);
    }
  }
  vl_gmm_delete(g);
}

/* VLFeat's EM (the diagonal type's default) keeps VLFeat's behaviour: no error. */
static void check_degenerate_vlfeat(void)
{
  double x[20], mu[4] = {1, 1, 0, 0}, c[4] = {1, 1, 1, 1}, p[2] = {0.5, 0.5};
  VlGMM *g = vl_gmm_new(VL_TYPE_DOUBLE, 2, 2);
  for (int i = 0; i < 20; ++i) x[i] = i < 10 ? 1.0 : 0.0;
  vl_gmm_set_covariance_lower_bound(g, 0);
  vl_gmm_set_means(g, mu);
  vl_gmm_set_covariances(g, c);
  vl_gmm_set_priors(g, p);
  CHECK(isfinite(vl_gmm_em(g, x, 10)) && vl_get_last_error() == VL_ERR_OK);
  vl_gmm_delete(g);
}

/* ---- setters, validation, copies ------------------------------------------------- */

#define EXPECT(code, frag)                                                                   \
  CHECK_MSG(vl_get_last_error() == (code) && strstr(vl_get_last_error_message(), (frag)),     \
            "expected %d \"%s\", got %d \"%s\"", (code), (frag), vl_get_last_error(),         \
            vl_get_last_error_message())

static void check_api(void)
{
  double m[2 * 2] = {0, 0, 1, 1}, p[2] = {0.5, 0.5};
  double full[2 * 4] = {1, 0.5, 0.5, 2, 1, 0, 0, 1};
  VlGMM *g = vl_gmm_new(VL_TYPE_DOUBLE, 2, 2), *h;
  vl_uint32 lab[4] = {0, 1, 0, 2};
  CHECK(vl_gmm_get_covariance_type(g) == VlGMMDiagonal && vl_gmm_get_covariances_size(g) == 4);
  CHECK(!vl_gmm_get_exact_em(g) && vl_gmm_get_reg_covar(g) == 0);
  vl_gmm_set_means(g, m);
  vl_gmm_set_priors(g, p);
  vl_gmm_set_covariance_type(g, (VlGMMCovarianceType)7);
  EXPECT(VL_ERR_BAD_ARG, "unknown type 7");
  CHECK(vl_gmm_get_covariance_type(g) == VlGMMDiagonal);
  CHECK(((double const *)vl_gmm_get_means(g))[3] == 1); /* unchanged */
  vl_gmm_set_covariance_type(g, VlGMMFull);
  CHECK(vl_gmm_get_covariances_size(g) == 8 && vl_gmm_get_exact_em(g));
  CHECK(((double const *)vl_gmm_get_means(g))[3] == 0); /* reset */
  vl_gmm_set_covariance_type(g, VlGMMTied);
  CHECK(vl_gmm_get_covariances_size(g) == 4);
  vl_gmm_set_covariance_type(g, VlGMMSpherical);
  CHECK(vl_gmm_get_covariances_size(g) == 2);
  vl_gmm_set_exact_em(g, 0);
  EXPECT(VL_ERR_BAD_ARG, "diagonal covariance type only");
  vl_gmm_set_reg_covar(g, -1);
  EXPECT(VL_ERR_BAD_ARG, "vl_gmm_set_reg_covar");
  vl_gmm_set_reg_covar(g, NAN);
  EXPECT(VL_ERR_BAD_ARG, "vl_gmm_set_reg_covar");
  CHECK(vl_gmm_get_reg_covar(g) == 0);
  vl_gmm_set_covariance_type(g, VlGMMFull);
  full[1] = 0.6;
  vl_gmm_set_covariances(g, full);
  EXPECT(VL_ERR_BAD_ARG, "covariance 0 is not symmetric");
  full[1] = 0.5 + 1e-9; /* within the tolerance: stored symmetrised */
  vl_gmm_set_covariances(g, full);
  CHECK(vl_get_last_error() == VL_ERR_OK);
  CHECK(((double const *)vl_gmm_get_covariances(g))[1] == ((double const *)vl_gmm_get_covariances(g))[2]);
  full[7] = -1;
  vl_gmm_set_covariances(g, full);
  EXPECT(VL_ERR_BAD_ARG, "negative diagonal entry");
  full[7] = NAN;
  vl_gmm_set_covariances(g, full);
  EXPECT(VL_ERR_BAD_ARG, "NaN or Inf");
  full[7] = 1;
  full[4] = 0; /* singular: accepted by the setter, refused where it is used */
  full[5] = full[6] = 1e-3;
  vl_gmm_set_covariances(g, full);
  vl_gmm_set_means(g, m);
  vl_gmm_set_priors(g, p);
  vl_gmm_set_covariance_lower_bound(g, 0);
  CHECK(isnan(vl_gmm_estep(g, m, 2, NULL, NULL, NULL)));
  EXPECT(VL_ERR_BAD_ARG, "covariance 1 is not positive definite");
  vl_gmm_set_covariance_lower_bound(g, 1e-2); /* the bound makes it positive definite */
  CHECK(isfinite(vl_gmm_estep(g, m, 2, NULL, NULL, NULL)));
  vl_gmm_init_with_labels(g, m, 2, NULL);
  EXPECT(VL_ERR_BAD_ARG, "labels is NULL");
  vl_gmm_init_with_labels(g, CX, 4, lab);
  EXPECT(VL_ERR_BAD_ARG, "label 3 is 2");
  vl_gmm_set_reg_covar(g, 0.25);
  h = vl_gmm_new_copy(g);
  CHECK(vl_gmm_get_covariance_type(h) == VlGMMFull && vl_gmm_get_reg_covar(h) == 0.25);
  CHECK(memcmp(vl_gmm_get_covariances(h), vl_gmm_get_covariances(g), 8 * sizeof(double)) == 0);
  vl_gmm_delete(h);
  vl_gmm_delete(g);
  /* a covariance array beyond memory: refused, the object unchanged */
  g = vl_gmm_new(VL_TYPE_DOUBLE, 1 << 13, 1 << 8); /* 128 GB of full covariances */
  if (g) {
    vl_gmm_set_covariance_type(g, VlGMMFull);
    CHECK(vl_get_last_error() == VL_ERR_ALLOC || vl_get_last_error() == VL_ERR_OVERFLOW);
    CHECK(vl_gmm_get_covariance_type(g) == VlGMMDiagonal);
    vl_gmm_delete(g);
  }
}

int main(void)
{
  make_cov_data();
  vl_set_printf_func(NULL);
  check_api();
  for (int ti = 0; ti < 2; ++ti) {
    for (int cov = 0; cov < 4; ++cov) {
      check_estep_closed_form(TYPES[ti], cov);
      check_labels_closed_form(TYPES[ti], cov, 0);
      check_labels_closed_form(TYPES[ti], cov, 0.01);
      check_monotone(TYPES[ti], cov);
    }
    check_full_is_diagonal(TYPES[ti]);
  }
  for (int cov = 0; cov < 4; ++cov) check_degenerate(cov);
  check_degenerate_vlfeat();
  TEST_EXIT();
}
