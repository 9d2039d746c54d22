/* threads.c: the process-wide thread count. */
#include <stdlib.h>

#include "util/internal.h"
#include "util/thread.h"

static atomic_size_t g_num_threads = 0; /* 0: the default */
static atomic_int g_default = 0;        /* computed once */

/* The default: OMP_NUM_THREADS when set (as for an OpenMP library, so that
 * existing settings keep limiting libgmm), else the processors this
 * process may run on. */
static int default_threads(void)
{
  int n = atomic_load(&g_default);
  if (n < 1) {
    char const *env = getenv("OMP_NUM_THREADS");
    long v = env && *env ? strtol(env, NULL, 10) : 0;
    n = v >= 1 && v <= GMM_MAX_THREADS ? (int)v : gmm_cpu_count();
    if (n > GMM_MAX_THREADS) n = GMM_MAX_THREADS;
    atomic_store(&g_default, n);
  }
  return n;
}

int gmm_num_threads(void)
{
  size_t const n = atomic_load(&g_num_threads);
  return n ? (int)n : default_threads();
}

int gmm_set_num_threads(size_t n)
{
  if (n > GMM_MAX_THREADS)
    return gmm_error(VL_ERR_BAD_ARG,
                     "vl_set_num_threads: %zu threads is more than the maximum of %d (0 restores "
                     "the default)", n, GMM_MAX_THREADS);
  atomic_store(&g_num_threads, n);
  return VL_ERR_OK;
}

size_t gmm_thread_limit(void) { return GMM_MAX_THREADS; }
