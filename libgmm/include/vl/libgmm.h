/** @file libgmm.h
 ** @brief libgmm: VLFeat's API (vl/gmm.h, vl/kmeans.h, vl/fisher.h,
 ** vl/vlad.h, vl/random.h) and libgmm's extensions (the headers in vl/libgmm/).
 **
 ** The headers in vl/ declare VLFeat's API only, so a program written for
 ** VLFeat compiles against them unchanged; a program that uses libgmm's
 ** own functions (version, SIMD level, log hook, iteration callbacks,
 ** E-step outputs, EM and k-means by sufficient statistics, batch encoders,
 ** bags of words) includes this header. Extension functions return 0 on
 ** success or a VL_ERR_* code (the message is available from
 ** ::vl_get_last_error_message).
 **/
#ifndef VL_LIBGMM_H
#define VL_LIBGMM_H

#include "fisher.h"
#include "gmm.h"
#include "kmeans.h"
#include "random.h"
#include "vlad.h"

#include "libgmm/base.h"
#include "libgmm/encode.h"
#include "libgmm/gmm.h"
#include "libgmm/kmeans.h"
#include "libgmm/simd.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Version
 ** LIBGMM_ABI_VERSION is the SONAME major: it changes only with an
 ** incompatible ABI change. Symbols are only ever added.
 ** @{ */
#define LIBGMM_VERSION_MAJOR 0
#define LIBGMM_VERSION_MINOR 1
#define LIBGMM_VERSION_PATCH 0
#define LIBGMM_ABI_VERSION 1
#define LIBGMM_VERSION_STRING "0.1.0"
/** @return LIBGMM_ABI_VERSION of the library actually loaded. */
VL_EXPORT int vl_get_abi_version(void);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_LIBGMM_H */
