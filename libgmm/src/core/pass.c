/* pass.c: sufficient-statistics passes (see pass.h); the typed passes are pass.tc. */
#include <string.h>

#include "core/pass.h"

/* pass_rows keeps the rows of a block as bytes */
_Static_assert(GMM_BLOCK <= 256, "GMM_BLOCK rows must fit in unsigned char");

#define GMM_TEMPLATE "core/pass.tc"
#include "util/instantiate.h"

int gmm_stats_s2_size(int cov, size_t K, size_t D, size_t *n2)
{
  size_t kd;
  switch (cov) {
    case VlGMMFull: return gmm_mul_size(K, D, &kd) || gmm_mul_size(kd, D, n2);
    case VlGMMTied: return gmm_mul_size(D, D, n2);
    default: return gmm_mul_size(K, D, n2);
  }
}

static int stats_alloc(gmm_stats *st, int cov, size_t K, size_t D, int zero)
{
  memset(st, 0, sizeof *st);
  st->K = K;
  st->D = D;
  st->cov = cov;
  if (gmm_stats_s2_size(cov, K, D, &st->n2)) return gmm_last_error();
  st->s0 = gmm_alloc_array(K, 1, sizeof(double), zero);
  st->s0all = st->s0 ? gmm_alloc_array(K, 1, sizeof(double), zero) : NULL;
  st->s1 = st->s0all ? gmm_alloc_array(K, D, sizeof(double), zero) : NULL;
  st->s2 = st->s1 ? gmm_alloc_array(st->n2, 1, sizeof(double), zero) : NULL;
  if (!st->s2) {
    gmm_stats_free(st);
    return gmm_last_error();
  }
  return VL_ERR_OK;
}

int gmm_stats_alloc(gmm_stats *st, size_t K, size_t D)
{
  return stats_alloc(st, VlGMMDiagonal, K, D, 1);
}

int gmm_stats_alloc_cov(gmm_stats *st, int cov, size_t K, size_t D)
{
  return stats_alloc(st, cov, K, D, 1);
}

int gmm_stats_alloc_unset(gmm_stats *st, size_t K, size_t D)
{
  return stats_alloc(st, VlGMMDiagonal, K, D, 0);
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
  memset(st->s2, 0, st->n2 * sizeof(double));
  st->ll = st->nsparse = st->nkept = st->n = 0;
}

int gmm_stats_finite(gmm_stats const *st)
{
  int ok = 1;
  for (size_t k = 0; k < st->K; ++k) ok &= (st->s0[k] - st->s0[k] == 0) & (st->s0all[k] - st->s0all[k] == 0);
  for (size_t j = 0; j < st->K * st->D; ++j) ok &= (st->s1[j] - st->s1[j] == 0);
  for (size_t j = 0; j < st->n2; ++j) ok &= (st->s2[j] - st->s2[j] == 0);
  return ok;
}

size_t gmm_stats_bytes(size_t K, size_t D)
{
  return (K * (2 * D + 2)) * sizeof(double); /* no overflow: K x D checked by the callers */
}

void gmm_stats_add(gmm_stats *dst, gmm_stats const *src)
{
  size_t const K = dst->K, KD = dst->K * dst->D;
  for (size_t k = 0; k < K; ++k) {
    dst->s0[k] += src->s0[k];
    dst->s0all[k] += src->s0all[k];
  }
  for (size_t j = 0; j < KD; ++j) dst->s1[j] += src->s1[j];
  for (size_t j = 0; j < dst->n2; ++j) dst->s2[j] += src->s2[j];
  dst->ll += src->ll;
  dst->nsparse += src->nsparse;
  dst->nkept += src->nkept;
  dst->n += src->n;
}

typedef struct stats_sum_job {
  gmm_stats *out;
  gmm_stats const *slabs;
  size_t ns;
  atomic_int nonfinite;
} stats_sum_job;

/* Array f of a statistics set: s0, s0all, s1, s2. */
static double *stats_field(gmm_stats const *st, int f)
{
  return f == 0 ? st->s0 : f == 1 ? st->s0all : f == 2 ? st->s1 : st->s2;
}

/* Elements [a, b) of the index space s0 (K), s0all (K), s1 (K x D), s2 (n2):
 * out = 0 + slab 0 + slab 1 + ..., in that order; and whether each is finite. */
static void stats_sum_range(void *ctx, size_t a, size_t b, int worker)
{
  stats_sum_job *j = (stats_sum_job *)ctx;
  int ok = 1;
  size_t const K = j->out->K, KD = K * j->out->D;
  size_t const lo[4] = {0, K, 2 * K, 2 * K + KD};
  size_t const hi[4] = {K, 2 * K, 2 * K + KD, 2 * K + KD + j->out->n2};
  (void)worker;
  for (int f = 0; f < 4; ++f) {
    size_t const i0 = (a > lo[f] ? a : lo[f]) - lo[f], i1 = (b < hi[f] ? b : hi[f]) - lo[f];
    double *out = stats_field(j->out, f);
    if (a >= hi[f] || b <= lo[f]) continue;
    for (size_t i = i0; i < i1; ++i) out[i] = 0;
    for (size_t s = 0; s < j->ns; ++s) {
      double const *in = stats_field(&j->slabs[s], f);
      for (size_t i = i0; i < i1; ++i) out[i] += in[i];
    }
    for (size_t i = i0; i < i1; ++i) ok &= (out[i] - out[i] == 0);
  }
  if (!ok) atomic_store(&j->nonfinite, 1);
}

/* Elements per range of a parallel sum. */
#define GMM_STATS_SUM_GRAIN 4096

int gmm_stats_sum(gmm_stats *out, gmm_stats const *slabs, size_t ns, int nthreads)
{
  stats_sum_job j;
  size_t const K = out->K;
  j.out = out;
  j.slabs = slabs;
  j.ns = ns;
  atomic_init(&j.nonfinite, 0);
  out->ll = out->nsparse = out->nkept = out->n = 0;
  for (size_t s = 0; s < ns; ++s) {
    out->ll += slabs[s].ll;
    out->nsparse += slabs[s].nsparse;
    out->nkept += slabs[s].nkept;
    out->n += slabs[s].n;
  }
  gmm_run_ranges(2 * K + K * out->D + out->n2, GMM_STATS_SUM_GRAIN, nthreads, stats_sum_range, &j);
  return !atomic_load(&j.nonfinite);
}

int gmm_pass_init(gmm_pass *p, vl_type type, size_t K, size_t D, size_t N, gmm_eparams const *ep,
                  int span_workers)
{
  size_t const es = gmm_type_size(type);
  size_t accbytes;

  memset(p, 0, sizeof *p);
  p->type = type;
  p->K = K;
  p->D = D;
  p->N = N;
  p->nslabs = gmm_slab_count(N, gmm_stats_bytes(K, D));
  p->nw = span_workers ? span_workers : gmm_workers(p->nslabs, gmm_num_threads());
  /* pass_rows's scratch: s0all (K + 1 of T), counts and indices (2 K of
   * vl_uint32), row lists (K x GMM_BLOCK bytes) */
  if (gmm_mul_size(K + 1, es + 2 * sizeof(vl_uint32) + GMM_BLOCK, &accbytes))
    return gmm_last_error();

  if (!(p->slab = gmm_alloc_array(p->nslabs, 1, sizeof(gmm_stats), 1))) goto done;
  for (size_t s = 0; s < p->nslabs; ++s)
    if (gmm_stats_alloc_unset(&p->slab[s], K, D) != VL_ERR_OK) goto done; /* zeroed by their pass */
  if (!(p->acc = gmm_alloc_array((size_t)p->nw, 1, sizeof(void *), 1))) goto done;
  for (int t = 0; t < p->nw; ++t)
    if (!(p->acc[t] = gmm_alloc_array(accbytes, 1, 1, 1))) goto done;
  if (ep && !(p->ws = gmm_ework_alloc_n(ep, p->nw))) goto done;
  return VL_ERR_OK;
done: /* reached on a failed allocation only */
  gmm_pass_free(p);
  return gmm_last_error();
}

void gmm_pass_free(gmm_pass *p)
{
  if (p->slab)
    for (size_t s = 0; s < p->nslabs; ++s) gmm_stats_free(&p->slab[s]);
  gmm_free(p->slab);
  if (p->acc)
    for (int t = 0; t < p->nw; ++t) gmm_free(p->acc[t]);
  gmm_free(p->acc);
  gmm_ework_free_n(p->ws, p->nw);
  memset(p, 0, sizeof *p);
}

