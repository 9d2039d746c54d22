/* alloc.c: overflow-checked allocation with an injectable failure for tests. */
#if defined(__linux__)
#define _GNU_SOURCE /* MADV_HUGEPAGE */
#include <sys/mman.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/internal.h"

/* Countdown to an injected failure (tests only, via gmm_alloc_fail_after;
 * the tests that use it allocate from one thread at a time). Atomic, since
 * every allocation of every thread reads it. */
static atomic_long g_fail_countdown = 0;
/* Allocation attempts so far (tests: how many sites a call went through, so
 * a failure sweep knows whether the n-th allocation was reached). */
static atomic_long g_alloc_count = 0;

void gmm_alloc_fail_after(long n) { atomic_store_explicit(&g_fail_countdown, n, memory_order_relaxed); }

GMM_HIDDEN long gmm_alloc_count(void);
long gmm_alloc_count(void) { return atomic_load_explicit(&g_alloc_count, memory_order_relaxed); }

static int injected_failure(void)
{
  atomic_fetch_add_explicit(&g_alloc_count, 1, memory_order_relaxed);
  return atomic_load_explicit(&g_fail_countdown, memory_order_relaxed) > 0 &&
         atomic_fetch_sub_explicit(&g_fail_countdown, 1, memory_order_relaxed) == 1;
}

int gmm_mul_size(size_t a, size_t b, size_t *out)
{
  if (a != 0 && b > SIZE_MAX / a) {
    gmm_error(VL_ERR_OVERFLOW, "size %zu x %zu overflows size_t", a, b);
    return 1;
  }
  *out = a * b;
  return 0;
}

static int bytes_of(size_t a, size_t b, size_t elem, size_t *bytes)
{
  size_t ab;
  if (gmm_mul_size(a, b, &ab) || gmm_mul_size(ab, elem, bytes)) return 1;
  if (*bytes > (size_t)PTRDIFF_MAX - GMM_ALIGN) {
    gmm_error(VL_ERR_OVERFLOW, "allocation of %zu x %zu x %zu bytes is too large", a, b, elem);
    return 1;
  }
  return 0;
}

void *gmm_alloc_array(size_t a, size_t b, size_t elem, int zero)
{
  size_t bytes;
  void *p;
  if (bytes_of(a, b, elem, &bytes)) return NULL;
  if (bytes == 0) bytes = 1;
  p = injected_failure() ? NULL : (zero ? calloc(1, bytes) : malloc(bytes));
  if (!p) gmm_error(VL_ERR_ALLOC, "could not allocate %zu bytes", bytes);
  return p;
}

void *gmm_alloc_aligned(size_t a, size_t b, size_t elem)
{
  size_t bytes;
  void *p = NULL;
  if (bytes_of(a, b, elem, &bytes)) return NULL;
  bytes = (bytes + GMM_ALIGN - 1) / GMM_ALIGN * GMM_ALIGN;
  if (bytes == 0) bytes = GMM_ALIGN;
  if (!injected_failure()) {
#if defined(_WIN32)
    p = _aligned_malloc(bytes, GMM_ALIGN);
#elif defined(__APPLE__)
    /* aligned_alloc needs macOS 10.15; posix_memalign is there since 10.6 */
    if (posix_memalign(&p, GMM_ALIGN, bytes) != 0) p = NULL;
#else
    p = aligned_alloc(GMM_ALIGN, bytes); /* bytes is a multiple of GMM_ALIGN */
#endif
  }
  if (!p) gmm_error(VL_ERR_ALLOC, "could not allocate %zu bytes", bytes);
  return p;
}

void gmm_free(void *p) { free(p); }

void gmm_free_aligned(void *p)
{
#if defined(_WIN32)
  _aligned_free(p);
#else
  free(p);
#endif
}

/* ---- large blocks ---------------------------------------------------------------- */

/* Every large block is preceded, in the GMM_ALIGN bytes before it, by where
 * its allocation starts and its mapped length (0: from calloc). */
typedef struct large_header {
  void *base;
  size_t mapped;
} large_header;

#define GMM_LARGE_MMAP ((size_t)4 << 20) /* map blocks of this size and more */
#define GMM_HUGE_PAGE ((size_t)2 << 20)

void *gmm_alloc_large(size_t a, size_t b, size_t elem)
{
  size_t bytes;
  char *base = NULL, *p;
  size_t mapped = 0;
  if (bytes_of(a, b, elem, &bytes)) return NULL;
  if (injected_failure()) {
    gmm_error(VL_ERR_ALLOC, "could not allocate %zu bytes", bytes);
    return NULL;
  }
#if defined(__linux__) && defined(MAP_ANONYMOUS)
  if (bytes >= GMM_LARGE_MMAP && bytes <= SIZE_MAX - 2 * GMM_HUGE_PAGE) {
    void *m;
    mapped = bytes + GMM_HUGE_PAGE;
    m = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
      base = (char *)m;
#if defined(MADV_HUGEPAGE)
      (void)madvise(m, mapped, MADV_HUGEPAGE); /* advice only: ignored where unsupported */
#endif
      /* the first 2 MB boundary after room for the header */
      p = (char *)(((uintptr_t)base + GMM_ALIGN + GMM_HUGE_PAGE - 1) & ~(uintptr_t)(GMM_HUGE_PAGE - 1));
      goto done;
    }
    mapped = 0; /* no mapping: calloc below */
  }
#endif
  if (bytes > SIZE_MAX - 2 * GMM_ALIGN || !(base = (char *)calloc(1, bytes + 2 * GMM_ALIGN))) {
    gmm_error(VL_ERR_ALLOC, "could not allocate %zu bytes", bytes);
    return NULL;
  }
  p = (char *)(((uintptr_t)base + 2 * GMM_ALIGN - 1) & ~(uintptr_t)(GMM_ALIGN - 1));
#if defined(__linux__) && defined(MAP_ANONYMOUS)
done:
#endif
  {
    large_header h;
    h.base = base;
    h.mapped = mapped;
    memcpy(p - GMM_ALIGN, &h, sizeof h);
  }
  return p;
}

void gmm_free_large(void *p)
{
  large_header h;
  if (!p) return;
  memcpy(&h, (char *)p - GMM_ALIGN, sizeof h);
#if defined(__linux__) && defined(MAP_ANONYMOUS)
  if (h.mapped) {
    munmap(h.base, h.mapped);
    return;
  }
#endif
  free(h.base);
}
