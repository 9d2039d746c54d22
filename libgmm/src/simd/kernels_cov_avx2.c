/* kernels_cov_avx2.c: the full and tied covariance kernels of the AVX2+FMA
 * table (chol_dist, chol_whiten, scatter; see kernels.h), apart from
 * kernels_avx2.c only to keep files short: kernels_cov.tc (read its
 * comment) over ymm registers. Compiled with the same flags; AVX loads,
 * stores and broadcasts, FMA3 vfmadd, vsubps/pd, vcvtps2pd, vaddpd and
 * 128-bit extracts.
 * Registers (16 ymm): chol tiles of 4 rows of u x 2 vectors of points (8
 * accumulators + 2 distances + 2 loads + 1 broadcast); scatter tiles of 4
 * rows x 2 column vectors. */
#if !(defined(__AVX2__) && defined(__FMA__))
#error "kernels_cov_avx2.c must be compiled with AVX2 and FMA enabled (-mavx2 -mfma)"
#else

#include <immintrin.h>

#include "simd/kernels.h"
#include "simd/kinline.h"
#include "util/template.h"

#define ISA avx2
#define RB 4 /* rows of u per chol tile */
#define PV 2 /* vectors of points per chol tile */
#define MR 4 /* rows per scatter tile */
#define NV 2 /* column vectors per scatter tile */
#define AT(p, k) ((p) ? (p) + (k) : NULL)

/* row[c ..] += t for the columns < D (converted to double). */
GMM_KINLINE void add_row_f(__m256 t, double *row, size_t c, size_t D)
{
  if (c + 8 <= D) {
    __m256d const lo = _mm256_cvtps_pd(_mm256_castps256_ps128(t));
    __m256d const hi = _mm256_cvtps_pd(_mm256_extractf128_ps(t, 1));
    _mm256_storeu_pd(row + c, _mm256_add_pd(_mm256_loadu_pd(row + c), lo));
    _mm256_storeu_pd(row + c + 4, _mm256_add_pd(_mm256_loadu_pd(row + c + 4), hi));
  } else {
    float tmp[8];
    _mm256_storeu_ps(tmp, t);
    for (size_t k = 0; c + k < D; ++k) row[c + k] += (double)tmp[k];
  }
}

GMM_KINLINE void add_row_d(__m256d t, double *row, size_t c, size_t D)
{
  if (c + 4 <= D) {
    _mm256_storeu_pd(row + c, _mm256_add_pd(_mm256_loadu_pd(row + c), t));
  } else {
    double tmp[4];
    _mm256_storeu_pd(tmp, t);
    for (size_t k = 0; c + k < D; ++k) row[c + k] += tmp[k];
  }
}

#define T float
#define SFX f
#define V __m256
#define VL 8
#define V_ZERO() _mm256_setzero_ps()
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#include "simd/kernels_cov.tc"

#define T double
#define SFX d
#define V __m256d
#define VL 4
#define V_ZERO() _mm256_setzero_pd()
#define V_LOAD(p) _mm256_loadu_pd(p)
#define V_STORE(p, v) _mm256_storeu_pd(p, v)
#define V_SET1(x) _mm256_set1_pd(x)
#define V_SUB(a, b) _mm256_sub_pd(a, b)
#define V_FMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#include "simd/kernels_cov.tc"

#endif /* __AVX2__ && __FMA__ */
