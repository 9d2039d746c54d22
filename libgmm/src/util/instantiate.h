/* instantiate.h: includes the template body GMM_TEMPLATE for float, then for
 * double (see template.h). No include guard: included once per body. */
#include <float.h>

#include "util/template.h"

#ifndef GMM_TEMPLATE
#error "define GMM_TEMPLATE (the .tc file) before including util/instantiate.h"
#endif

#define T float
#define SFX f
#define T_MAX FLT_MAX
#define T_MIN FLT_MIN
#define T_EPS FLT_EPSILON
#define T_VLTYPE VL_TYPE_FLOAT
#define T_EXP expf
#define T_NEXTAFTER nextafterf
#include GMM_TEMPLATE
#undef T
#undef SFX
#undef T_MAX
#undef T_MIN
#undef T_EPS
#undef T_VLTYPE
#undef T_EXP
#undef T_NEXTAFTER

#define T double
#define SFX d
#define T_MAX DBL_MAX
#define T_MIN DBL_MIN
#define T_EPS DBL_EPSILON
#define T_VLTYPE VL_TYPE_DOUBLE
#define T_EXP exp
#define T_NEXTAFTER nextafter
#include GMM_TEMPLATE
#undef T
#undef SFX
#undef T_MAX
#undef T_MIN
#undef T_EPS
#undef T_VLTYPE
#undef T_EXP
#undef T_NEXTAFTER

#undef GMM_TEMPLATE
