/* threads.c: the process-wide thread count. */
#ifdef _OPENMP
#  include <omp.h>
#endif

#include "util/internal.h"

static size_t g_num_threads = 0; /* 0: the default */

int gmm_num_threads(void)
{
#ifdef _OPENMP
  size_t n = g_num_threads ? g_num_threads : (size_t)omp_get_max_threads();
  size_t lim = (size_t)omp_get_thread_limit();
  if (n > lim) n = lim;
  return n < 1 ? 1 : (int)n;
#else
  return 1;
#endif
}

int gmm_set_num_threads(size_t n)
{
  if (n > GMM_MAX_THREADS)
    return gmm_error(VL_ERR_BAD_ARG,
                     "vl_set_num_threads: %zu threads is more than the maximum of %d (0 restores "
                     "the default)", n, GMM_MAX_THREADS);
  g_num_threads = n;
  return VL_ERR_OK;
}

size_t gmm_thread_limit(void)
{
#ifdef _OPENMP
  return (size_t)omp_get_thread_limit();
#else
  return 1;
#endif
}
