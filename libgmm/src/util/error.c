/* error.c: the per-thread last error and the output hooks. */
#include <stdarg.h>
#include <stdio.h>

#include "util/internal.h"

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

char const *gmm_last_error_message(void) { return tls_error_msg; }

/* ---- output ---------------------------------------------------------------- */

/* The hooks are process-wide, as in VLFeat. They are set rarely (typically
 * once, by a binding) and read when a verbose message is produced. */
static printf_func_t g_printf = printf;
static vl_log_func_t g_log_func = NULL;
static void *g_log_user = NULL;

void gmm_set_printf(printf_func_t f) { g_printf = f; }

printf_func_t gmm_get_printf(void) { return g_printf; }

void gmm_set_log(vl_log_func_t func, void *user)
{
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
