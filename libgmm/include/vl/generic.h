/** @file generic.h
 ** @brief Data types, errors, threads, SIMD switch and output hook (VLFeat-compatible).
 **
 ** Errors: every exported libgmm function clears the calling thread's last
 ** error on entry and sets it (code + message) when it fails, so reading
 ** ::vl_get_last_error right after any call tells whether that call failed.
 ** Functions with VLFeat signatures keep their return types and signal
 ** failure with a sentinel as documented per function (NULL, NaN, 0).
 **
 ** libgmm never prints on its own: messages are produced only when a caller
 ** raised an object's verbosity, and they go through the printf hook
 ** (::vl_set_printf_func) or the log hook (::vl_set_log_func, vl/libgmm/base.h).
 **/
#ifndef VL_GENERIC_H
#define VL_GENERIC_H

#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Data types
 ** Only ::VL_TYPE_FLOAT and ::VL_TYPE_DOUBLE are accepted by the numerical
 ** functions; other codes are rejected with ::VL_ERR_BAD_ARG.
 ** @{ */
typedef vl_uint32 vl_type;
#define VL_TYPE_FLOAT   1
#define VL_TYPE_DOUBLE  2
#define VL_TYPE_INT8    3
#define VL_TYPE_UINT8   4
#define VL_TYPE_INT16   5
#define VL_TYPE_UINT16  6
#define VL_TYPE_INT32   7
#define VL_TYPE_UINT32  8
#define VL_TYPE_INT64   9
#define VL_TYPE_UINT64  10
/** @} */

/** @name Error codes
 ** VLFeat's codes; libgmm's own (16 and up) are in vl/libgmm/base.h.
 ** @{ */
#define VL_ERR_MSG_LEN   1024
#define VL_ERR_OK        0   /**< no error */
#define VL_ERR_OVERFLOW  1   /**< a size computation overflows */
#define VL_ERR_ALLOC     2   /**< memory allocation failed */
#define VL_ERR_BAD_ARG   3   /**< bad argument (NULL, size, enum, flag, NaN/Inf, ...) */
#define VL_ERR_IO        4   /**< input/output error */
#define VL_ERR_EOF       5   /**< end of file or sequence */
#define VL_ERR_NO_MORE   5   /**< deprecated alias of ::VL_ERR_EOF */
/** @} */

/** @brief Version string of the library (e.g. "0.1.0"). */
VL_EXPORT char const *vl_get_version_string(void);

/** @name SIMD
 ** ::vl_set_simd_enabled(0) forces the portable scalar kernels (as does the
 ** environment variable `GMM_SIMD=scalar`); see vl/libgmm/simd.h for finer control.
 ** @{ */
VL_EXPORT void vl_set_simd_enabled(vl_bool x);
VL_EXPORT vl_bool vl_get_simd_enabled(void);
/** @} */

/** @name Threads
 ** `vl_set_num_threads(0)` restores the default (`OMP_NUM_THREADS` if set, else
 ** the number of cores). Results do not depend on the number of threads.
 ** @{ */
VL_EXPORT vl_size vl_get_max_threads(void);
VL_EXPORT void vl_set_num_threads(vl_size n);
VL_EXPORT vl_size vl_get_thread_limit(void);
/** @} */

/** @name Errors (per thread)
 ** @{ */
VL_EXPORT int vl_get_last_error(void);
VL_EXPORT char const *vl_get_last_error_message(void);
/** @} */

/** @name Output hook
 ** Verbose messages are formatted and passed, one line at a time, to the
 ** printf function (default: the C library's printf). Set NULL to silence.
 ** @{ */
typedef int (*printf_func_t)(char const *format, ...);
VL_EXPORT void vl_set_printf_func(printf_func_t printf_func);
VL_EXPORT printf_func_t vl_get_printf_func(void);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_GENERIC_H */
