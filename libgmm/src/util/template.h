/* template.h: the one idiom for code written once for float and double.
 *
 * A template body lives in a `.tc` file. The `.c` file that owns it defines
 * GMM_TEMPLATE to the body's path and includes "util/instantiate.h", which
 * includes the body twice, with
 *   T      float / double      the element type
 *   SFX    f / d               the suffix: SF(name) expands to name_f / name_d
 *   T_MAX  FLT_MAX / DBL_MAX   the largest finite T
 *   T_MIN  FLT_MIN / DBL_MIN   the smallest normal T
 *   T_EPS  FLT_EPSILON / DBL_EPSILON
 *   T_VLTYPE  VL_TYPE_FLOAT / VL_TYPE_DOUBLE
 *   T_EXP, T_NEXTAFTER  expf / exp, nextafterf / nextafter
 * defined. Declarations of the typed functions are written the same way, in
 * a `.th` file that the module's header instantiates. Everything
 * type-specific is in `.tc`/`.th` files; the `.c` files (and the exported
 * entry points) are type-independent: they reach typed code through
 * GMM_DISPATCH, the one switch on the data type. */
#ifndef GMM_TEMPLATE_H
#define GMM_TEMPLATE_H
#define GMM_CAT_(a, b) a##_##b
#define GMM_CAT(a, b) GMM_CAT_(a, b)
#define SF(name) GMM_CAT(name, SFX)

/* The one switch on the data type of type-independent code: calls name_f
 * or name_d (the array arguments are void pointers, converted implicitly). */
#define GMM_DISPATCH(type, name, ...) \
  ((type) == VL_TYPE_FLOAT ? name##_f(__VA_ARGS__) : name##_d(__VA_ARGS__))
#endif
