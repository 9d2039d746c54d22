/* estep.c: E-step parameters and workspaces; the typed E-step is estep.tc. */
#include <string.h>

#include "core/estep.h"
#include "core/linalg.h"

#define GMM_TEMPLATE "core/estep.tc"
#include "util/instantiate.h"

int gmm_eparams_alloc(gmm_eparams *ep, vl_type type, size_t K, size_t D)
{
  return gmm_eparams_alloc_cov(ep, type, VlGMMDiagonal, K, D);
}

int gmm_eparams_alloc_cov(gmm_eparams *ep, vl_type type, int cov, size_t K, size_t D)
{
  size_t const es = gmm_type_size(type);
  int const diag = cov == VlGMMDiagonal || cov == VlGMMSpherical;
  size_t kd;
  int ok;
  memset(ep, 0, sizeof *ep);
  ep->type = type;
  ep->cov = cov;
  ep->K = K;
  ep->D = D;
  ep->kp = gmm_kpad(K);
  ep->minprior = GMM_MIN_PRIOR;
  ok = (ep->c = gmm_alloc_aligned(1, ep->kp, es)) && (ep->shift = gmm_alloc_aligned(1, D, es));
  if (ok && diag) ok = (ep->s = gmm_alloc_aligned(D, ep->kp, es)) != NULL;
  if (ok && cov != VlGMMFull) ok = (ep->m = gmm_alloc_aligned(D, ep->kp, es)) != NULL;
  if (ok && !diag) {
    ok = !gmm_mul_size(cov == VlGMMFull ? K : 1, D, &kd) &&
         (ep->u = gmm_alloc_aligned(kd, D, es)) &&
         (ep->work = gmm_alloc_array(2 * D, D, sizeof(double), 0));
    if (ok && cov == VlGMMFull) ok = (ep->um = gmm_alloc_aligned(K, D, es)) != NULL;
  }
  if (!ok) {
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
  gmm_free_aligned(ep->u);
  gmm_free_aligned(ep->um);
  gmm_free(ep->work);
  ep->s = ep->m = ep->c = ep->shift = ep->u = ep->um = NULL;
  ep->work = NULL;
}

int gmm_ework_alloc(gmm_ework *w, gmm_eparams const *ep)
{
  size_t const es = gmm_type_size(ep->type);
  int ok;
  memset(w, 0, sizeof *w);
  ok = (w->xpack = gmm_alloc_aligned(GMM_BLOCK, ep->D, es)) &&
       (w->tile = gmm_alloc_aligned(GMM_BLOCK, ep->kp, es));
  if (ok && (ep->cov == VlGMMFull || ep->cov == VlGMMTied))
    ok = (w->xt = gmm_alloc_aligned(ep->D, GMM_BLOCK, es)) &&
         (w->yt = gmm_alloc_aligned(ep->cov == VlGMMTied ? ep->D : 1, GMM_BLOCK, es));
  if (!ok) {
    gmm_ework_free(w);
    return gmm_last_error();
  }
  return VL_ERR_OK;
}

void gmm_ework_free(gmm_ework *w)
{
  gmm_free_aligned(w->xpack);
  gmm_free_aligned(w->tile);
  gmm_free_aligned(w->xt);
  gmm_free_aligned(w->yt);
  w->xpack = w->tile = w->xt = w->yt = NULL;
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

