/* estep.c: E-step parameters and workspaces; the typed E-step is estep.tc. */
#include <string.h>

#include "core/estep.h"

#define GMM_TEMPLATE "core/estep.tc"
#include "util/instantiate.h"

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

int gmm_ework_alloc(gmm_ework *w, gmm_eparams const *ep)
{
  size_t const es = gmm_type_size(ep->type);
  w->xpack = gmm_alloc_aligned(GMM_BLOCK, ep->D, es);
  w->tile = w->xpack ? gmm_alloc_aligned(GMM_BLOCK, ep->kp, es) : NULL;
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

