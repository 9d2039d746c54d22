/* sched.c: gmm_run over OpenMP, and the slab decomposition (see sched.h). */
#ifdef _OPENMP
#  include <omp.h>
#endif

#include "core/sched.h"

int gmm_workers(size_t n, int nthreads)
{
  if (nthreads < 1 || n <= 1) return 1;
  return (size_t)nthreads < n ? nthreads : (int)n;
}

void gmm_run(size_t n, int nthreads, gmm_item_fn fn, void *ctx)
{
  int const nw = gmm_workers(n, nthreads);
  if (nw == 1) {
    for (size_t i = 0; i < n; ++i) fn(ctx, i, 0);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nw) schedule(dynamic, 1)
  for (size_t i = 0; i < n; ++i) fn(ctx, i, omp_get_thread_num());
#else
  for (size_t i = 0; i < n; ++i) fn(ctx, i, 0);
#endif
}

typedef struct range_job {
  size_t n, grain;
  gmm_range_fn fn;
  void *ctx;
} range_job;

static void range_item(void *ctx, size_t item, int worker)
{
  range_job const *r = (range_job const *)ctx;
  size_t const i0 = item * r->grain, i1 = r->n - i0 < r->grain ? r->n : i0 + r->grain;
  r->fn(r->ctx, i0, i1, worker);
}

void gmm_run_ranges(size_t n, size_t grain, int nthreads, gmm_range_fn fn, void *ctx)
{
  range_job r = {n, grain ? grain : 1, fn, ctx};
  gmm_run((n + r.grain - 1) / r.grain, nthreads, range_item, &r);
}

size_t gmm_slab_count(size_t rows, size_t slab_bytes)
{
  size_t n = rows / GMM_SLAB_POINTS < GMM_MAX_SLABS ? rows / GMM_SLAB_POINTS : GMM_MAX_SLABS;
  size_t const cap = slab_bytes ? GMM_SLAB_BYTES_CAP / slab_bytes : n;
  if (n > cap) n = cap;
  return n ? n : 1;
}

void gmm_slab_rows(size_t rows, size_t S, size_t s, size_t *r0, size_t *r1)
{
  size_t const nb = (rows + GMM_BLOCK - 1) / GMM_BLOCK;
  size_t a = (s * nb / S) * GMM_BLOCK, b = ((s + 1) * nb / S) * GMM_BLOCK;
  if (b > rows) b = rows;
  if (a > b) a = b;
  *r0 = a;
  *r1 = b;
}
