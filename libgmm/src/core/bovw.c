/* bovw.c: bags of visual words (see bovw.h); the typed encoders are bovw.tc. */
#include <string.h>

#include "core/bovw.h"

#define GMM_TEMPLATE "core/bovw.tc"
#include "util/instantiate.h"

void gmm_bovw_vote(double *w, size_t K, int gmm, int flags, double scale, double *h)
{
  int const soft = (flags & VL_BOVW_FLAG_SOFT) != 0;
  size_t best = 0;

  if (gmm) {
    if (soft) {
      for (size_t k = 0; k < K; ++k) h[k] += w[k];
      return;
    }
    for (size_t k = 1; k < K; ++k)
      if (w[k] > w[best]) best = k;
    h[best] += 1.0;
    return;
  }
  for (size_t k = 1; k < K; ++k)
    if (w[k] < w[best]) best = k;
  if (soft) {
    double const dmin = w[best];
    double sum = 0;
    for (size_t k = 0; k < K; ++k) {
      w[k] = w[k] == dmin ? 1.0 : exp(-(w[k] - dmin) * scale);
      sum += w[k];
    }
    for (size_t k = 0; k < K; ++k) h[k] += w[k] / sum;
    return;
  }
  h[best] += 1.0;
}

void gmm_bovw_normalize(double *h, size_t K, size_t n, int flags)
{
  if ((flags & VL_BOVW_FLAG_FREQUENCIES) && n > 0)
    for (size_t k = 0; k < K; ++k) h[k] /= (double)n;
  if (flags & VL_BOVW_FLAG_SQUARE_ROOT)
    for (size_t k = 0; k < K; ++k) h[k] = sqrt(h[k]);
  if (flags & VL_BOVW_FLAG_NORMALIZED) {
    double s = 0, den;
    for (size_t k = 0; k < K; ++k) s += h[k] * h[k];
    den = sqrt(s) > BOVW_MIN_NORM ? sqrt(s) : BOVW_MIN_NORM;
    for (size_t k = 0; k < K; ++k) h[k] /= den;
  }
}

void gmm_bovw_ws_free(gmm_bovw_ws *ws, int n)
{
  if (!ws) return;
  for (int t = 0; t < n; ++t) {
    gmm_free_aligned(ws[t].tile);
    gmm_ework_free(&ws[t].ew);
    gmm_free(ws[t].row);
  }
  gmm_free(ws);
}

gmm_bovw_ws *gmm_bovw_ws_alloc(size_t K, size_t kp, size_t elem, gmm_eparams const *ep, int n)
{
  gmm_bovw_ws *ws = gmm_alloc_array((size_t)n, 1, sizeof *ws, 1);
  if (!ws) return NULL;
  for (int t = 0; t < n; ++t) {
    int ok;
    ws[t].row = gmm_alloc_array(3, K, sizeof(double), 0);
    ok = ws[t].row != NULL;
    if (ok) {
      ws[t].total = ws[t].row + K;
      ws[t].acc = ws[t].row + 2 * K;
      if (ep)
        ok = gmm_ework_alloc(&ws[t].ew, ep) == VL_ERR_OK;
      else
        ok = (ws[t].tile = gmm_alloc_aligned(GMM_BLOCK, kp, elem)) != NULL;
    }
    if (!ok) {
      gmm_bovw_ws_free(ws, t + 1);
      return NULL;
    }
  }
  return ws;
}

int gmm_bovw_overflow(char const *fn, size_t image)
{
  return gmm_error(VL_ERR_OVERFLOW,
                   "%s: image %zu: a descriptor's votes are not computable: it is too far from "
                   "every center or component for the data type; rescale the data", fn, image);
}
