/* kernels_scalar.c: the portable reference kernels, always built (the
 * bodies are kernels_scalar.tc, one per element type). */
#include <math.h>
#include <string.h>

#include "simd/kernels.h"

#define GMM_TEMPLATE "simd/kernels_scalar.tc"
#include "util/instantiate.h"

gmm_kernels const gmm_kernels_scalar = {
  .name = "scalar",
  .level = VL_SIMD_SCALAR,
  .wdist_f = wdist_f,
  .wdist_d = wdist_d,
  .l2dist_f = l2dist_f,
  .l2dist_d = l2dist_d,
  .l2argmin_f = l2argmin_f,
  .l2argmin_d = l2argmin_d,
  .dist_l2_f = dist_l2_f,
  .dist_l2_d = dist_l2_d,
  .lse_f = gmm_lse_scalar_f,
  .lse_d = gmm_lse_scalar_d,
  .accum_f = accum_f,
  .accum_d = accum_d,
  .moments_f = gmm_moments_scalar_f,
  .moments_d = gmm_moments_scalar_d,
  .select_f = select_f,
  .select_d = select_d,
  .chol_dist_f = gmm_chol_dist_scalar_f,
  .chol_dist_d = gmm_chol_dist_scalar_d,
  .chol_whiten_f = gmm_chol_whiten_scalar_f,
  .chol_whiten_d = gmm_chol_whiten_scalar_d,
  .scatter_f = gmm_scatter_scalar_f,
  .scatter_d = gmm_scatter_scalar_d,
  .copy_rows_f = gmm_copy_rows_scalar_f,
  .copy_rows_d = gmm_copy_rows_scalar_d,
  .fisher_terms_f = gmm_fisher_terms_scalar_f,
  .fisher_terms_d = gmm_fisher_terms_scalar_d,
  .eparams_row_f = gmm_eparams_row_scalar_f,
  .eparams_row_d = gmm_eparams_row_scalar_d,
  .all_above_f = gmm_all_above_scalar_f,
  .all_above_d = gmm_all_above_scalar_d,
  .vexp_f = vexp_f,
  .vexp_d = vexp_d,
};
