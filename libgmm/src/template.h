/* template.h: helpers for the float/double template bodies (*.tc files).
 * A .tc file is included twice, with T/SFX defined as float/f then double/d;
 * SF(name) expands to name_f or name_d. */
#ifndef GMM_TEMPLATE_H
#define GMM_TEMPLATE_H
#define GMM_CAT_(a, b) a##_##b
#define GMM_CAT(a, b) GMM_CAT_(a, b)
#define SF(name) GMM_CAT(name, SFX)
#endif
