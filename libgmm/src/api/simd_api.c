/* simd_api.c: the SIMD level (vl/generic.h, vl/libgmm/simd.h) over the
 * kernel dispatch of simd/dispatch.c. */
#include "simd/kernels.h"

VL_EXPORT int vl_get_simd_level(void)
{
  gmm_clear_error();
  return gmm_simd_level();
}

VL_EXPORT int vl_get_simd_max_level(void)
{
  gmm_clear_error();
  return gmm_simd_max_level();
}

VL_EXPORT vl_bool vl_get_simd_level_available(int level)
{
  gmm_clear_error();
  return gmm_kernels_for_level(level) != NULL;
}

VL_EXPORT int vl_set_simd_level(int level)
{
  gmm_clear_error();
  return gmm_simd_set_level(level);
}

VL_EXPORT char const *vl_get_simd_level_name(int level)
{
  char const *name;
  gmm_clear_error();
  name = gmm_simd_level_name(level);
  GMM_REQUIRE(name != NULL, NULL, VL_ERR_BAD_ARG, "vl_get_simd_level_name: unknown level %d",
              level);
  return name;
}

VL_EXPORT void vl_set_simd_enabled(vl_bool x)
{
  gmm_clear_error();
  gmm_simd_set_enabled(x != 0);
}

VL_EXPORT vl_bool vl_get_simd_enabled(void)
{
  gmm_clear_error();
  return gmm_simd_level() != VL_SIMD_SCALAR;
}
