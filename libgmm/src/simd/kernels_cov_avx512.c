/* kernels_cov_avx512.c: the full and tied covariance kernels of the
 * AVX-512F table (chol_dist, chol_whiten, scatter; see kernels.h), apart
 * from kernels_avx512.c only to keep files short: kernels_cov.tc (read its
 * comment) over zmm registers. Compiled with the same flags; AVX-512F
 * instructions only (vmovups, vbroadcastss/sd, vfmadd, vsubps/pd,
 * vcvtps2pd, vaddpd, and 256-bit extracts).
 * Registers: chol tiles of 4 rows of u x 4 vectors of points (16
 * accumulators + 4 distances + 4 loads + 1 broadcast); scatter tiles of
 * 6 rows x 4 column vectors. */
#if !defined(__AVX512F__)
#error "kernels_cov_avx512.c must be compiled with AVX-512F enabled (-mavx512f)"
#else

#include <immintrin.h>

#include "simd/kernels.h"
#include "simd/kinline.h"
#include "util/template.h"

#define ISA avx512
#define RB 4 /* rows of u per chol tile */
#define PV 4 /* vectors of points per chol tile */
#define MR 6 /* rows per scatter tile */
#define NV 4 /* column vectors per scatter tile */
#define AT(p, k) ((p) ? (p) + (k) : NULL)

/* row[c ..] += t for the columns < D (converted to double). */
GMM_KINLINE void add_row_f(__m512 t, double *row, size_t c, size_t D)
{
  if (c + 16 <= D) {
    __m512d const lo = _mm512_cvtps_pd(_mm512_castps512_ps256(t));
    __m512d const hi =
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
    _mm512_storeu_pd(row + c, _mm512_add_pd(_mm512_loadu_pd(row + c), lo));
    _mm512_storeu_pd(row + c + 8, _mm512_add_pd(_mm512_loadu_pd(row + c + 8), hi));
  } else {
    float tmp[16];
    _mm512_storeu_ps(tmp, t);
    for (size_t k = 0; c + k < D; ++k) row[c + k] += (double)tmp[k];
  }
}

GMM_KINLINE void add_row_d(__m512d t, double *row, size_t c, size_t D)
{
  if (c + 8 <= D) {
    _mm512_storeu_pd(row + c, _mm512_add_pd(_mm512_loadu_pd(row + c), t));
  } else {
    double tmp[8];
    _mm512_storeu_pd(tmp, t);
    for (size_t k = 0; c + k < D; ++k) row[c + k] += tmp[k];
  }
}

#define T float
#define SFX f
#define V __m512
#define VL 16
#define V_ZERO() _mm512_setzero_ps()
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_SET1(x) _mm512_set1_ps(x)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#include "simd/kernels_cov.tc"

#define T double
#define SFX d
#define V __m512d
#define VL 8
#define V_ZERO() _mm512_setzero_pd()
#define V_LOAD(p) _mm512_loadu_pd(p)
#define V_STORE(p, v) _mm512_storeu_pd(p, v)
#define V_SET1(x) _mm512_set1_pd(x)
#define V_SUB(a, b) _mm512_sub_pd(a, b)
#define V_FMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#include "simd/kernels_cov.tc"

#endif /* __AVX512F__ */
