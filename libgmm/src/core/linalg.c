/* linalg.c: Cholesky factorisation and triangular inversion in double (see linalg.h). */
#include "core/linalg.h"

#define GMM_TEMPLATE "core/linalg.tc"
#include "util/instantiate.h"

size_t gmm_cholesky(size_t D, double *a, size_t ld)
{
  /* Row by row (the Cholesky-Banachiewicz order): each entry is its dot
   * product over the columns already computed, in increasing order, so the
   * result does not depend on anything but the matrix. */
  for (size_t r = 0; r < D; ++r) {
    double *ar = a + r * ld;
    for (size_t c = 0; c <= r; ++c) {
      double const *ac = a + c * ld;
      double s = ar[c];
      for (size_t j = 0; j < c; ++j) s -= ar[j] * ac[j];
      if (c < r) {
        ar[c] = s / ac[c];
      } else {
        if (!(s > 0) || !isfinite(s)) return r + 1;
        ar[r] = sqrt(s);
      }
    }
    for (size_t c = r + 1; c < D; ++c) ar[c] = 0;
  }
  return 0;
}

void gmm_tri_inverse(size_t D, double const *L, size_t ldl, double *inv, size_t ldi)
{
  /* Forward substitution for each column c of the identity: row r of
   * L x = e_c gives x_r = (delta_rc - sum_{c <= j < r} L_rj x_j) / L_rr. */
  for (size_t r = 0; r < D; ++r) {
    double const *lr = L + r * ldl;
    double *ir = inv + r * ldi;
    for (size_t c = 0; c < r; ++c) {
      double s = 0;
      for (size_t j = c; j < r; ++j) s -= lr[j] * inv[j * ldi + c];
      ir[c] = s / lr[r];
    }
    ir[r] = 1.0 / lr[r];
    for (size_t c = r + 1; c < D; ++c) ir[c] = 0;
  }
}

double gmm_chol_logdet(size_t D, double const *L, size_t ld)
{
  double s = 0;
  for (size_t d = 0; d < D; ++d) s += log(L[d * ld + d]);
  return 2 * s;
}
