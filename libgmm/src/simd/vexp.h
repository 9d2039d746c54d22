/* vexp.h: vectorised exp for the log-sum-exp kernels, float and double, one
 * section per SIMD level. Each kernels_<isa>.c includes this header under its
 * own ISA flags and uses only its own section (the AVX-512 file also sees the
 * AVX2 and SSE2 sections: they are static inline and simply unused).
 *
 * Method (textbook, table-free), for y = exp(x):
 *  1. Clamp x to [LO, HI]. NaN passes through (max/min return their second
 *     operand, x, when it is unordered; NEON's fmax/fmin return NaN for a
 *     NaN operand), -inf becomes LO and gives exactly 0,
 *     +inf becomes HI and gives +inf.
 *       float:  LO = -110 (exp < 2^-158, rounds to 0), HI = 89 (overflows);
 *       double: LO = -760 (exp < 2^-1096 -> 0),        HI = 710 (overflows).
 *  2. Range reduction x = n ln2 + r, n = round(x log2e) (by adding and
 *     subtracting 1.5 * 2^23 resp. 2^52), r = (x - n ln2_hi) - n ln2_lo
 *     (Cody-Waite): ln2_hi has 16 (float) / 42 (double) significant bits, so
 *     n ln2_hi and x - n ln2_hi are exact for the clamped n; ln2_lo =
 *     ln2 - ln2_hi rounded to the element type. |r| <= ln2/2 (+ a few ulp).
 *  3. e^r ~ 1 + r + r^2 P(r), Horner in the element type (FMA where the ISA
 *     has it); the coefficients c2..c6 (float, degree 6) and c2..c11
 *     (double, degree 11) of 1 + r + c2 r^2 + ... are our own Remez fits
 *     (mpmath, 60 digits) minimising the relative error on |r| <= 0.3467
 *     with 1 + r fixed: the fits' max relative errors are 3.1e-9 (float,
 *     0.05 ulp) and 3.6e-18 (double, 0.03 ulp); rounding in the evaluation
 *     dominates.
 *  4. 2^n by exponent-bit construction, in two factors 2^n1 2^n2 with
 *     n1 = floor-or-round(n/2), n2 = n - n1, both normal: p 2^n1 is exact and
 *     the single rounding happens in the last multiplication, so results in
 *     the subnormal range are correctly scaled (gradual underflow down to 0)
 *     and large n overflow to +inf. AVX-512F does the same in one
 *     instruction, vscalefps/pd (p * 2^n, rounded once, subnormals and
 *     overflow handled by the hardware).
 * NEON (aarch64) follows the AVX2 version except in step 2, where n comes
 * from the round-to-nearest instruction (frintn) instead of the shift.
 *
 * Measured accuracy (tests/test_kernels.c: 1e6 arguments swept over
 * [-104, 0] float / [-745, 0] double, against exp() in double resp. expl()
 * in long double; error in ulp of the exact result, with the ulp of the
 * smallest subnormal in the subnormal range):
 *            float [-104, 0]   double [-745, 0]   (libm: 0.50 / 0.51)
 *   sse2     0.96 ulp          0.98 ulp
 *   avx2     0.98 ulp          1.02 ulp
 *   avx512   1.00 ulp          1.02 ulp
 *   neon     0.98 ulp          1.01 ulp   (aarch64 under qemu-user; its
 *                                          long double is IEEE quad)
 * the subnormal ranges alone <= 0.76 ulp, and the positive range up to
 * overflow is as accurate as the negative one. exp(0) == 1, exp(-inf) == 0
 * and exp(x) == 0 for x below the range exactly; exp(NaN) is NaN.
 */
#ifndef GMM_SIMD_VEXP_H
#define GMM_SIMD_VEXP_H

#include <stdint.h>

#include "simd/kinline.h"

/* ---- constants ------------------------------------------------------------ */

#define GMM_EXPF_LO (-110.0f)
#define GMM_EXPF_HI 89.0f
#define GMM_EXPF_LOG2E 1.44269502e+00f
#define GMM_EXPF_SHIFT 12582912.0f          /* 1.5 * 2^23 */
#define GMM_EXPF_LN2_HI 6.93145752e-01f     /* 0x1.62e4p-1: 16 bits */
#define GMM_EXPF_LN2_LO 1.42860677e-06f     /* ln2 - ln2_hi */
#define GMM_EXPF_C2 4.999999404e-01f
#define GMM_EXPF_C3 1.666652113e-01f
#define GMM_EXPF_C4 4.166838899e-02f
#define GMM_EXPF_C5 8.368735202e-03f
#define GMM_EXPF_C6 1.381456037e-03f

#define GMM_EXP_LO (-760.0)
#define GMM_EXP_HI 710.0
#define GMM_EXP_LOG2E 1.4426950408889634
#define GMM_EXP_SHIFT 6755399441055744.0    /* 1.5 * 2^52 */
#define GMM_EXP_SHIFT_BIAS 6755399441056767.0 /* 1.5 * 2^52 + 1023 */
#define GMM_EXP_LN2_HI 6.9314718055989033e-01 /* 0x1.62e42fefa38p-1: 42 bits */
#define GMM_EXP_LN2_LO 5.4979230187083712e-14 /* ln2 - ln2_hi */
#define GMM_EXP_C2 5.00000000000001110e-01
#define GMM_EXP_C3 1.66666666666664132e-01
#define GMM_EXP_C4 4.16666666665298710e-02
#define GMM_EXP_C5 8.33333333349480648e-03
#define GMM_EXP_C6 1.38888889437161172e-03
#define GMM_EXP_C7 1.98412695060375517e-04
#define GMM_EXP_C8 2.48014930000317337e-05
#define GMM_EXP_C9 2.75575866664839581e-06
#define GMM_EXP_C10 2.76302867143411443e-07
#define GMM_EXP_C11 2.50000306384630932e-08

/* ---- SSE2 (no FMA: every product and sum rounded separately) -------------- */

#if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64) || \
    (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>

GMM_KINLINE __m128 gmm_vexpf_sse2(__m128 x)
{
  __m128 const shift = _mm_set1_ps(GMM_EXPF_SHIFT);
  x = _mm_max_ps(_mm_set1_ps(GMM_EXPF_LO), x);
  x = _mm_min_ps(_mm_set1_ps(GMM_EXPF_HI), x);
  __m128 k = _mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(GMM_EXPF_LOG2E)), shift);
  __m128 n = _mm_sub_ps(k, shift);
  __m128i ni = _mm_sub_epi32(_mm_castps_si128(k), _mm_castps_si128(shift));
  __m128 r = _mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(GMM_EXPF_LN2_HI)));
  r = _mm_sub_ps(r, _mm_mul_ps(n, _mm_set1_ps(GMM_EXPF_LN2_LO)));
  __m128 r2 = _mm_mul_ps(r, r);
  __m128 p = _mm_add_ps(_mm_mul_ps(_mm_set1_ps(GMM_EXPF_C6), r), _mm_set1_ps(GMM_EXPF_C5));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(GMM_EXPF_C4));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(GMM_EXPF_C3));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(GMM_EXPF_C2));
  p = _mm_add_ps(_mm_mul_ps(p, r2), r);
  p = _mm_add_ps(p, _mm_set1_ps(1.0f));
  __m128i n1 = _mm_srai_epi32(ni, 1), n2 = _mm_sub_epi32(ni, n1);
  __m128i const bias = _mm_set1_epi32(127);
  __m128 s1 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n1, bias), 23));
  __m128 s2 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n2, bias), 23));
  return _mm_mul_ps(_mm_mul_ps(p, s1), s2);
}

GMM_KINLINE __m128d gmm_vexp_sse2(__m128d x)
{
  __m128d const shift = _mm_set1_pd(GMM_EXP_SHIFT), sbias = _mm_set1_pd(GMM_EXP_SHIFT_BIAS);
  x = _mm_max_pd(_mm_set1_pd(GMM_EXP_LO), x);
  x = _mm_min_pd(_mm_set1_pd(GMM_EXP_HI), x);
  __m128d n = _mm_sub_pd(_mm_add_pd(_mm_mul_pd(x, _mm_set1_pd(GMM_EXP_LOG2E)), shift), shift);
  __m128d r = _mm_sub_pd(x, _mm_mul_pd(n, _mm_set1_pd(GMM_EXP_LN2_HI)));
  r = _mm_sub_pd(r, _mm_mul_pd(n, _mm_set1_pd(GMM_EXP_LN2_LO)));
  __m128d r2 = _mm_mul_pd(r, r);
  __m128d p = _mm_add_pd(_mm_mul_pd(_mm_set1_pd(GMM_EXP_C11), r), _mm_set1_pd(GMM_EXP_C10));
  p = _mm_add_pd(_mm_mul_pd(p, r), _mm_set1_pd(GMM_EXP_C9));
  p = _mm_add_pd(_mm_mul_pd(p, r), _mm_set1_pd(GMM_EXP_C8));
  p = _mm_add_pd(_mm_mul_pd(p, r), _mm_set1_pd(GMM_EXP_C7));
  p = _mm_add_pd(_mm_mul_pd(p, r), _mm_set1_pd(GMM_EXP_C6));
  p = _mm_add_pd(_mm_mul_pd(p, r), _mm_set1_pd(GMM_EXP_C5));
  p = _mm_add_pd(_mm_mul_pd(p, r), _mm_set1_pd(GMM_EXP_C4));
  p = _mm_add_pd(_mm_mul_pd(p, r), _mm_set1_pd(GMM_EXP_C3));
  p = _mm_add_pd(_mm_mul_pd(p, r), _mm_set1_pd(GMM_EXP_C2));
  p = _mm_add_pd(_mm_mul_pd(p, r2), r);
  p = _mm_add_pd(p, _mm_set1_pd(1.0));
  /* n = n1 + n2: adding 1.5 * 2^52 + 1023 to n/2 leaves round(n/2) + 1023
   * in the low mantissa bits; shifting them into the exponent field gives
   * 2^n1 (the higher bits fall off). */
  __m128d k1 = _mm_add_pd(_mm_mul_pd(n, _mm_set1_pd(0.5)), sbias);
  __m128d n2 = _mm_sub_pd(n, _mm_sub_pd(k1, sbias));
  __m128d k2 = _mm_add_pd(n2, sbias);
  __m128d s1 = _mm_castsi128_pd(_mm_slli_epi64(_mm_castpd_si128(k1), 52));
  __m128d s2 = _mm_castsi128_pd(_mm_slli_epi64(_mm_castpd_si128(k2), 52));
  return _mm_mul_pd(_mm_mul_pd(p, s1), s2);
}
#endif /* SSE2 */

/* ---- AVX2 + FMA ----------------------------------------------------------- */

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

GMM_KINLINE __m256 gmm_vexpf_avx2(__m256 x)
{
  __m256 const shift = _mm256_set1_ps(GMM_EXPF_SHIFT);
  x = _mm256_max_ps(_mm256_set1_ps(GMM_EXPF_LO), x);
  x = _mm256_min_ps(_mm256_set1_ps(GMM_EXPF_HI), x);
  __m256 k = _mm256_fmadd_ps(x, _mm256_set1_ps(GMM_EXPF_LOG2E), shift);
  __m256 n = _mm256_sub_ps(k, shift);
  __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(k), _mm256_castps_si256(shift));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(GMM_EXPF_LN2_HI), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(GMM_EXPF_LN2_LO), r);
  __m256 r2 = _mm256_mul_ps(r, r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(GMM_EXPF_C6), r, _mm256_set1_ps(GMM_EXPF_C5));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(GMM_EXPF_C4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(GMM_EXPF_C3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(GMM_EXPF_C2));
  p = _mm256_fmadd_ps(p, r2, r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  __m256i const bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

GMM_KINLINE __m256d gmm_vexp_avx2(__m256d x)
{
  __m256d const shift = _mm256_set1_pd(GMM_EXP_SHIFT);
  __m256d const sbias = _mm256_set1_pd(GMM_EXP_SHIFT_BIAS);
  x = _mm256_max_pd(_mm256_set1_pd(GMM_EXP_LO), x);
  x = _mm256_min_pd(_mm256_set1_pd(GMM_EXP_HI), x);
  __m256d n = _mm256_sub_pd(_mm256_fmadd_pd(x, _mm256_set1_pd(GMM_EXP_LOG2E), shift), shift);
  __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(GMM_EXP_LN2_HI), x);
  r = _mm256_fnmadd_pd(n, _mm256_set1_pd(GMM_EXP_LN2_LO), r);
  __m256d r2 = _mm256_mul_pd(r, r);
  __m256d p = _mm256_fmadd_pd(_mm256_set1_pd(GMM_EXP_C11), r, _mm256_set1_pd(GMM_EXP_C10));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(GMM_EXP_C9));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(GMM_EXP_C8));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(GMM_EXP_C7));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(GMM_EXP_C6));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(GMM_EXP_C5));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(GMM_EXP_C4));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(GMM_EXP_C3));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(GMM_EXP_C2));
  p = _mm256_fmadd_pd(p, r2, r);
  p = _mm256_add_pd(p, _mm256_set1_pd(1.0));
  /* 2^n1 2^n2 as in the SSE2 version */
  __m256d k1 = _mm256_fmadd_pd(n, _mm256_set1_pd(0.5), sbias);
  __m256d n2 = _mm256_sub_pd(n, _mm256_sub_pd(k1, sbias));
  __m256d k2 = _mm256_add_pd(n2, sbias);
  __m256d s1 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(k1), 52));
  __m256d s2 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(k2), 52));
  return _mm256_mul_pd(_mm256_mul_pd(p, s1), s2);
}
#endif /* AVX2 + FMA */

/* ---- AVX-512F --------------------------------------------------------------- */

#if defined(__AVX512F__)
#include <immintrin.h>

GMM_KINLINE __m512 gmm_vexpf_avx512(__m512 x)
{
  __m512 const shift = _mm512_set1_ps(GMM_EXPF_SHIFT);
  x = _mm512_max_ps(_mm512_set1_ps(GMM_EXPF_LO), x);
  x = _mm512_min_ps(_mm512_set1_ps(GMM_EXPF_HI), x);
  __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(GMM_EXPF_LOG2E), shift), shift);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(GMM_EXPF_LN2_HI), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(GMM_EXPF_LN2_LO), r);
  __m512 r2 = _mm512_mul_ps(r, r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(GMM_EXPF_C6), r, _mm512_set1_ps(GMM_EXPF_C5));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(GMM_EXPF_C4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(GMM_EXPF_C3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(GMM_EXPF_C2));
  p = _mm512_fmadd_ps(p, r2, r);
  p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

GMM_KINLINE __m512d gmm_vexp_avx512(__m512d x)
{
  __m512d const shift = _mm512_set1_pd(GMM_EXP_SHIFT);
  x = _mm512_max_pd(_mm512_set1_pd(GMM_EXP_LO), x);
  x = _mm512_min_pd(_mm512_set1_pd(GMM_EXP_HI), x);
  __m512d n = _mm512_sub_pd(_mm512_fmadd_pd(x, _mm512_set1_pd(GMM_EXP_LOG2E), shift), shift);
  __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(GMM_EXP_LN2_HI), x);
  r = _mm512_fnmadd_pd(n, _mm512_set1_pd(GMM_EXP_LN2_LO), r);
  __m512d r2 = _mm512_mul_pd(r, r);
  __m512d p = _mm512_fmadd_pd(_mm512_set1_pd(GMM_EXP_C11), r, _mm512_set1_pd(GMM_EXP_C10));
  p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(GMM_EXP_C9));
  p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(GMM_EXP_C8));
  p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(GMM_EXP_C7));
  p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(GMM_EXP_C6));
  p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(GMM_EXP_C5));
  p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(GMM_EXP_C4));
  p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(GMM_EXP_C3));
  p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(GMM_EXP_C2));
  p = _mm512_fmadd_pd(p, r2, r);
  p = _mm512_add_pd(p, _mm512_set1_pd(1.0));
  return _mm512_scalef_pd(p, n);
}
#endif /* AVX-512F */

/* ---- NEON (aarch64: Advanced SIMD with FMA and float64x2) ------------------ */

#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>

/* As AVX2 (FMA in the reduction and Horner's scheme, 2^n in two factors),
 * except that n = round-to-nearest(x log2e) comes from the rounding
 * instruction (frintn) and its integer from a conversion (fcvtzs; exact,
 * n is integral), instead of the 1.5 * 2^23 shift. The clamps use fmax/fmin,
 * which return NaN when x is NaN (the clamp lets NaN through, as on x86). */
GMM_KINLINE float32x4_t gmm_vexpf_neon(float32x4_t x)
{
  x = vmaxq_f32(x, vdupq_n_f32(GMM_EXPF_LO));
  x = vminq_f32(x, vdupq_n_f32(GMM_EXPF_HI));
  float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(GMM_EXPF_LOG2E)));
  int32x4_t ni = vcvtq_s32_f32(n);
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(GMM_EXPF_LN2_HI));
  r = vfmsq_f32(r, n, vdupq_n_f32(GMM_EXPF_LN2_LO));
  float32x4_t r2 = vmulq_f32(r, r);
  float32x4_t p = vfmaq_f32(vdupq_n_f32(GMM_EXPF_C5), vdupq_n_f32(GMM_EXPF_C6), r);
  p = vfmaq_f32(vdupq_n_f32(GMM_EXPF_C4), p, r);
  p = vfmaq_f32(vdupq_n_f32(GMM_EXPF_C3), p, r);
  p = vfmaq_f32(vdupq_n_f32(GMM_EXPF_C2), p, r);
  p = vfmaq_f32(r, p, r2);
  p = vaddq_f32(p, vdupq_n_f32(1.0f));
  int32x4_t n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
  int32x4_t const bias = vdupq_n_s32(127);
  float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
  float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
  return vmulq_f32(vmulq_f32(p, s1), s2);
}

GMM_KINLINE float64x2_t gmm_vexp_neon(float64x2_t x)
{
  x = vmaxq_f64(x, vdupq_n_f64(GMM_EXP_LO));
  x = vminq_f64(x, vdupq_n_f64(GMM_EXP_HI));
  float64x2_t n = vrndnq_f64(vmulq_f64(x, vdupq_n_f64(GMM_EXP_LOG2E)));
  int64x2_t ni = vcvtq_s64_f64(n);
  float64x2_t r = vfmsq_f64(x, n, vdupq_n_f64(GMM_EXP_LN2_HI));
  r = vfmsq_f64(r, n, vdupq_n_f64(GMM_EXP_LN2_LO));
  float64x2_t r2 = vmulq_f64(r, r);
  float64x2_t p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C10), vdupq_n_f64(GMM_EXP_C11), r);
  p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C9), p, r);
  p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C8), p, r);
  p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C7), p, r);
  p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C6), p, r);
  p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C5), p, r);
  p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C4), p, r);
  p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C3), p, r);
  p = vfmaq_f64(vdupq_n_f64(GMM_EXP_C2), p, r);
  p = vfmaq_f64(r, p, r2);
  p = vaddq_f64(p, vdupq_n_f64(1.0));
  int64x2_t n1 = vshrq_n_s64(ni, 1), n2 = vsubq_s64(ni, n1);
  int64x2_t const bias = vdupq_n_s64(1023);
  float64x2_t s1 = vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(n1, bias), 52));
  float64x2_t s2 = vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(n2, bias), 52));
  return vmulq_f64(vmulq_f64(p, s1), s2);
}
#endif /* NEON */

#endif /* GMM_SIMD_VEXP_H */
