/* gmm_pass.c: sufficient-statistics passes (see gmm_pass.h). */
#include <string.h>

#include "gmm_pass.h"
#include "template.h"

/* Slabs per pass: one per GMM_SLAB_POINTS points, at most GMM_MAX_SLABS, and
 * their statistics may take at most GMM_SLAB_BYTES_CAP. The count depends
 * only on N, K and D, never on the number of threads. */
#define GMM_MAX_SLABS 16
#define GMM_SLAB_BYTES_CAP ((size_t)64 << 20)

#define T float
#define SFX f
#include "gmm_pass.tc"
#undef T
#undef SFX

#define T double
#define SFX d
#include "gmm_pass.tc"
#undef T
#undef SFX

int gmm_stats_alloc(gmm_stats *st, size_t K, size_t D)
{
  memset(st, 0, sizeof *st);
  st->K = K;
  st->D = D;
  st->s0 = gmm_alloc_array(K, 1, sizeof(double), 1);
  st->s0all = st->s0 ? gmm_alloc_array(K, 1, sizeof(double), 1) : NULL;
  st->s1 = st->s0all ? gmm_alloc_array(K, D, sizeof(double), 1) : NULL;
  st->s2 = st->s1 ? gmm_alloc_array(K, D, sizeof(double), 1) : NULL;
  if (!st->s2) {
    gmm_stats_free(st);
    return gmm_last_error();
  }
  return VL_ERR_OK;
}

void gmm_stats_free(gmm_stats *st)
{
  gmm_free(st->s0);
  gmm_free(st->s0all);
  gmm_free(st->s1);
  gmm_free(st->s2);
  st->s0 = st->s0all = st->s1 = st->s2 = NULL;
}

void gmm_stats_zero(gmm_stats *st)
{
  memset(st->s0, 0, st->K * sizeof(double));
  memset(st->s0all, 0, st->K * sizeof(double));
  memset(st->s1, 0, st->K * st->D * sizeof(double));
  memset(st->s2, 0, st->K * st->D * sizeof(double));
  st->ll = st->nsparse = st->nkept = st->n = 0;
}

int gmm_stats_finite(gmm_stats const *st)
{
  int ok = 1;
  for (size_t k = 0; k < st->K; ++k) ok &= (st->s0[k] - st->s0[k] == 0) & (st->s0all[k] - st->s0all[k] == 0);
  for (size_t j = 0; j < st->K * st->D; ++j) ok &= (st->s1[j] - st->s1[j] == 0) & (st->s2[j] - st->s2[j] == 0);
  return ok;
}

void gmm_stats_add(gmm_stats *dst, gmm_stats const *src)
{
  size_t const K = dst->K, KD = dst->K * dst->D;
  for (size_t k = 0; k < K; ++k) {
    dst->s0[k] += src->s0[k];
    dst->s0all[k] += src->s0all[k];
  }
  for (size_t j = 0; j < KD; ++j) {
    dst->s1[j] += src->s1[j];
    dst->s2[j] += src->s2[j];
  }
  dst->ll += src->ll;
  dst->nsparse += src->nsparse;
  dst->nkept += src->nkept;
  dst->n += src->n;
}

static size_t slab_count(size_t N, size_t K, size_t D)
{
  size_t const per_slab = (K * (2 * D + 2)) * sizeof(double); /* no overflow: K*D checked by caller */
  size_t n = N / GMM_SLAB_POINTS < GMM_MAX_SLABS ? N / GMM_SLAB_POINTS : GMM_MAX_SLABS;
  size_t cap = per_slab ? GMM_SLAB_BYTES_CAP / per_slab : n;
  if (n > cap) n = cap;
  return n ? n : 1;
}

int gmm_pass_init(gmm_pass *p, vl_type type, size_t K, size_t D, size_t N, gmm_eparams const *ep)
{
  size_t const es = gmm_type_size(type);
  size_t kd, accn, accbytes;

  memset(p, 0, sizeof *p);
  p->type = type;
  p->K = K;
  p->D = D;
  p->N = N;
  p->nt = gmm_num_threads();
  /* s2 (K x D doubles), s0, s0all, s1 (K + K + K x D of T), flags, indices */
  if (gmm_mul_size(K, D, &kd) || gmm_mul_size(kd, sizeof(double) + es, &accbytes))
    return gmm_last_error();
  accn = 2 * K * es + K + 8 + K * sizeof(vl_uint32);
  if (accbytes > SIZE_MAX - accn) return gmm_error(VL_ERR_OVERFLOW, "statistics buffers too large");
  accbytes += accn;
  p->nslabs = slab_count(N, K, D);

  p->slab = gmm_alloc_array(p->nslabs, 1, sizeof(gmm_stats), 1);
  if (!p->slab) goto fail;
  for (size_t s = 0; s < p->nslabs; ++s)
    if (gmm_stats_alloc(&p->slab[s], K, D) != VL_ERR_OK) goto fail;
  p->acc = gmm_alloc_array((size_t)p->nt, 1, sizeof(void *), 1);
  if (!p->acc) goto fail;
  for (int t = 0; t < p->nt; ++t) {
    p->acc[t] = gmm_alloc_array(accbytes, 1, 1, 1);
    if (!p->acc[t]) goto fail;
  }
  if (ep && !(p->ws = gmm_ework_alloc_n(ep, p->nt))) goto fail;
  return VL_ERR_OK;

fail:
  {
    int const err = gmm_last_error();
    gmm_pass_free(p);
    return err ? err : VL_ERR_ALLOC;
  }
}

void gmm_pass_free(gmm_pass *p)
{
  if (p->slab)
    for (size_t s = 0; s < p->nslabs; ++s) gmm_stats_free(&p->slab[s]);
  gmm_free(p->slab);
  if (p->acc)
    for (int t = 0; t < p->nt; ++t) gmm_free(p->acc[t]);
  gmm_free(p->acc);
  gmm_ework_free_n(p->ws, p->nt);
  memset(p, 0, sizeof *p);
}

void gmm_pass_rows(gmm_pass const *p, int tid, gmm_eparams const *ep, void const *data,
                   void *post, void const *ref, gmm_pass_opts const *opts, size_t r0, size_t r1,
                   gmm_stats *st)
{
  gmm_kernels const *kern = gmm_kernels_get();
  gmm_ework *ws = p->ws ? &p->ws[tid] : NULL;
  if (p->type == VL_TYPE_FLOAT)
    pass_rows_f(p, ep, kern, (float const *)data, (float *)post, (float const *)ref, opts, r0, r1,
                ws, p->acc[tid], st);
  else
    pass_rows_d(p, ep, kern, (double const *)data, (double *)post, (double const *)ref, opts, r0,
                r1, ws, p->acc[tid], st);
}

/* First row of slab s of S over N rows (slab boundaries on block boundaries,
 * so every block is the same whatever the slab count). */
static size_t slab_start(size_t s, size_t S, size_t N)
{
  size_t const nblocks = (N + GMM_EBLOCK - 1) / GMM_EBLOCK;
  size_t const r = (s * nblocks / S) * GMM_EBLOCK;
  return r < N ? r : N;
}

void gmm_pass_span(gmm_pass const *p, int tid, gmm_eparams const *ep, void const *data,
                   void const *ref, gmm_pass_opts const *opts, size_t r0, size_t r1,
                   gmm_stats *tmp, gmm_stats *out)
{
  size_t const N = r1 - r0, S = slab_count(N, p->K, p->D);
  gmm_stats_zero(out);
  for (size_t s = 0; s < S; ++s) {
    gmm_stats_zero(tmp);
    gmm_pass_rows(p, tid, ep, data, NULL, ref, opts, r0 + slab_start(s, S, N),
                  r0 + slab_start(s + 1, S, N), tmp);
    gmm_stats_add(out, tmp);
  }
}

void gmm_pass_run(gmm_pass *p, gmm_eparams const *ep, void const *data, void *post,
                  void const *ref, gmm_pass_opts const *opts, gmm_stats *out)
{
  size_t const S = p->nslabs;

#ifdef _OPENMP
#pragma omp parallel for num_threads(p->nt) schedule(dynamic, 1) if (S > 1)
#endif
  for (size_t s = 0; s < S; ++s) {
    gmm_stats_zero(&p->slab[s]);
    gmm_pass_rows(p, gmm_thread_id(), ep, data, post, ref, opts, slab_start(s, S, p->N),
                  slab_start(s + 1, S, p->N), &p->slab[s]);
  }
  gmm_stats_zero(out);
  for (size_t s = 0; s < S; ++s) gmm_stats_add(out, &p->slab[s]);
}
