/* estep.c: E-step parameters, per-block E-step and the whole-array E-step. */
#include <string.h>

#include "estep.h"
#include "template.h"

#define T float
#define SFX f
#include "estep.tc"
#undef T
#undef SFX

#define T double
#define SFX d
#include "estep.tc"
#undef T
#undef SFX

int gmm_eparams_alloc(gmm_eparams *ep, vl_type type, size_t K, size_t D)
{
  size_t const es = gmm_type_size(type);
  memset(ep, 0, sizeof *ep);
  ep->type = type;
  ep->K = K;
  ep->D = D;
  ep->kp = gmm_kpad(K);
  ep->s = gmm_alloc_aligned(D, ep->kp, es);
  ep->m = ep->s ? gmm_alloc_aligned(D, ep->kp, es) : NULL;
  ep->c = ep->m ? gmm_alloc_aligned(1, ep->kp, es) : NULL;
  ep->shift = ep->c ? gmm_alloc_aligned(1, D, es) : NULL;
  if (!ep->shift) {
    gmm_eparams_free(ep);
    return gmm_last_error();
  }
  return VL_ERR_OK;
}

void gmm_eparams_free(gmm_eparams *ep)
{
  gmm_free_aligned(ep->s);
  gmm_free_aligned(ep->m);
  gmm_free_aligned(ep->c);
  gmm_free_aligned(ep->shift);
  ep->s = ep->m = ep->c = ep->shift = NULL;
}

void gmm_eparams_set(gmm_eparams *ep, void const *priors, void const *means,
                     void const *covariances)
{
  if (ep->type == VL_TYPE_FLOAT)
    eparams_set_f(ep, (float const *)priors, (float const *)means, (float const *)covariances);
  else
    eparams_set_d(ep, (double const *)priors, (double const *)means,
                  (double const *)covariances);
}

int gmm_ework_alloc(gmm_ework *w, gmm_eparams const *ep)
{
  size_t const es = gmm_type_size(ep->type);
  w->xpack = gmm_alloc_aligned(GMM_EBLOCK, ep->D, es);
  w->tile = w->xpack ? gmm_alloc_aligned(GMM_EBLOCK, ep->kp, es) : NULL;
  if (!w->tile) {
    gmm_ework_free(w);
    return gmm_last_error();
  }
  return VL_ERR_OK;
}

void gmm_ework_free(gmm_ework *w)
{
  gmm_free_aligned(w->xpack);
  gmm_free_aligned(w->tile);
  w->xpack = w->tile = NULL;
}

/* Log-joint of point x (D floats) and component k, in double, from the float
 * parameters: c_k - 1/2 sum_d ((x_d - shift_d) s_kd - m_kd)^2. A term that is
 * not a number (an m_kd that overflowed float) counts as an infinite distance. */
static double redo_logjoint_f(gmm_eparams const *ep, float const *x, size_t k)
{
  size_t const D = ep->D, kp = ep->kp;
  float const *s = (float const *)ep->s, *m = (float const *)ep->m;
  float const *shift = (float const *)ep->shift;
  double const c = (double)((float const *)ep->c)[k];
  double dist = 0;
  if (c == -INFINITY) return -INFINITY;
  for (size_t d = 0; d < D; ++d) {
    double const z = ((double)x[d] - (double)shift[d]) * (double)s[d * kp + k] - (double)m[d * kp + k];
    dist += z * z;
  }
  return isnan(dist) ? -INFINITY : c - 0.5 * dist;
}

/* A float E-step row whose log-likelihood is not finite: the scaled squared
 * distance of the point to every component overflowed float (the point is
 * more than ~1e19 standard deviations from all of them), so the log-sum-exp
 * saw only -inf (NaN posteriors). The true log-likelihood is finite:
 * recompute the row in double, from the same float parameters. Returns the
 * row's log-likelihood. */
static double redo_row_f(gmm_eparams const *ep, float const *x, float *q)
{
  size_t const K = ep->K;
  double lmax = -INFINITY, sum = 0;
  for (size_t k = 0; k < K; ++k) {
    double const l = redo_logjoint_f(ep, x, k);
    if (l > lmax) lmax = l;
  }
  if (lmax == -INFINITY) return NAN; /* no component left: not reachable from the callers */
  for (size_t k = 0; k < K; ++k) sum += exp(redo_logjoint_f(ep, x, k) - lmax);
  for (size_t k = 0; k < K; ++k) q[k] = (float)(exp(redo_logjoint_f(ep, x, k) - lmax) / sum);
  return log(sum) + lmax;
}

double gmm_estep_block(gmm_eparams const *ep, gmm_kernels const *kern, void const *x, size_t n,
                       gmm_ework *ws, void *q, size_t ldq, double *ll)
{
  if (ep->type == VL_TYPE_FLOAT) {
    double llb[GMM_EBLOCK], total;
    double *rows = ll ? ll : llb;
    int redo = 0;
    total = estep_block_f(ep, kern, (float const *)x, n, ws, (float *)q, ldq, rows);
    for (size_t i = 0; i < n; ++i)
      if (!isfinite(rows[i])) {
        rows[i] = redo_row_f(ep, (float const *)x + i * ep->D, (float *)q + i * ldq);
        redo = 1;
      }
    if (redo) {
      total = 0; /* the same order as estep_block_f's sum */
      for (size_t i = 0; i < n; ++i) total += rows[i];
    }
    return total;
  }
  return estep_block_d(ep, kern, (double const *)x, n, ws, (double *)q, ldq, ll);
}

gmm_ework *gmm_ework_alloc_n(gmm_eparams const *ep, int n)
{
  gmm_ework *w = gmm_alloc_array((size_t)n, 1, sizeof *w, 1);
  if (!w) return NULL;
  for (int t = 0; t < n; ++t) {
    if (gmm_ework_alloc(&w[t], ep) != VL_ERR_OK) {
      gmm_ework_free_n(w, t);
      return NULL;
    }
  }
  return w;
}

void gmm_ework_free_n(gmm_ework *w, int n)
{
  if (!w) return;
  for (int t = 0; t < n; ++t) gmm_ework_free(&w[t]);
  gmm_free(w);
}

double gmm_estep(gmm_eparams const *ep, void const *data, size_t N, void *posteriors)
{
  size_t const es = gmm_type_size(ep->type);
  size_t const nblocks = (N + GMM_EBLOCK - 1) / GMM_EBLOCK;
  int const nt = gmm_num_threads();
  gmm_kernels const *kern = gmm_kernels_get();
  double *block_ll = gmm_alloc_array(nblocks ? nblocks : 1, 1, sizeof(double), 1);
  gmm_ework *ws = block_ll ? gmm_ework_alloc_n(ep, nt) : NULL;
  double total = 0;

  if (!ws) {
    gmm_free(block_ll);
    return NAN;
  }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nblocks > 1)
#endif
  for (size_t b = 0; b < nblocks; ++b) {
    gmm_ework *w = &ws[gmm_thread_id()];
    size_t const i0 = b * GMM_EBLOCK;
    size_t const n = (N - i0 < GMM_EBLOCK) ? N - i0 : GMM_EBLOCK;
    block_ll[b] = gmm_estep_block(ep, kern, (char const *)data + i0 * ep->D * es, n, w,
                                  (char *)posteriors + i0 * ep->K * es, ep->K, NULL);
  }
  /* Summed in block order: the same result for any number of threads. */
  for (size_t b = 0; b < nblocks; ++b) total += block_ll[b];
  gmm_ework_free_n(ws, nt);
  gmm_free(block_ll);
  return total;
}
