/* scatter.c: the full and tied statistics passes (see scatter.h); the typed
 * passes are scatter.tc. */
#include <string.h>

#include "core/scatter.h"

#define GMM_TEMPLATE "core/scatter.tc"
#include "util/instantiate.h"

int gmm_spass_init(gmm_spass *p, gmm_eparams const *ep, size_t N, int estep)
{
  size_t const es = gmm_type_size(ep->type), K = ep->K, D = ep->D, dp = gmm_kpad(ep->D);
  size_t const rows = GMM_SCATTER_BLOCKS * GMM_BLOCK;
  size_t const items = ep->cov == VlGMMFull ? (K > GMM_SCATTER_BLOCKS ? K : GMM_SCATTER_BLOCKS)
                                            : GMM_SCATTER_BLOCKS;
  size_t wbytes, per_block;
  int ok;

  memset(p, 0, sizeof *p);
  p->type = ep->type;
  p->cov = ep->cov;
  p->K = K;
  p->D = D;
  p->N = N;
  p->dp = dp;
  p->nw = gmm_workers(items, gmm_num_threads());
  /* full: GMM_BLOCK rows of dp and s1 (dp), of T; tied: GMM_BLOCK rows of dp doubles
   * and s1 (K x D of T) */
  if (ep->cov == VlGMMFull ? gmm_mul_size((GMM_BLOCK + 1) * es, dp, &wbytes)
                           : gmm_mul_size(K * es + GMM_BLOCK * sizeof(double), dp, &wbytes))
    return gmm_last_error();
  p->wstride = wbytes;
  ok = (p->q = gmm_alloc_aligned(rows, K, es)) &&
       (ep->cov != VlGMMFull || (p->qt = gmm_alloc_aligned(rows, K, es))) &&
       (p->block_ll = gmm_alloc_array(GMM_SCATTER_BLOCKS, 1, sizeof(double), 1)) &&
       (p->wbuf = gmm_alloc_array((size_t)p->nw, 1, sizeof(void *), 1));
  for (int t = 0; ok && t < p->nw; ++t) {
    ok = (p->wbuf[t] = gmm_alloc_aligned(wbytes, 1, 1)) != NULL;
    if (ok) memset(p->wbuf[t], 0, wbytes); /* the padding columns stay 0 */
  }
  if (ok && ep->cov == VlGMMTied) {
    /* per block: P (D x D), s0 (K), s1 (K x D) */
    ok = !gmm_mul_size(D + K, D, &per_block) && per_block <= SIZE_MAX - K &&
         (p->tied = gmm_alloc_array(GMM_SCATTER_BLOCKS, per_block + K, sizeof(double), 0)) &&
         (p->rref = gmm_alloc_array(K, D, sizeof(double), 0));
  }
  if (ok && estep) ok = (p->ws = gmm_ework_alloc_n(ep, p->nw)) != NULL;
  if (!ok) {
    gmm_spass_free(p);
    return gmm_last_error();
  }
  return VL_ERR_OK;
}

void gmm_spass_free(gmm_spass *p)
{
  gmm_free_aligned(p->q);
  gmm_free_aligned(p->qt);
  gmm_free(p->block_ll);
  if (p->wbuf)
    for (int t = 0; t < p->nw; ++t) gmm_free_aligned(p->wbuf[t]);
  gmm_free(p->wbuf);
  gmm_free(p->tied);
  gmm_free(p->rref);
  gmm_ework_free_n(p->ws, p->nw);
  memset(p, 0, sizeof *p);
}
