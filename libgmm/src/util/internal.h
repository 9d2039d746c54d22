/* internal.h: hidden declarations shared by libgmm's source files.
 *
 * Nothing here is exported. The exported `vl_*` entry points (src/api/) are
 * thin shims over the hidden `gmm_*` functions of src/core/ and src/util/;
 * internal code never calls an exported symbol, so a process that also
 * loaded VLFeat's libvl.so still runs ours.
 */
#ifndef GMM_UTIL_INTERNAL_H
#define GMM_UTIL_INTERNAL_H

#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vl/generic.h"
#include "vl/libgmm.h"
#include "vl/random.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(_WIN32)
/* mingw-w64: a DLL exports only what is marked dllexport (VL_EXPORT), so
 * nothing needs hiding; the build defines __USE_MINGW_ANSI_STDIO, so
 * vsnprintf is mingw's C99 one (%zu, %lld) and checked as such (gnu_printf). */
#  define GMM_HIDDEN
#  define GMM_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#  define GMM_LIKELY(x) __builtin_expect(!!(x), 1)
#  define GMM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#elif defined(__GNUC__) || defined(__clang__)
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
#define GMM_LOG_2PI 1.8378770664093454836 /* log(2 pi) */

/* ---- errors (thread-local) -------------------------------------------- */

/* Sets the calling thread's last error and returns `code`, so that
 * `return gmm_error(VL_ERR_BAD_ARG, "...")` is one line. */
GMM_HIDDEN int gmm_error(int code, char const *fmt, ...) GMM_PRINTF(2, 3);
GMM_HIDDEN void gmm_clear_error(void);
GMM_HIDDEN int gmm_last_error(void);
GMM_HIDDEN char const *gmm_last_error_message(void);

/* The one guard of the entry points: unless `cond` holds, set the thread's
 * last error (`code`, printf-style message) and return `ret` from the
 * calling function (`ret` is empty in a void function). */
#define GMM_REQUIRE(cond, ret, code, ...)       \
  do {                                          \
    if (GMM_UNLIKELY(!(cond))) {                \
      gmm_error((code), __VA_ARGS__);           \
      return ret;                               \
    }                                           \
  } while (0)

/* ---- output -------------------------------------------------------------- */

/* Formats one message line and hands it to the log hook or printf hook. */
GMM_HIDDEN void gmm_printf(char const *fmt, ...) GMM_PRINTF(1, 2);
GMM_HIDDEN void gmm_set_printf(printf_func_t f);
GMM_HIDDEN printf_func_t gmm_get_printf(void);
GMM_HIDDEN void gmm_set_log(vl_log_func_t func, void *user);

/* ---- sizes and allocation ------------------------------------------------ */

/* *out = a * b; returns nonzero (and sets VL_ERR_OVERFLOW) on overflow. */
GMM_HIDDEN int gmm_mul_size(size_t a, size_t b, size_t *out);
/* a * b * elem bytes, zero-filled if `zero`; NULL + error on overflow or failure. */
GMM_HIDDEN void *gmm_alloc_array(size_t a, size_t b, size_t elem, int zero);
/* 64-byte aligned block of `a * b * elem` bytes (not zero-filled). */
GMM_HIDDEN void *gmm_alloc_aligned(size_t a, size_t b, size_t elem);
GMM_HIDDEN void gmm_free(void *p);
GMM_HIDDEN void gmm_free_aligned(void *p);
/* A large zero-filled block of a * b * elem bytes (64-byte aligned), freed
 * with gmm_free_large. On Linux, blocks of 4 MB and more are mapped directly,
 * 2 MB aligned, and advised for transparent huge pages: they are zeroed by
 * the kernel on first touch (by the threads that first write them), in 2 MB
 * pages where the kernel offers them (few page faults for an N x K buffer). */
GMM_HIDDEN void *gmm_alloc_large(size_t a, size_t b, size_t elem);
GMM_HIDDEN void gmm_free_large(void *p);
/* Test hook: make the n-th allocation from now fail (0 disables). */
GMM_HIDDEN void gmm_alloc_fail_after(long n);

/* ---- threads ------------------------------------------------------------- */

/* Threads a parallel loop may use (vl_set_num_threads, or the default). */
GMM_HIDDEN int gmm_num_threads(void);
/* Sets the count (0: the default); VL_ERR_BAD_ARG above GMM_MAX_THREADS. */
GMM_HIDDEN int gmm_set_num_threads(size_t n);
GMM_HIDDEN size_t gmm_thread_limit(void);
#define GMM_MAX_THREADS 1024

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
GMM_HIDDEN void gmm_rand_seed_by_array(VlRand *r, vl_uint32 const key[], size_t n);
GMM_HIDDEN vl_uint32 gmm_rand_uint32(VlRand *r);
GMM_HIDDEN vl_uint64 gmm_rand_uint64(VlRand *r);
GMM_HIDDEN double gmm_rand_real1(VlRand *r);
GMM_HIDDEN vl_uindex gmm_rand_uindex(VlRand *r, vl_uindex range);
GMM_HIDDEN void gmm_rand_permute(VlRand *r, vl_index *array, size_t size);

/* ---- checks (check.c; one validator per concern) ------------------------- */

GMM_HIDDEN size_t gmm_type_size(vl_type t);
/* VL_ERR_OK for VL_TYPE_FLOAT and VL_TYPE_DOUBLE, else VL_ERR_BAD_ARG "<fn>: data type ...". */
GMM_HIDDEN int gmm_check_type(vl_type t, char const *fn);
/* Nonzero if every element of the n-element array is finite. */
GMM_HIDDEN int gmm_all_finite(vl_type t, void const *x, size_t n);
/* n x D elements of type t at `data` named `what`: present (unless n = 0),
 * sizes without overflow, finite. */
GMM_HIDDEN int gmm_check_data(char const *fn, char const *what, vl_type t, void const *data,
                              size_t n, size_t D);

/* GMM parameters: K x D means (finite), K x D covariances (finite and > 0,
 * after raising them to `bounds` if not NULL: D lower bounds), K priors
 * (finite, >= 0). *any_prior tells whether some prior reaches 1e-6 (with
 * `require_prior`, none is VL_ERR_BAD_ARG "every prior is below 1e-6"). The
 * sizes are checked for overflow first; the arrays must not be NULL. */
GMM_HIDDEN int gmm_check_gmm_params(char const *fn, vl_type t, size_t K, size_t D,
                                    void const *means, void const *covs, void const *priors,
                                    double const *bounds, int require_prior, int *any_prior);

/* n sample weights: each finite and >= 0, and (unless `allow_all_zero`) not
 * all 0. NULL is fine (every point weighs 1). BAD_ARG "<fn>: weights[i] is
 * -1 (must be finite and >= 0)" / "<fn>: every weight is 0 (...)". */
GMM_HIDDEN int gmm_check_weights(char const *fn, double const *w, size_t n, int allow_all_zero);

/* Copies the numImages + 1 offsets of a batch (*out, freed with gmm_free)
 * and checks the copy and the data: see check.c. */
GMM_HIDDEN int gmm_batch_offsets(char const *fn, vl_type type, void const *data, size_t D,
                                 vl_size const *offsets, size_t numImages, vl_size **out);

/* ---- small numerics -------------------------------------------------------- */

/* sqrt(sum a_j^2 + sum b_j^2), summed in order (a first); rescaled by the
 * largest magnitude only when the plain sum overflows. */
GMM_HIDDEN double gmm_norm2(double const *a, size_t na, double const *b, size_t nb);

#endif /* GMM_UTIL_INTERNAL_H */
