/* linalg.h: the small dense linear algebra of the full and tied covariance
 * types, in double: Cholesky factorisation, inversion of the factor, and
 * the checks built on them. Matrices are D x D, row-major, with row stride
 * `ld`; D is a covariance's dimension (tens to a few hundreds), so these are
 * plain loops: they run O(K) times per EM iteration, against the O(N K D^2)
 * of the E-step and M-step passes. */
#ifndef GMM_CORE_LINALG_H
#define GMM_CORE_LINALG_H

#include "util/internal.h"

/* In place: the lower triangle of `a` (D x D, symmetric; the upper triangle
 * is not read) becomes L with a = L L^T; the strict upper triangle is set to
 * 0. Returns 0, or r + 1 when the leading minor of order r + 1 is not
 * positive definite (its pivot is not > 0 or not finite), with `a`
 * partly overwritten. */
GMM_HIDDEN size_t gmm_cholesky(size_t D, double *a, size_t ld);

/* inv = L^{-1} (lower-triangular, strict upper triangle 0) from a lower
 * Cholesky factor L with a positive diagonal; inv may not alias L. */
GMM_HIDDEN void gmm_tri_inverse(size_t D, double const *L, size_t ldl, double *inv, size_t ldi);

/* log det(L L^T) = 2 sum_d log L_dd. */
GMM_HIDDEN double gmm_chol_logdet(size_t D, double const *L, size_t ld);

#define GMM_TEMPLATE "core/linalg.th"
#include "util/instantiate.h"

#endif /* GMM_CORE_LINALG_H */
