/** @file host.h
 ** @brief Host types, export macros and compiler helpers (VLFeat-compatible names).
 **
 ** The scalar type names (`vl_size`, `vl_index`, `vl_uint32`, ...) and the
 ** `VL_EXPORT` / `VL_INLINE` macros have the same meaning as in VLFeat so that
 ** code written against VLFeat's headers compiles against libgmm's.
 **/
#ifndef VL_HOST_H
#define VL_HOST_H

#include <stddef.h>
#include <stdint.h>

/** @name Export macros
 ** @{ */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(LIBGMM_BUILDING)
#    define VL_EXPORT __declspec(dllexport)
#  elif defined(LIBGMM_STATIC)
#    define VL_EXPORT
#  else
#    define VL_EXPORT __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define VL_EXPORT __attribute__((visibility("default")))
#else
#  define VL_EXPORT
#endif

#if defined(__cplusplus)
#  define VL_INLINE static inline
#else
#  define VL_INLINE static inline
#endif
/** @} */

/** @name Scalar types (LP64 / LLP64: 64-bit sizes)
 ** @{ */
typedef int64_t   vl_int64;
typedef int32_t   vl_int32;
typedef int16_t   vl_int16;
typedef int8_t    vl_int8;
typedef uint64_t  vl_uint64;
typedef uint32_t  vl_uint32;
typedef uint16_t  vl_uint16;
typedef uint8_t   vl_uint8;
typedef int       vl_int;
typedef unsigned  vl_uint;
typedef int       vl_bool;
typedef intptr_t  vl_intptr;
typedef uintptr_t vl_uintptr;
typedef size_t    vl_size;    /**< size of a memory block or a count */
typedef ptrdiff_t vl_index;   /**< signed index */
typedef size_t    vl_uindex;  /**< unsigned index */
/** @} */

#define VL_TRUE  1
#define VL_FALSE 0

#endif /* VL_HOST_H */
