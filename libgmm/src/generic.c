/* generic.c: per-thread errors, output hooks, thread count, version. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <float.h>
#ifdef _OPENMP
#  include <omp.h>
#endif

#include "internal.h"
#include "vl/libgmm.h"

/* ---- errors ---------------------------------------------------------------- */

static _Thread_local int tls_error_code;
static _Thread_local char tls_error_msg[VL_ERR_MSG_LEN];

int gmm_error(int code, char const *fmt, ...)
{
  va_list ap;
  tls_error_code = code;
  va_start(ap, fmt);
  vsnprintf(tls_error_msg, sizeof tls_error_msg, fmt, ap);
  va_end(ap);
  return code;
}

void gmm_clear_error(void)
{
  tls_error_code = VL_ERR_OK;
  tls_error_msg[0] = '\0';
}

int gmm_last_error(void) { return tls_error_code; }

VL_EXPORT int vl_get_last_error(void) { return tls_error_code; }

VL_EXPORT char const *vl_get_last_error_message(void) { return tls_error_msg; }

/* ---- output ---------------------------------------------------------------- */

/* The hooks are process-wide, as in VLFeat. They are set rarely (typically
 * once, by a binding) and read when a verbose message is produced. */
static printf_func_t g_printf = printf;
static vl_log_func_t g_log_func = NULL;
static void *g_log_user = NULL;

VL_EXPORT void vl_set_printf_func(printf_func_t f)
{
  gmm_clear_error();
  g_printf = f;
}

VL_EXPORT printf_func_t vl_get_printf_func(void)
{
  gmm_clear_error();
  return g_printf;
}

VL_EXPORT void vl_set_log_func(vl_log_func_t func, void *user)
{
  gmm_clear_error();
  g_log_user = user;
  g_log_func = func;
}

void gmm_printf(char const *fmt, ...)
{
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (g_log_func) {
    g_log_func(g_log_user, line);
  } else if (g_printf) {
    g_printf("%s\n", line);
  }
}

/* ---- threads ---------------------------------------------------------------- */

static size_t g_num_threads = 0; /* 0: OpenMP default */

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

VL_EXPORT vl_size vl_get_max_threads(void)
{
  gmm_clear_error();
  return (vl_size)gmm_num_threads();
}

/* More threads than this is a mistake (e.g. -1 passed through size_t): the
 * OpenMP runtime would abort or crash trying to create them. */
#define GMM_MAX_THREADS 1024

VL_EXPORT void vl_set_num_threads(vl_size n)
{
  gmm_clear_error();
  if (n > GMM_MAX_THREADS) {
    gmm_error(VL_ERR_BAD_ARG,
              "vl_set_num_threads: %zu threads is more than the maximum of %d (0 restores the "
              "default)", (size_t)n, GMM_MAX_THREADS);
    return;
  }
  g_num_threads = n;
}

VL_EXPORT vl_size vl_get_thread_limit(void)
{
  gmm_clear_error();
#ifdef _OPENMP
  return (vl_size)omp_get_thread_limit();
#else
  return 1;
#endif
}

/* ---- version ---------------------------------------------------------------- */

VL_EXPORT char const *vl_get_version_string(void)
{
  gmm_clear_error();
  return LIBGMM_VERSION_STRING;
}

VL_EXPORT int vl_get_abi_version(void)
{
  gmm_clear_error();
  return LIBGMM_ABI_VERSION;
}

/* ---- checks ------------------------------------------------------------------ */

size_t gmm_type_size(vl_type t)
{
  return t == VL_TYPE_FLOAT ? sizeof(float) : t == VL_TYPE_DOUBLE ? sizeof(double) : 0;
}

int gmm_check_type(vl_type t, char const *fn)
{
  if (t == VL_TYPE_FLOAT || t == VL_TYPE_DOUBLE) return VL_ERR_OK;
  return gmm_error(VL_ERR_BAD_ARG,
                   "%s: data type %u is not supported (use VL_TYPE_FLOAT=1 or VL_TYPE_DOUBLE=2)",
                   fn, (unsigned)t);
}

/* Branch-free scans the compiler vectorises: x - x is 0 for finite x and
 * NaN (which compares unequal to 0) for NaN or +-Inf. */
static int all_finite_f(float const *x, size_t n)
{
  int ok = 1;
  for (size_t i = 0; i < n; ++i) ok &= (x[i] - x[i] == 0.f);
  return ok;
}

static int all_finite_d(double const *x, size_t n)
{
  int ok = 1;
  for (size_t i = 0; i < n; ++i) ok &= (x[i] - x[i] == 0.);
  return ok;
}

int gmm_all_finite(vl_type t, void const *x, size_t n)
{
  if (t == VL_TYPE_FLOAT) return all_finite_f((float const *)x, n);
  return all_finite_d((double const *)x, n);
}

static double max_abs(double const *a, size_t n, double m)
{
  for (size_t j = 0; j < n; ++j)
    if (fabs(a[j]) > m) m = fabs(a[j]);
  return m;
}

double gmm_norm2(double const *a, size_t na, double const *b, size_t nb)
{
  double s = 0, amax;
  for (size_t j = 0; j < na; ++j) s += a[j] * a[j];
  for (size_t j = 0; j < nb; ++j) s += b[j] * b[j];
  if (isfinite(s)) return sqrt(s);
  amax = max_abs(b, nb, max_abs(a, na, 0));
  if (amax == 0 || !isfinite(amax)) return amax;
  s = 0;
  for (size_t j = 0; j < na; ++j) s += (a[j] / amax) * (a[j] / amax);
  for (size_t j = 0; j < nb; ++j) s += (b[j] / amax) * (b[j] / amax);
  return amax * sqrt(s);
}
