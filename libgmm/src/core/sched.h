/* sched.h: the one parallel loop of libgmm, and the fixed decompositions
 * (blocks, slabs) that keep results independent of the thread count.
 *
 * gmm_run(n, nthreads, fn, ctx) calls fn(ctx, item, worker) once for every
 * item in [0, n), on at most `nthreads` threads, the calling thread
 * included, and returns when all items are done. `worker` (< gmm_workers(n,
 * nthreads)) names the thread running the call, for per-thread scratch;
 * which worker runs which item, and in which order, is unspecified. So an
 * item's result must depend only on the item: a caller keeps one result per
 * item and, after gmm_run, reduces them in item order. Items are therefore
 * cut from the problem alone (GMM_BLOCK rows, slabs of blocks, images),
 * never from the thread count: results are bit-identical for any number of
 * threads, and for any implementation of gmm_run.
 *
 * Items should be coarse (a block of rows, not one row): gmm_run costs a
 * few hundred nanoseconds per item at most, plus the start of the loop.
 * The implementation (sched.c) is libgmm's own thread pool: persistent
 * workers, dynamic claiming of items, fork-safe. */
#ifndef GMM_CORE_SCHED_H
#define GMM_CORE_SCHED_H

#include "util/internal.h"

/* Rows per block: the E-step's and the encoders' tiles. */
#define GMM_BLOCK 128

typedef void (*gmm_item_fn)(void *ctx, size_t item, int worker);

/* Threads a loop over n items may use (at least 1, at most n, at most
 * nthreads): allocate per-worker scratch for this many. */
GMM_HIDDEN int gmm_workers(size_t n, int nthreads);

/* Runs fn(ctx, i, worker) for every i < n (see above). With one worker,
 * the items run in order on the calling thread. */
GMM_HIDDEN void gmm_run(size_t n, int nthreads, gmm_item_fn fn, void *ctx);

/* Workers the pool has started so far (tests). */
GMM_HIDDEN int gmm_pool_workers(void);

/* The same over the rows [0, n) cut into ranges of `grain` rows (the last
 * may be shorter): fn(ctx, i0, i1, worker) once per range. For per-row work
 * whose result does not depend on the other rows. */
typedef void (*gmm_range_fn)(void *ctx, size_t i0, size_t i1, int worker);
GMM_HIDDEN void gmm_run_ranges(size_t n, size_t grain, int nthreads, gmm_range_fn fn, void *ctx);

/* ---- slabs: groups of whole blocks ----------------------------------------
 * The rows of a data set are cut into slabs for the reductions: one slab per
 * GMM_SLAB_POINTS rows, at most GMM_MAX_SLABS, and the slabs' accumulators
 * (slab_bytes each) at most GMM_SLAB_BYTES_CAP in total. Slab boundaries
 * fall on block boundaries, so every block is the same whatever the number
 * of slabs. A data set is reduced as: each slab in row order, then the
 * slabs in slab order (in parallel over slabs for one data set, or in
 * sequence by one thread per image of a batch: the same numbers). */
#define GMM_SLAB_POINTS 768
#define GMM_MAX_SLABS 16
#define GMM_SLAB_BYTES_CAP ((size_t)64 << 20)

GMM_HIDDEN size_t gmm_slab_count(size_t rows, size_t slab_bytes);
/* Rows [*r0, *r1) of slab s of S over `rows` rows. */
GMM_HIDDEN void gmm_slab_rows(size_t rows, size_t S, size_t s, size_t *r0, size_t *r1);

#endif /* GMM_CORE_SCHED_H */
