/* sched.c: gmm_run on libgmm's own thread pool, and the slab decomposition
 * (see sched.h and docs/architecture.md).
 *
 * The pool. Workers are started lazily, the first time a loop wants more
 * threads than have been started, and never stop: between loops they spin
 * for a few tens of microseconds, then sleep on a condition variable. A
 * thread that cannot be created means fewer workers, never an error. One
 * pool serves every caller: each gmm_run publishes its loop in a free job
 * slot, so loops of different caller threads run at the same time, each
 * with its own job, and idle workers help whichever job has items left.
 *
 * Dynamic scheduling. The caller and the workers claim items one at a time
 * from the job's atomic counter; the caller takes part and, once every
 * item is claimed, waits only for the items still running. A worker that
 * is descheduled therefore delays nothing but the item it holds (one block,
 * slab or image), and a worker that wakes up late finds nothing to do.
 *
 * A job slot's claim word packs a generation (24 bits, odd while a job is
 * published) and the next item (40 bits). A worker reads the word, then the
 * job's fields, and claims item i by a compare-and-swap of that same word:
 * if the slot was retired (or reused) in between, the swap fails and the
 * fields it read are never used. All accesses to the slot are sequentially
 * consistent atomics. (A stale read defeats this only if the slot is reused
 * 2^23 times while one worker sleeps between two instructions.)
 *
 * Fork. pthread_atfork handlers lock the pool across fork(); the child
 * starts with an empty pool (its workers did not survive the fork) and
 * starts new ones when it needs them; the parent's pool is untouched. */
#include <stdint.h>
#include <string.h>

#include "core/sched.h"
#include "util/thread.h"

#define GMM_JOB_SLOTS 64                   /* loops in flight at once */
#define GMM_CLAIM_BITS 40
#define GMM_CLAIM_MASK (((uint64_t)1 << GMM_CLAIM_BITS) - 1)
#define GMM_SPIN 4000                      /* polls before a worker sleeps (~50 us) */
#define GMM_OWNER_SPIN 20000               /* polls before a caller sleeps on its job */
#define GMM_YIELD_EVERY 256                /* polls between two yields of a spin */

typedef struct job_slot {
  _Atomic uint64_t claim;        /* generation << 40 | next item */
  _Atomic(gmm_item_fn) fn;
  _Atomic(void *) ctx;
  atomic_size_t n;
  atomic_int max_workers;
  atomic_int joined;             /* worker indices handed out (the caller is 0) */
  atomic_size_t done;            /* items finished */
  atomic_int busy;               /* owned by a caller */
  gmm_mutex lock;                /* the caller's sleep until done == n */
  gmm_cond finished;
  char pad[64];
} job_slot;

static struct pool {
  gmm_mutex lock;                /* started, the sleep of idle workers */
  gmm_cond wake;
  atomic_uint epoch;             /* bumped when a job is published */
  atomic_int started;            /* workers started (and alive in this process) */
  atomic_int sleeping;
  atomic_int waker_cpu;          /* the processor of the last wake-up call, or -1 */
  job_slot slots[GMM_JOB_SLOTS];
} g_pool;

static atomic_int g_pool_ready; /* 0: not yet, 1: being set up, 2: ready */

static void pool_reset(int child)
{
  gmm_mutex_init(&g_pool.lock);
  gmm_cond_init(&g_pool.wake);
  atomic_store(&g_pool.started, 0);
  atomic_store(&g_pool.sleeping, 0);
  atomic_store(&g_pool.waker_cpu, -1);
  for (int s = 0; s < GMM_JOB_SLOTS; ++s) {
    job_slot *j = &g_pool.slots[s];
    uint64_t const gen = child ? (atomic_load(&j->claim) >> GMM_CLAIM_BITS) : 0;
    /* an even generation: no job published */
    atomic_store(&j->claim, ((gen + 2) & ~(uint64_t)1) << GMM_CLAIM_BITS);
    atomic_store(&j->busy, 0);
    gmm_mutex_init(&j->lock);
    gmm_cond_init(&j->finished);
  }
}

static void fork_prepare(void) { gmm_mutex_lock(&g_pool.lock); }
static void fork_parent(void) { gmm_mutex_unlock(&g_pool.lock); }
/* Only the forking thread exists in the child: no worker, no other caller. */
static void fork_child(void) { pool_reset(1); }

static void pool_init(void)
{
  int expected = 0;
  if (atomic_load(&g_pool_ready) == 2) return;
  if (atomic_compare_exchange_strong(&g_pool_ready, &expected, 1)) {
    pool_reset(0);
    gmm_atfork(fork_prepare, fork_parent, fork_child);
    atomic_store(&g_pool_ready, 2);
    return;
  }
  while (atomic_load(&g_pool_ready) != 2) gmm_cpu_relax();
}

/* Run the items of slot j's current job while there are any (as worker w,
 * or, for a helper that joins, with an index taken from the job). Returns
 * the number of items run. */
static size_t help(job_slot *j, int w)
{
  size_t ran = 0;
  uint64_t c = atomic_load(&j->claim);
  uint64_t const gen = c >> GMM_CLAIM_BITS;
  gmm_item_fn fn;
  void *ctx;
  size_t n;
  if (!(gen & 1)) return 0;
  fn = atomic_load(&j->fn);
  ctx = atomic_load(&j->ctx);
  n = atomic_load(&j->n);
  if ((c & GMM_CLAIM_MASK) >= n) return 0;
  if (w < 0) {
    w = atomic_fetch_add(&j->joined, 1);
    /* the index must belong to this job (the slot may have moved on) */
    if ((atomic_load(&j->claim) >> GMM_CLAIM_BITS) != gen || w >= atomic_load(&j->max_workers))
      return 0;
  }
  for (;;) {
    size_t item;
    c = atomic_load(&j->claim);
    if ((c >> GMM_CLAIM_BITS) != gen || (item = (size_t)(c & GMM_CLAIM_MASK)) >= n) break;
    if (!atomic_compare_exchange_weak(&j->claim, &c, c + 1)) continue;
    fn(ctx, item, w);
    ++ran;
    if (atomic_fetch_add(&j->done, 1) + 1 == n) {
      gmm_mutex_lock(&j->lock);
      gmm_cond_broadcast(&j->finished);
      gmm_mutex_unlock(&j->lock);
    }
  }
  return ran;
}

/* Helps every published job once; returns the number of items run. */
static size_t help_any(void)
{
  size_t ran = 0;
  for (int s = 0; s < GMM_JOB_SLOTS; ++s)
    if (atomic_load(&g_pool.slots[s].claim) >> GMM_CLAIM_BITS & 1) ran += help(&g_pool.slots[s], -1);
  return ran;
}

/* One poll of an idle worker's spin: a pause, and now and then a yield, so
 * that a worker sharing a processor with a caller (see gmm_run's wake-up)
 * does not keep it from running. */
static void spin_poll(int i)
{
  gmm_cpu_relax();
  if (i % GMM_YIELD_EVERY == GMM_YIELD_EVERY - 1) gmm_thread_yield();
}

static void worker_main(void *arg)
{
  (void)arg;
  for (;;) {
    unsigned const e = atomic_load(&g_pool.epoch);
    if (help_any()) continue;
    for (int i = 0; i < GMM_SPIN && atomic_load(&g_pool.epoch) == e; ++i) spin_poll(i);
    if (atomic_load(&g_pool.epoch) != e) continue;
    gmm_mutex_lock(&g_pool.lock);
    atomic_fetch_add(&g_pool.sleeping, 1);
    while (atomic_load(&g_pool.epoch) == e) gmm_cond_wait(&g_pool.wake, &g_pool.lock);
    atomic_fetch_sub(&g_pool.sleeping, 1);
    gmm_mutex_unlock(&g_pool.lock);
    {
      /* woken onto the caller's processor (see gmm_run): move off it */
      int const cpu = atomic_load(&g_pool.waker_cpu);
      if (cpu >= 0 && gmm_current_cpu() == cpu) gmm_thread_leave_cpu(cpu);
    }
  }
}

/* At least `want` workers, if they can be started. */
static void ensure_workers(int want)
{
  if (want > GMM_MAX_THREADS - 1) want = GMM_MAX_THREADS - 1;
  if (atomic_load(&g_pool.started) >= want) return;
  gmm_mutex_lock(&g_pool.lock);
  while (atomic_load(&g_pool.started) < want && gmm_thread_start(worker_main, NULL) == 0)
    atomic_fetch_add(&g_pool.started, 1);
  gmm_mutex_unlock(&g_pool.lock);
}

int gmm_pool_workers(void)
{
  pool_init();
  return atomic_load(&g_pool.started);
}

int gmm_workers(size_t n, int nthreads)
{
  if (nthreads < 1 || n <= 1) return 1;
  return (size_t)nthreads < n ? nthreads : (int)n;
}

void gmm_run(size_t n, int nthreads, gmm_item_fn fn, void *ctx)
{
  int const nw = gmm_workers(n, nthreads);
  job_slot *j = NULL;
  uint64_t gen;
  int woke;
  if (nw > 1 && n <= GMM_CLAIM_MASK) {
    pool_init();
    ensure_workers(nw - 1);
    for (int s = 0; s < GMM_JOB_SLOTS && !j; ++s) {
      int expected = 0;
      if (atomic_compare_exchange_strong(&g_pool.slots[s].busy, &expected, 1)) j = &g_pool.slots[s];
    }
  }
  if (!j) { /* one thread, or every slot taken: the items in order, here */
    for (size_t i = 0; i < n; ++i) fn(ctx, i, 0);
    return;
  }
  gen = (atomic_load(&j->claim) >> GMM_CLAIM_BITS) + 1; /* odd: published */
  atomic_store(&j->fn, fn);
  atomic_store(&j->ctx, ctx);
  atomic_store(&j->n, n);
  atomic_store(&j->max_workers, nw);
  atomic_store(&j->joined, 1);
  atomic_store(&j->done, 0);
  atomic_store(&j->claim, (gen & (((uint64_t)1 << (64 - GMM_CLAIM_BITS)) - 1)) << GMM_CLAIM_BITS);
  gmm_mutex_lock(&g_pool.lock);
  atomic_fetch_add(&g_pool.epoch, 1);
  woke = atomic_load(&g_pool.sleeping) > 0;
  if (woke) {
    atomic_store(&g_pool.waker_cpu, gmm_current_cpu());
    gmm_cond_broadcast(&g_pool.wake);
  }
  gmm_mutex_unlock(&g_pool.lock);
  /* On virtual machines Linux often queues a worker woken after an idle
   * spell on the waker's processor rather than on an idle virtual CPU (seen
   * on the 2-core benchmark machine: 19 wake-ups in 20), where it would wait
   * for the caller's items to run out: yield once so that it runs now and
   * moves itself to another processor (worker_main). */
  if (woke) gmm_thread_yield();

  help(j, 0);
  /* every item is claimed: wait for the ones still running */
  for (int i = 0; i < GMM_OWNER_SPIN && atomic_load(&j->done) < n; ++i) gmm_cpu_relax();
  if (atomic_load(&j->done) < n) {
    gmm_mutex_lock(&j->lock);
    while (atomic_load(&j->done) < n) gmm_cond_wait(&j->finished, &j->lock);
    gmm_mutex_unlock(&j->lock);
  }
  /* retire: an even generation, nothing to claim */
  atomic_store(&j->claim, ((atomic_load(&j->claim) >> GMM_CLAIM_BITS) + 1) << GMM_CLAIM_BITS);
  atomic_store(&j->busy, 0);
}

/* ---- ranges and slabs --------------------------------------------------------- */

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
