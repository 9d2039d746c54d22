/* generic_api.c: errors, output hooks, threads and version (vl/generic.h,
 * vl/libgmm/). */
#include "util/internal.h"

VL_EXPORT int vl_get_last_error(void) { return gmm_last_error(); }

VL_EXPORT char const *vl_get_last_error_message(void) { return gmm_last_error_message(); }

VL_EXPORT void vl_set_printf_func(printf_func_t f)
{
  gmm_clear_error();
  gmm_set_printf(f);
}

VL_EXPORT printf_func_t vl_get_printf_func(void)
{
  gmm_clear_error();
  return gmm_get_printf();
}

VL_EXPORT void vl_set_log_func(vl_log_func_t func, void *user)
{
  gmm_clear_error();
  gmm_set_log(func, user);
}

VL_EXPORT vl_size vl_get_max_threads(void)
{
  gmm_clear_error();
  return (vl_size)gmm_num_threads();
}

VL_EXPORT void vl_set_num_threads(vl_size n)
{
  gmm_clear_error();
  gmm_set_num_threads(n);
}

VL_EXPORT vl_size vl_get_thread_limit(void)
{
  gmm_clear_error();
  return (vl_size)gmm_thread_limit();
}

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
