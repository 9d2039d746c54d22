/* internal.h: hidden declarations shared by libgmm's source files.
 *
 * Nothing here is exported. Exported `vl_*` entry points are thin shims over
 * the `gmm_*` functions declared here; internal code never calls an exported
 * symbol, so a process that also loaded VLFeat's libvl.so still runs ours.
 */
#ifndef GMM_INTERNAL_H
#define GMM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdatomic.h>

#include "vl/generic.h"
#include "vl/random.h"

#if defined(__GNUC__) || defined(__clang__)
#  define GMM_HIDDEN __attribute__((visibility("hidden")))
#  define GMM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#  define GMM_LIKELY(x) __builtin_expect(!!(x), 1)
#  define GMM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define GMM_HIDDEN
#  define GMM_PRINTF(a, b)
#  define GMM_LIKELY(x) (x)
#  define GMM_UNLIKELY(x) (x)
#endif

#define GMM_ALIGN 64
/* Points per slab in the parallel reductions (E-step statistics, encoders):
 * a data set of N points is split into min(N / GMM_SLAB_POINTS, 16) slabs
 * (at least 1), never a function of the thread count, so results do not
 * depend on it. Small enough that one image of a few thousand descriptors
 * uses every core. */
#define GMM_SLAB_POINTS 768
#define GMM_LOG_2PI 1.8378770664093454836 /* log(2 pi) */

/* ---- errors (thread-local) -------------------------------------------- */

/* Sets the calling thread's last error and returns `code`, so that
 * `return gmm_error(VL_ERR_BAD_ARG, "...")` is one line. */
GMM_HIDDEN int gmm_error(int code, char const *fmt, ...) GMM_PRINTF(2, 3);
GMM_HIDDEN void gmm_clear_error(void);
GMM_HIDDEN int gmm_last_error(void);

/* ---- output -------------------------------------------------------------- */

/* Formats one message line and hands it to the log hook or printf hook. */
GMM_HIDDEN void gmm_printf(char const *fmt, ...) GMM_PRINTF(1, 2);

/* ---- sizes and allocation ------------------------------------------------ */

/* *out = a * b; returns nonzero (and sets VL_ERR_OVERFLOW) on overflow. */
GMM_HIDDEN int gmm_mul_size(size_t a, size_t b, size_t *out);
/* a * b * c * elem bytes, zero-filled if `zero`; NULL + error on overflow or failure. */
GMM_HIDDEN void *gmm_alloc_array(size_t a, size_t b, size_t elem, int zero);
/* 64-byte aligned block of `a * b * elem` bytes (not zero-filled). */
GMM_HIDDEN void *gmm_alloc_aligned(size_t a, size_t b, size_t elem);
GMM_HIDDEN void gmm_free(void *p);
GMM_HIDDEN void gmm_free_aligned(void *p);
/* Test hook: make the n-th allocation from now fail (0 disables). */
GMM_HIDDEN void gmm_alloc_fail_after(long n);

/* ---- threads ------------------------------------------------------------- */

GMM_HIDDEN int gmm_num_threads(void);
#ifdef _OPENMP
#  include <omp.h>
static inline int gmm_thread_id(void) { return omp_get_thread_num(); }
#else
static inline int gmm_thread_id(void) { return 0; }
#endif

/* *a = min(*a, v), atomically (the first failing item of a parallel loop). */
static inline void gmm_atomic_min(atomic_size_t *a, size_t v)
{
  size_t cur = atomic_load(a);
  while (v < cur && !atomic_compare_exchange_weak(a, &cur, v)) {
  }
}

/* ---- random numbers ---------------------------------------------------- */

GMM_HIDDEN VlRand *gmm_rand_default(void);
GMM_HIDDEN void gmm_rand_init(VlRand *r);
GMM_HIDDEN void gmm_rand_seed(VlRand *r, vl_uint32 s);
GMM_HIDDEN vl_uint32 gmm_rand_uint32(VlRand *r);
GMM_HIDDEN vl_uint64 gmm_rand_uint64(VlRand *r);
GMM_HIDDEN double gmm_rand_real1(VlRand *r);
GMM_HIDDEN vl_uindex gmm_rand_uindex(VlRand *r, vl_uindex range);
GMM_HIDDEN void gmm_rand_permute(VlRand *r, vl_index *array, size_t size);

/* ---- checks -------------------------------------------------------------- */

GMM_HIDDEN int gmm_check_type(vl_type t, char const *fn);
/* Nonzero if every element of the n-element array is finite. */
GMM_HIDDEN int gmm_all_finite(vl_type t, void const *x, size_t n);
GMM_HIDDEN size_t gmm_type_size(vl_type t);

/* Encoders (fisher.c): checks of GMM parameters.
 * *any_prior tells whether some prior reaches 1e-6. */
GMM_HIDDEN int gmm_check_gmm_args(char const *fn, vl_type type, void const *means, size_t D,
                                  size_t K, void const *covs, void const *priors, int *any_prior);
/* Copies the numImages + 1 offsets of a batch (*out, freed with gmm_free)
 * and checks the copy and the data; see fisher.c. */
GMM_HIDDEN int gmm_batch_offsets(char const *fn, vl_type type, void const *data, size_t D,
                                 vl_size const *offsets, size_t numImages, vl_size **out);

/* sqrt(sum a_j^2 + sum b_j^2), summed in order (a first); rescaled by the
 * largest magnitude only when the plain sum overflows. */
GMM_HIDDEN double gmm_norm2(double const *a, size_t na, double const *b, size_t nb);

#endif /* GMM_INTERNAL_H */
