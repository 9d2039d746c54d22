/* kernels_avx512.c: the kernel table for AVX-512F (512-bit zmm registers).
 *
 * Instructions: AVX-512F only (vmovaps/vmovups zmm, vbroadcastss/sd,
 * vsubps/pd, vmulps/pd, vaddps/pd, vfmsub/vfmadd ps/pd on zmm, and the
 * 256/128-bit extracts used by the final horizontal sums; for lse and its
 * exp also vmaxps/pd, vminps/pd, vfnmadd, vscalefps/pd and masked
 * vmovups/pd stores). No AVX-512 DQ/BW/VL instructions, so any AVX-512F CPU
 * runs it.
 *
 * Precision: every kernel computes in the element type (float or double),
 * like the scalar reference. The tile kernels keep the scalar order of
 * summation over d; they differ from scalar only because x*s - m and
 * acc + z*z are each rounded once (FMA) instead of twice. dist_l2 and accum
 * also use FMA, and dist_l2 sums over d in several vector lanes, then
 * reduces them, so its summation order differs from scalar. lse uses the
 * vector exp of vexp.h (< 1.1 ulp) and sums S in lanes (see its comment).
 *
 * Tiling of wdist/l2dist: MR points x 2 vectors (32 floats or 16 doubles)
 * of components. With MR = 12 the 24 accumulators, 2 vectors of s and 2 of
 * m, the broadcast and a temporary stay in the 32 zmm registers while d runs
 * innermost. Point blocks are walked row-tile by row-tile, components
 * innermost, so the x rows of a tile stay in L1 while s/m stream from L2.
 * For float, kp is a multiple of 16 but not always of 32: a one-vector tile
 * finishes the last 16 components.
 */
#if !defined(__AVX512F__)
#error "kernels_avx512.c must be compiled with AVX-512F enabled (-mavx512f)"
#else

#include <immintrin.h>

#include "simd/kernels.h"
#include "simd/kinline.h"
#include "simd/vexp.h"


/* Rows per tile (see the register budget above). Row remainders are done
 * with tiles of 8, 4, 2 and 1 rows. */
#define MR 12

/* ---- float -------------------------------------------------------------- */

/* One tile: `mr` points x `nv` vectors of 16 components (both compile-time
 * constants after inlining), starting at s, m, out. */
GMM_KINLINE void wdist_tile_f(size_t mr, size_t nv, size_t D, size_t kp, float const *x,
                              size_t ldx, float const *s, float const *m, float *out)
{
  __m512 acc[MR][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) acc[r][v] = _mm512_setzero_ps();
  for (size_t d = 0; d < D; ++d) {
    __m512 sv[2], mv[2];
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) {
      sv[v] = _mm512_load_ps(s + d * kp + 16 * v);
      mv[v] = _mm512_load_ps(m + d * kp + 16 * v);
    }
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m512 xr = _mm512_set1_ps(x[r * ldx + d]);
      GMM_UNROLL
      for (size_t v = 0; v < nv; ++v) {
        __m512 z = _mm512_fmsub_ps(xr, sv[v], mv[v]);
        acc[r][v] = _mm512_fmadd_ps(z, z, acc[r][v]);
      }
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) _mm512_store_ps(out + r * kp + 16 * v, acc[r][v]);
}

/* `mr` rows, all kp components. */
GMM_KINLINE void wdist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                              float const *s, float const *m, float *out)
{
  size_t k = 0;
  for (; k + 32 <= kp; k += 32) wdist_tile_f(mr, 2, D, kp, x, ldx, s + k, m + k, out + k);
  if (k < kp) wdist_tile_f(mr, 1, D, kp, x, ldx, s + k, m + k, out + k);
}

static void wdist_f(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                    float const *s, float const *m, float *out)
{
  size_t i = 0;
  for (; i + MR <= n; i += MR) wdist_rows_f(MR, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
  if (i + 8 <= n) {
    wdist_rows_f(8, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
    i += 8;
  }
  if (i + 4 <= n) {
    wdist_rows_f(4, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
    i += 4;
  }
  if (i + 2 <= n) {
    wdist_rows_f(2, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
    i += 2;
  }
  if (i < n) wdist_rows_f(1, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
}

static float hsum512_f(__m512 v)
{
  /* 512 -> 256 -> 128 bits with AVX-512F/AVX extracts, then within the xmm. */
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
  return _mm_cvtss_f32(a);
}

static float dist_l2_f(size_t D, float const *x, float const *y)
{
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  size_t d = 0;
  for (; d + 32 <= D; d += 32) {
    __m512 z0 = _mm512_sub_ps(_mm512_loadu_ps(x + d), _mm512_loadu_ps(y + d));
    __m512 z1 = _mm512_sub_ps(_mm512_loadu_ps(x + d + 16), _mm512_loadu_ps(y + d + 16));
    a0 = _mm512_fmadd_ps(z0, z0, a0);
    a1 = _mm512_fmadd_ps(z1, z1, a1);
  }
  if (d + 16 <= D) {
    __m512 z0 = _mm512_sub_ps(_mm512_loadu_ps(x + d), _mm512_loadu_ps(y + d));
    a0 = _mm512_fmadd_ps(z0, z0, a0);
    d += 16;
  }
  float acc = hsum512_f(_mm512_add_ps(a0, a1));
  for (; d < D; ++d) {
    float z = x[d] - y[d];
    acc += z * z;
  }
  return acc;
}

static void accum_f(size_t D, float q, float const *x, float const *mu, float *s1, double *s2)
{
  __m512 qv = _mm512_set1_ps(q);
  size_t d = 0;
  for (; d + 16 <= D; d += 16) {
    __m512 z = _mm512_sub_ps(_mm512_loadu_ps(x + d), _mm512_loadu_ps(mu + d));
    __m512 t = _mm512_mul_ps(qv, z);
    __m512d zl = _mm512_cvtps_pd(_mm512_castps512_ps256(z));
    __m512d zh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1)));
    __m512d tl = _mm512_cvtps_pd(_mm512_castps512_ps256(t));
    __m512d th = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
    _mm512_storeu_ps(s1 + d, _mm512_add_ps(_mm512_loadu_ps(s1 + d), t));
    _mm512_storeu_pd(s2 + d, _mm512_fmadd_pd(tl, zl, _mm512_loadu_pd(s2 + d)));
    _mm512_storeu_pd(s2 + d + 8, _mm512_fmadd_pd(th, zh, _mm512_loadu_pd(s2 + d + 8)));
  }
  for (; d < D; ++d) {
    float z = x[d] - mu[d];
    float t = q * z;
    s1[d] += t;
    s2[d] += (double)t * (double)z;
  }
}

/* moments (see kernels.h): `nv` (1..4, a constant after inlining) vectors
 * of 16 dimensions from d, the sums in registers over the rows; the terms
 * are accum_f's. */
GMM_KINLINE void moments_chunk_f(size_t nv, size_t nr, unsigned char const *rows,
                                 float const *q, size_t ldq, float const *x, size_t ldx,
                                 float const *mu, double *s1, double *s2)
{
  __m512 a1[4], m[4];
  __m512d a2[4][2];
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    a1[v] = _mm512_setzero_ps();
    a2[v][0] = a2[v][1] = _mm512_setzero_pd();
    m[v] = _mm512_loadu_ps(mu + 16 * v);
  }
  for (size_t r = 0; r < nr; ++r) {
    size_t const i = rows[r];
    __m512 const qv = _mm512_set1_ps(q ? q[i * ldq] : 1.0f);
    float const *xi = x + i * ldx;
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) {
      __m512 z = _mm512_sub_ps(_mm512_loadu_ps(xi + 16 * v), m[v]);
      __m512 t = _mm512_mul_ps(qv, z);
      __m512d zl = _mm512_cvtps_pd(_mm512_castps512_ps256(z));
      __m512d zh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1)));
      __m512d tl = _mm512_cvtps_pd(_mm512_castps512_ps256(t));
      __m512d th = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
      a1[v] = _mm512_add_ps(a1[v], t);
      a2[v][0] = _mm512_fmadd_pd(tl, zl, a2[v][0]);
      a2[v][1] = _mm512_fmadd_pd(th, zh, a2[v][1]);
    }
  }
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    __m512d a1l = _mm512_cvtps_pd(_mm512_castps512_ps256(a1[v]));
    __m512d a1h = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a1[v]), 1)));
    double *o1 = s1 + 16 * v, *o2 = s2 + 16 * v;
    _mm512_storeu_pd(o1, _mm512_add_pd(_mm512_loadu_pd(o1), a1l));
    _mm512_storeu_pd(o1 + 8, _mm512_add_pd(_mm512_loadu_pd(o1 + 8), a1h));
    _mm512_storeu_pd(o2, _mm512_add_pd(_mm512_loadu_pd(o2), a2[v][0]));
    _mm512_storeu_pd(o2 + 8, _mm512_add_pd(_mm512_loadu_pd(o2 + 8), a2[v][1]));
  }
}

static void moments_f(size_t D, size_t nr, unsigned char const *rows, float const *q, size_t ldq,
                      float const *x, size_t ldx, float const *mu, double *s0, double *s1,
                      double *s2)
{
  size_t d = 0;
  float a = 0;
  for (size_t r = 0; r < nr; ++r) a += q ? q[rows[r] * ldq] : 1.0f;
  *s0 += (double)a;
  for (; d + 64 <= D; d += 64)
    moments_chunk_f(4, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
  switch ((D - d) / 16) {
    case 3: moments_chunk_f(3, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d); d += 48; break;
    case 2: moments_chunk_f(2, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d); d += 32; break;
    case 1: moments_chunk_f(1, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d); d += 16; break;
    default: break;
  }
  for (; d < D; ++d) { /* accum_f's scalar tail */
    float a1 = 0;
    double a2 = 0;
    for (size_t r = 0; r < nr; ++r) {
      size_t const i = rows[r];
      float const z = x[i * ldx + d] - mu[d];
      float const t = (q ? q[i * ldq] : 1.0f) * z;
      a1 += t;
      a2 += (double)t * (double)z;
    }
    s1[d] += (double)a1;
    s2[d] += a2;
  }
}

/* ---- double ------------------------------------------------------------- */

/* One tile: `mr` points x 2 vectors of 8 components (16 divides kp). */
GMM_KINLINE void wdist_tile_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                              double const *s, double const *m, double *out)
{
  __m512d acc[MR][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm512_setzero_pd();
    acc[r][1] = _mm512_setzero_pd();
  }
  for (size_t d = 0; d < D; ++d) {
    __m512d s0 = _mm512_load_pd(s + d * kp);
    __m512d s1 = _mm512_load_pd(s + d * kp + 8);
    __m512d m0 = _mm512_load_pd(m + d * kp);
    __m512d m1 = _mm512_load_pd(m + d * kp + 8);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m512d xr = _mm512_set1_pd(x[r * ldx + d]);
      __m512d z0 = _mm512_fmsub_pd(xr, s0, m0);
      __m512d z1 = _mm512_fmsub_pd(xr, s1, m1);
      acc[r][0] = _mm512_fmadd_pd(z0, z0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_pd(z1, z1, acc[r][1]);
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm512_store_pd(out + r * kp, acc[r][0]);
    _mm512_store_pd(out + r * kp + 8, acc[r][1]);
  }
}

GMM_KINLINE void wdist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                              double const *s, double const *m, double *out)
{
  for (size_t k = 0; k < kp; k += 16) wdist_tile_d(mr, D, kp, x, ldx, s + k, m + k, out + k);
}

static void wdist_d(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                    double const *s, double const *m, double *out)
{
  size_t i = 0;
  for (; i + MR <= n; i += MR) wdist_rows_d(MR, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
  if (i + 8 <= n) {
    wdist_rows_d(8, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
    i += 8;
  }
  if (i + 4 <= n) {
    wdist_rows_d(4, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
    i += 4;
  }
  if (i + 2 <= n) {
    wdist_rows_d(2, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
    i += 2;
  }
  if (i < n) wdist_rows_d(1, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
}

static double hsum512_d(__m512d v)
{
  __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d a = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  a = _mm_add_sd(a, _mm_unpackhi_pd(a, a));
  return _mm_cvtsd_f64(a);
}

static double dist_l2_d(size_t D, double const *x, double const *y)
{
  __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
  size_t d = 0;
  for (; d + 16 <= D; d += 16) {
    __m512d z0 = _mm512_sub_pd(_mm512_loadu_pd(x + d), _mm512_loadu_pd(y + d));
    __m512d z1 = _mm512_sub_pd(_mm512_loadu_pd(x + d + 8), _mm512_loadu_pd(y + d + 8));
    a0 = _mm512_fmadd_pd(z0, z0, a0);
    a1 = _mm512_fmadd_pd(z1, z1, a1);
  }
  if (d + 8 <= D) {
    __m512d z0 = _mm512_sub_pd(_mm512_loadu_pd(x + d), _mm512_loadu_pd(y + d));
    a0 = _mm512_fmadd_pd(z0, z0, a0);
    d += 8;
  }
  double acc = hsum512_d(_mm512_add_pd(a0, a1));
  for (; d < D; ++d) {
    double z = x[d] - y[d];
    acc += z * z;
  }
  return acc;
}

static void accum_d(size_t D, double q, double const *x, double const *mu, double *s1,
                    double *s2)
{
  __m512d qv = _mm512_set1_pd(q);
  size_t d = 0;
  for (; d + 8 <= D; d += 8) {
    __m512d z = _mm512_sub_pd(_mm512_loadu_pd(x + d), _mm512_loadu_pd(mu + d));
    __m512d t = _mm512_mul_pd(qv, z);
    _mm512_storeu_pd(s1 + d, _mm512_add_pd(_mm512_loadu_pd(s1 + d), t));
    _mm512_storeu_pd(s2 + d, _mm512_fmadd_pd(t, z, _mm512_loadu_pd(s2 + d)));
  }
  for (; d < D; ++d) {
    double z = x[d] - mu[d];
    double t = q * z;
    s1[d] += t;
    s2[d] += t * z;
  }
}

/* moments, double: `nv` (1..4) vectors of 8 dimensions; accum_d's terms. */
GMM_KINLINE void moments_chunk_d(size_t nv, size_t nr, unsigned char const *rows,
                                 double const *q, size_t ldq, double const *x, size_t ldx,
                                 double const *mu, double *s1, double *s2)
{
  __m512d a1[4], a2[4], m[4];
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    a1[v] = a2[v] = _mm512_setzero_pd();
    m[v] = _mm512_loadu_pd(mu + 8 * v);
  }
  for (size_t r = 0; r < nr; ++r) {
    size_t const i = rows[r];
    __m512d const qv = _mm512_set1_pd(q ? q[i * ldq] : 1.0);
    double const *xi = x + i * ldx;
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) {
      __m512d z = _mm512_sub_pd(_mm512_loadu_pd(xi + 8 * v), m[v]);
      __m512d t = _mm512_mul_pd(qv, z);
      a1[v] = _mm512_add_pd(a1[v], t);
      a2[v] = _mm512_fmadd_pd(t, z, a2[v]);
    }
  }
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    _mm512_storeu_pd(s1 + 8 * v, _mm512_add_pd(_mm512_loadu_pd(s1 + 8 * v), a1[v]));
    _mm512_storeu_pd(s2 + 8 * v, _mm512_add_pd(_mm512_loadu_pd(s2 + 8 * v), a2[v]));
  }
}

static void moments_d(size_t D, size_t nr, unsigned char const *rows, double const *q,
                      size_t ldq, double const *x, size_t ldx, double const *mu, double *s0,
                      double *s1, double *s2)
{
  size_t d = 0;
  double a = 0;
  for (size_t r = 0; r < nr; ++r) a += q ? q[rows[r] * ldq] : 1.0;
  *s0 += a;
  for (; d + 32 <= D; d += 32)
    moments_chunk_d(4, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
  switch ((D - d) / 8) {
    case 3: moments_chunk_d(3, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d); d += 24; break;
    case 2: moments_chunk_d(2, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d); d += 16; break;
    case 1: moments_chunk_d(1, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d); d += 8; break;
    default: break;
  }
  for (; d < D; ++d) { /* accum_d's scalar tail */
    double a1 = 0, a2 = 0;
    for (size_t r = 0; r < nr; ++r) {
      size_t const i = rows[r];
      double const z = x[i * ldx + d] - mu[d];
      double const t = (q ? q[i * ldq] : 1.0) * z;
      a1 += t;
      a2 += t * z;
    }
    s1[d] += a1;
    s2[d] += a2;
  }
}

/* ---- log-sum-exp (E-step posteriors) -------------------------------------
 *
 * Per row, three passes over the kp columns of the tile; the rows go in
 * groups of LSE_GROUP, each pass over the whole group before the next (see
 * LSE_GROUP):
 *  1. l = c - d/2 (one FMA; d/2 is exact, so l is the scalar value), stored
 *     in place, running max in 2 vectors;
 *  2. e = exp(l - m) with the vector exp of vexp.h, stored in place, summed
 *     in the element type in 2 vectors, then reduced;
 *  3. q = e * (1/S) for k < K: whole vectors, then one masked store for the
 *     K tail (q rows may be unaligned, ldq arbitrary).
 * Padding columns have c = -inf, hence l = -inf and e = exp(-inf) = 0, so
 * whole vectors up to kp are processed and the padding adds nothing. A row
 * whose l are all -inf has m = -inf and l - m = NaN: its q and ll are NaN,
 * as in the scalar reference. max(l, mx) keeps mx where l is NaN, like the
 * scalar `l > lmax`. Differences from scalar: exp (vexp.h, < 1 ulp), the
 * summation order of S, and q = e * (1/S) instead of e / S.
 * For float, kp is a multiple of 16 but not always of 32: passes 1-2 take
 * two vectors at a time and finish with one. */

static float hmax512_f(__m512 v)
{
  __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 a = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  a = _mm_max_ps(a, _mm_movehl_ps(a, a));
  a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
  return _mm_cvtss_f32(a);
}

static double hmax512_d(__m512d v)
{
  __m256d h = _mm256_max_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d a = _mm_max_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  a = _mm_max_sd(a, _mm_unpackhi_pd(a, a));
  return _mm_cvtsd_f64(a);
}

/* Rows per group: each pass runs over the group's rows before the next
 * pass starts, so the rows' serial steps (horizontal max and sum, 1/S, log)
 * overlap with the other rows' vector work (a group's 8 rows of 256 floats
 * stay in L1). Unlike the SSE2 and AVX2 kernels, pass 2 evaluates the exp of
 * every vector: skipping the vectors below the exp's zero bound (a branch
 * per vector) measured no faster at this width in the E-step pass. */
#define LSE_GROUP 8

GMM_KINLINE float lse_pass1_f(size_t kp, float const *c, float *row)
{
  __m512 const half = _mm512_set1_ps(0.5f);
  __m512 mx0 = _mm512_set1_ps(-INFINITY), mx1 = mx0;
  size_t k = 0;
  for (; k + 32 <= kp; k += 32) {
    __m512 l0 = _mm512_fnmadd_ps(half, _mm512_load_ps(row + k), _mm512_load_ps(c + k));
    __m512 l1 = _mm512_fnmadd_ps(half, _mm512_load_ps(row + k + 16), _mm512_load_ps(c + k + 16));
    _mm512_store_ps(row + k, l0);
    _mm512_store_ps(row + k + 16, l1);
    mx0 = _mm512_max_ps(l0, mx0);
    mx1 = _mm512_max_ps(l1, mx1);
  }
  if (k < kp) {
    __m512 l0 = _mm512_fnmadd_ps(half, _mm512_load_ps(row + k), _mm512_load_ps(c + k));
    _mm512_store_ps(row + k, l0);
    mx0 = _mm512_max_ps(l0, mx0);
  }
  return hmax512_f(_mm512_max_ps(mx0, mx1));
}

GMM_KINLINE float lse_pass2_f(size_t kp, float *row, float m)
{
  __m512 const mv = _mm512_set1_ps(m);
  __m512 sm0 = _mm512_setzero_ps(), sm1 = sm0;
  size_t k = 0;
  for (; k + 32 <= kp; k += 32) {
    __m512 e0 = gmm_vexpf_avx512(_mm512_sub_ps(_mm512_load_ps(row + k), mv));
    __m512 e1 = gmm_vexpf_avx512(_mm512_sub_ps(_mm512_load_ps(row + k + 16), mv));
    _mm512_store_ps(row + k, e0);
    _mm512_store_ps(row + k + 16, e1);
    sm0 = _mm512_add_ps(sm0, e0);
    sm1 = _mm512_add_ps(sm1, e1);
  }
  if (k < kp) {
    __m512 e0 = gmm_vexpf_avx512(_mm512_sub_ps(_mm512_load_ps(row + k), mv));
    _mm512_store_ps(row + k, e0);
    sm0 = _mm512_add_ps(sm0, e0);
  }
  return hsum512_f(_mm512_add_ps(sm0, sm1));
}

static void lse_f(size_t n, size_t K, size_t kp, float const *c, float *tile, float *q,
                  size_t ldq, double *ll)
{
  for (size_t i0 = 0; i0 < n; i0 += LSE_GROUP) {
    size_t const g = n - i0 < LSE_GROUP ? n - i0 : LSE_GROUP;
    float m[LSE_GROUP], S[LSE_GROUP];
    for (size_t r = 0; r < g; ++r) m[r] = lse_pass1_f(kp, c, tile + (i0 + r) * kp);
    for (size_t r = 0; r < g; ++r) S[r] = lse_pass2_f(kp, tile + (i0 + r) * kp, m[r]);
    for (size_t r = 0; r < g; ++r) {
      float const *row = tile + (i0 + r) * kp;
      float *qi = q + (i0 + r) * ldq;
      __m512 const iv = _mm512_set1_ps(1.0f / S[r]);
      size_t k = 0;
      for (; k + 16 <= K; k += 16)
        _mm512_storeu_ps(qi + k, _mm512_mul_ps(_mm512_load_ps(row + k), iv));
      if (k < K)
        _mm512_mask_storeu_ps(qi + k, (__mmask16)((1u << (K - k)) - 1u),
                              _mm512_mul_ps(_mm512_load_ps(row + k), iv));
    }
    for (size_t r = 0; r < g; ++r) ll[i0 + r] = log((double)S[r]) + (double)m[r];
  }
}

static void lse_d(size_t n, size_t K, size_t kp, double const *c, double *tile, double *q,
                  size_t ldq, double *ll)
{
  __m512d const half = _mm512_set1_pd(0.5);
  for (size_t i0 = 0; i0 < n; i0 += LSE_GROUP) {
    size_t const g = n - i0 < LSE_GROUP ? n - i0 : LSE_GROUP;
    double m[LSE_GROUP], S[LSE_GROUP];
    for (size_t r = 0; r < g; ++r) {
      double *row = tile + (i0 + r) * kp;
      __m512d mx0 = _mm512_set1_pd(-INFINITY), mx1 = mx0;
      for (size_t k = 0; k < kp; k += 16) {
        __m512d l0 = _mm512_fnmadd_pd(half, _mm512_load_pd(row + k), _mm512_load_pd(c + k));
        __m512d l1 = _mm512_fnmadd_pd(half, _mm512_load_pd(row + k + 8), _mm512_load_pd(c + k + 8));
        _mm512_store_pd(row + k, l0);
        _mm512_store_pd(row + k + 8, l1);
        mx0 = _mm512_max_pd(l0, mx0);
        mx1 = _mm512_max_pd(l1, mx1);
      }
      m[r] = hmax512_d(_mm512_max_pd(mx0, mx1));
    }
    for (size_t r = 0; r < g; ++r) {
      double *row = tile + (i0 + r) * kp;
      __m512d const mv = _mm512_set1_pd(m[r]);
      __m512d sm0 = _mm512_setzero_pd(), sm1 = sm0;
      for (size_t k = 0; k < kp; k += 16) {
        __m512d e0 = gmm_vexp_avx512(_mm512_sub_pd(_mm512_load_pd(row + k), mv));
        __m512d e1 = gmm_vexp_avx512(_mm512_sub_pd(_mm512_load_pd(row + k + 8), mv));
        _mm512_store_pd(row + k, e0);
        _mm512_store_pd(row + k + 8, e1);
        sm0 = _mm512_add_pd(sm0, e0);
        sm1 = _mm512_add_pd(sm1, e1);
      }
      S[r] = hsum512_d(_mm512_add_pd(sm0, sm1));
    }
    for (size_t r = 0; r < g; ++r) {
      double const *row = tile + (i0 + r) * kp;
      double *qi = q + (i0 + r) * ldq;
      __m512d const iv = _mm512_set1_pd(1.0 / S[r]);
      size_t k = 0;
      for (; k + 8 <= K; k += 8)
        _mm512_storeu_pd(qi + k, _mm512_mul_pd(_mm512_load_pd(row + k), iv));
      if (k < K)
        _mm512_mask_storeu_pd(qi + k, (__mmask8)((1u << (K - k)) - 1u),
                              _mm512_mul_pd(_mm512_load_pd(row + k), iv));
    }
    for (size_t r = 0; r < g; ++r) ll[i0 + r] = log(S[r]) + m[r];
  }
}

/* ---- squared Euclidean distances (l2dist) and the nearest center (l2argmin)
 *
 * Tiles of L2_MR = 6 points x up to 4 vectors of components (64 floats, 32
 * doubles): 24 accumulators and 4 vectors of centers per d. Each term is
 * z = c - x (x broadcast from memory as the subtraction's operand: AVX-512's
 * embedded broadcast, where a separate broadcast per point and d made the
 * loop issue-bound on Zen 4) and acc += z z with one FMA; c - x = -(x - c)
 * exactly, so the distances are those of x - c. Column tails (kp not a
 * multiple of the tile) take tiles of fewer vectors, row tails of fewer
 * rows.
 *
 * l2argmin uses the same tiles, but instead of writing them each row keeps
 * its running minimum per lane: a value and a column, in arrays that stay in
 * L1 across the row's column tiles. A lane takes a new column only if its
 * distance is strictly smaller, so it holds its first minimum (a tile's
 * vectors are merged in column order first, by the same rule); the row's
 * first minimum is then the smallest column among the lanes that hold the
 * smallest value. Padding columns (k >= K) count as +inf; NaN never
 * compares smaller; a row with nothing below +inf keeps column 0. */
#define L2_MR 6
#define L2_NV 4

#if defined(__GNUC__) || defined(__clang__)
#define SUB_BCAST_PS(z, cv, p) __asm__("vsubps %1%{1to16%}, %2, %0" : "=v"(z) : "m"(*(p)), "v"(cv))
#define SUB_BCAST_PD(z, cv, p) __asm__("vsubpd %1%{1to8%}, %2, %0" : "=v"(z) : "m"(*(p)), "v"(cv))
#else
#define SUB_BCAST_PS(z, cv, p) ((z) = _mm512_sub_ps((cv), _mm512_set1_ps(*(p))))
#define SUB_BCAST_PD(z, cv, p) ((z) = _mm512_sub_pd((cv), _mm512_set1_pd(*(p))))
#endif

GMM_KINLINE void l2_acc_f(size_t mr, size_t nv, size_t D, size_t kp, float const *x, size_t ldx,
                          float const *c, __m512 acc[L2_MR][L2_NV])
{
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) acc[r][v] = _mm512_setzero_ps();
  for (size_t d = 0; d < D; ++d) {
    __m512 cv[L2_NV];
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) cv[v] = _mm512_load_ps(c + d * kp + 16 * v);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r)
      GMM_UNROLL
      for (size_t v = 0; v < nv; ++v) {
        __m512 z;
        SUB_BCAST_PS(z, cv[v], x + r * ldx + d);
        acc[r][v] = _mm512_fmadd_ps(z, z, acc[r][v]);
      }
  }
}

GMM_KINLINE void l2dist_tile_f(size_t mr, size_t nv, size_t D, size_t kp, float const *x,
                               size_t ldx, float const *c, float *out)
{
  __m512 acc[L2_MR][L2_NV];
  l2_acc_f(mr, nv, D, kp, x, ldx, c, acc);
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) _mm512_store_ps(out + r * kp + 16 * v, acc[r][v]);
}

GMM_KINLINE void l2dist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                               float const *c, float *out)
{
  size_t k = 0;
  for (; k + 64 <= kp; k += 64) l2dist_tile_f(mr, 4, D, kp, x, ldx, c + k, out + k);
  switch ((kp - k) / 16) {
    case 3: l2dist_tile_f(mr, 3, D, kp, x, ldx, c + k, out + k); break;
    case 2: l2dist_tile_f(mr, 2, D, kp, x, ldx, c + k, out + k); break;
    case 1: l2dist_tile_f(mr, 1, D, kp, x, ldx, c + k, out + k); break;
    default: break;
  }
}

static void l2dist_f(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                     float const *c, float *out)
{
  size_t i = 0;
  for (; i + L2_MR <= n; i += L2_MR) l2dist_rows_f(L2_MR, D, kp, x + i * ldx, ldx, c, out + i * kp);
  switch (n - i) {
    case 5: l2dist_rows_f(5, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 4: l2dist_rows_f(4, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 3: l2dist_rows_f(3, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 2: l2dist_rows_f(2, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 1: l2dist_rows_f(1, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    default: break;
  }
}

static __mmask16 cols_mask16(size_t K, size_t k0)
{
  return K >= k0 + 16 ? (__mmask16)0xFFFFu : K > k0 ? (__mmask16)((1u << (K - k0)) - 1u) : 0;
}

GMM_KINLINE void l2am_tile_f(size_t mr, size_t nv, size_t D, size_t kp, float const *x,
                             size_t ldx, float const *c, size_t k0, size_t K, __m512 *bv,
                             __m512i *bi)
{
  __m512 acc[L2_MR][L2_NV];
  __m512 const inf = _mm512_set1_ps(INFINITY);
  __m512i const lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  __m512i col[L2_NV];
  __mmask16 ok[L2_NV];
  l2_acc_f(mr, nv, D, kp, x, ldx, c, acc);
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    col[v] = _mm512_add_epi32(lane, _mm512_set1_epi32((int)(k0 + 16 * v)));
    ok[v] = cols_mask16(K, k0 + 16 * v);
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    __m512 dv = _mm512_mask_mov_ps(inf, ok[0], acc[r][0]);
    __m512i iv = col[0];
    __mmask16 m;
    GMM_UNROLL
    for (size_t v = 1; v < nv; ++v) {
      __m512 const dn = _mm512_mask_mov_ps(inf, ok[v], acc[r][v]);
      m = _mm512_cmp_ps_mask(dn, dv, _CMP_LT_OQ);
      dv = _mm512_mask_mov_ps(dv, m, dn);
      iv = _mm512_mask_mov_epi32(iv, m, col[v]);
    }
    m = _mm512_cmp_ps_mask(dv, bv[r], _CMP_LT_OQ);
    bv[r] = _mm512_mask_mov_ps(bv[r], m, dv);
    bi[r] = _mm512_mask_mov_epi32(bi[r], m, iv);
  }
}

GMM_KINLINE void l2am_rows_f(size_t mr, size_t D, size_t kp, size_t K, float const *x,
                             size_t ldx, float const *c, vl_uint32 *assign, float *dist)
{
  __m512 bv[L2_MR];
  __m512i bi[L2_MR];
  size_t k = 0;
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    bv[r] = _mm512_set1_ps(INFINITY);
    bi[r] = _mm512_setzero_si512();
  }
  for (; k + 64 <= kp; k += 64) l2am_tile_f(mr, 4, D, kp, x, ldx, c + k, k, K, bv, bi);
  switch ((kp - k) / 16) {
    case 3: l2am_tile_f(mr, 3, D, kp, x, ldx, c + k, k, K, bv, bi); break;
    case 2: l2am_tile_f(mr, 2, D, kp, x, ldx, c + k, k, K, bv, bi); break;
    case 1: l2am_tile_f(mr, 1, D, kp, x, ldx, c + k, k, K, bv, bi); break;
    default: break;
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    float const v = _mm512_reduce_min_ps(bv[r]);
    __mmask16 const m = _mm512_cmp_ps_mask(bv[r], _mm512_set1_ps(v), _CMP_EQ_OQ);
    assign[r] = (vl_uint32)_mm512_mask_reduce_min_epu32(m, bi[r]);
    if (dist) dist[r] = v;
  }
}

static void l2argmin_f(size_t n, size_t D, size_t kp, size_t K, float const *x, size_t ldx,
                       float const *c, float *tile, vl_uint32 *assign, float *dist)
{
  size_t i = 0;
  (void)tile;
  for (; i + L2_MR <= n; i += L2_MR)
    l2am_rows_f(L2_MR, D, kp, K, x + i * ldx, ldx, c, assign + i, dist ? dist + i : NULL);
  x += i * ldx;
  assign += i;
  if (dist) dist += i;
  switch (n - i) {
    case 5: l2am_rows_f(5, D, kp, K, x, ldx, c, assign, dist); break;
    case 4: l2am_rows_f(4, D, kp, K, x, ldx, c, assign, dist); break;
    case 3: l2am_rows_f(3, D, kp, K, x, ldx, c, assign, dist); break;
    case 2: l2am_rows_f(2, D, kp, K, x, ldx, c, assign, dist); break;
    case 1: l2am_rows_f(1, D, kp, K, x, ldx, c, assign, dist); break;
    default: break;
  }
}

/* double: vectors of 8 components; kp is a multiple of 16, so tails are 2
 * vectors. */
GMM_KINLINE void l2_acc_d(size_t mr, size_t nv, size_t D, size_t kp, double const *x,
                          size_t ldx, double const *c, __m512d acc[L2_MR][L2_NV])
{
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) acc[r][v] = _mm512_setzero_pd();
  for (size_t d = 0; d < D; ++d) {
    __m512d cv[L2_NV];
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) cv[v] = _mm512_load_pd(c + d * kp + 8 * v);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r)
      GMM_UNROLL
      for (size_t v = 0; v < nv; ++v) {
        __m512d z;
        SUB_BCAST_PD(z, cv[v], x + r * ldx + d);
        acc[r][v] = _mm512_fmadd_pd(z, z, acc[r][v]);
      }
  }
}

GMM_KINLINE void l2dist_tile_d(size_t mr, size_t nv, size_t D, size_t kp, double const *x,
                               size_t ldx, double const *c, double *out)
{
  __m512d acc[L2_MR][L2_NV];
  l2_acc_d(mr, nv, D, kp, x, ldx, c, acc);
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) _mm512_store_pd(out + r * kp + 8 * v, acc[r][v]);
}

GMM_KINLINE void l2dist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                               double const *c, double *out)
{
  size_t k = 0;
  for (; k + 32 <= kp; k += 32) l2dist_tile_d(mr, 4, D, kp, x, ldx, c + k, out + k);
  if (k < kp) l2dist_tile_d(mr, 2, D, kp, x, ldx, c + k, out + k);
}

static void l2dist_d(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                     double const *c, double *out)
{
  size_t i = 0;
  for (; i + L2_MR <= n; i += L2_MR) l2dist_rows_d(L2_MR, D, kp, x + i * ldx, ldx, c, out + i * kp);
  switch (n - i) {
    case 5: l2dist_rows_d(5, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 4: l2dist_rows_d(4, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 3: l2dist_rows_d(3, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 2: l2dist_rows_d(2, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 1: l2dist_rows_d(1, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    default: break;
  }
}

static __mmask8 cols_mask8(size_t K, size_t k0)
{
  return K >= k0 + 8 ? (__mmask8)0xFFu : K > k0 ? (__mmask8)((1u << (K - k0)) - 1u) : 0;
}

GMM_KINLINE void l2am_tile_d(size_t mr, size_t nv, size_t D, size_t kp, double const *x,
                             size_t ldx, double const *c, size_t k0, size_t K, __m512d *bv,
                             __m512i *bi)
{
  __m512d acc[L2_MR][L2_NV];
  __m512d const inf = _mm512_set1_pd(INFINITY);
  __m512i const lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  __m512i col[L2_NV];
  __mmask8 ok[L2_NV];
  l2_acc_d(mr, nv, D, kp, x, ldx, c, acc);
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    col[v] = _mm512_add_epi64(lane, _mm512_set1_epi64((long long)(k0 + 8 * v)));
    ok[v] = cols_mask8(K, k0 + 8 * v);
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    __m512d dv = _mm512_mask_mov_pd(inf, ok[0], acc[r][0]);
    __m512i iv = col[0];
    __mmask8 m;
    GMM_UNROLL
    for (size_t v = 1; v < nv; ++v) {
      __m512d const dn = _mm512_mask_mov_pd(inf, ok[v], acc[r][v]);
      m = _mm512_cmp_pd_mask(dn, dv, _CMP_LT_OQ);
      dv = _mm512_mask_mov_pd(dv, m, dn);
      iv = _mm512_mask_mov_epi64(iv, m, col[v]);
    }
    m = _mm512_cmp_pd_mask(dv, bv[r], _CMP_LT_OQ);
    bv[r] = _mm512_mask_mov_pd(bv[r], m, dv);
    bi[r] = _mm512_mask_mov_epi64(bi[r], m, iv);
  }
}

GMM_KINLINE void l2am_rows_d(size_t mr, size_t D, size_t kp, size_t K, double const *x,
                             size_t ldx, double const *c, vl_uint32 *assign, double *dist)
{
  __m512d bv[L2_MR];
  __m512i bi[L2_MR];
  size_t k = 0;
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    bv[r] = _mm512_set1_pd(INFINITY);
    bi[r] = _mm512_setzero_si512();
  }
  for (; k + 32 <= kp; k += 32) l2am_tile_d(mr, 4, D, kp, x, ldx, c + k, k, K, bv, bi);
  if (k < kp) l2am_tile_d(mr, 2, D, kp, x, ldx, c + k, k, K, bv, bi);
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    double const v = _mm512_reduce_min_pd(bv[r]);
    __mmask8 const m = _mm512_cmp_pd_mask(bv[r], _mm512_set1_pd(v), _CMP_EQ_OQ);
    assign[r] = (vl_uint32)_mm512_mask_reduce_min_epu64(m, bi[r]);
    if (dist) dist[r] = v;
  }
}

static void l2argmin_d(size_t n, size_t D, size_t kp, size_t K, double const *x, size_t ldx,
                       double const *c, double *tile, vl_uint32 *assign, double *dist)
{
  size_t i = 0;
  (void)tile;
  for (; i + L2_MR <= n; i += L2_MR)
    l2am_rows_d(L2_MR, D, kp, K, x + i * ldx, ldx, c, assign + i, dist ? dist + i : NULL);
  x += i * ldx;
  assign += i;
  if (dist) dist += i;
  switch (n - i) {
    case 5: l2am_rows_d(5, D, kp, K, x, ldx, c, assign, dist); break;
    case 4: l2am_rows_d(4, D, kp, K, x, ldx, c, assign, dist); break;
    case 3: l2am_rows_d(3, D, kp, K, x, ldx, c, assign, dist); break;
    case 2: l2am_rows_d(2, D, kp, K, x, ldx, c, assign, dist); break;
    case 1: l2am_rows_d(1, D, kp, K, x, ldx, c, assign, dist); break;
    default: break;
  }
}

/* The double-precision kernels over arrays of either type (Fisher terms,
 * E-step set-up row): 8 lanes at a time, the elements read as doubles
 * (as_pd_f converts floats) and written back rounded to the array's type
 * (store_pd_f); the tail under a mask (masked-off lanes compute on zeros
 * and are never stored). Division and square roots are correctly rounded,
 * as in the scalar kernels, and no operation is fused: the same bits. */
GMM_KINLINE __m512d as_pd_f(__mmask8 mk, float const *p)
{
  return _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)mk, p)));
}
GMM_KINLINE __m512d as_pd_d(__mmask8 mk, double const *p) { return _mm512_maskz_loadu_pd(mk, p); }
GMM_KINLINE void store_pd_f(float *p, __mmask8 mk, __m512d v)
{
  _mm512_mask_storeu_ps(p, (__mmask16)mk, _mm512_castps256_ps512(_mm512_cvtpd_ps(v)));
}
GMM_KINLINE void store_pd_d(double *p, __mmask8 mk, __m512d v) { _mm512_mask_storeu_pd(p, mk, v); }
GMM_KINLINE __mmask8 lanes8(size_t left)
{
  return left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1u);
}

/* sign(x) sqrt(|x|), -0 kept */
GMM_KINLINE __m512d signed_sqrt_pd(__m512d x)
{
  __m512i const sign = _mm512_set1_epi64((long long)0x8000000000000000ULL);
  __m512i const xi = _mm512_castpd_si512(x);
  __m512d const r = _mm512_sqrt_pd(_mm512_castsi512_pd(_mm512_andnot_si512(sign, xi)));
  return _mm512_castsi512_pd(_mm512_or_si512(_mm512_castpd_si512(r), _mm512_and_si512(sign, xi)));
}

#define DEFINE_PD_KERNELS(T, SFX)                                                               \
  static void fisher_terms_##SFX(size_t D, T const *cov, double a, double b, double s0,         \
                                 int sqroot, double *u, double *v)                              \
  {                                                                                             \
    __m512d const av = _mm512_set1_pd(a), bv = _mm512_set1_pd(b), sv = _mm512_set1_pd(s0);     \
    for (size_t d = 0; d < D; d += 8) {                                                         \
      __mmask8 const mk = lanes8(D - d);                                                        \
      __m512d const w = _mm512_div_pd(_mm512_set1_pd(1.0), as_pd_##SFX(mk, cov + d));          \
      __m512d uu = _mm512_mul_pd(_mm512_mul_pd(as_pd_d(mk, u + d), _mm512_sqrt_pd(w)), av);     \
      __m512d vv = _mm512_mul_pd(_mm512_sub_pd(_mm512_mul_pd(as_pd_d(mk, v + d), w), sv), bv);  \
      if (sqroot) {                                                                             \
        uu = signed_sqrt_pd(uu);                                                                \
        vv = signed_sqrt_pd(vv);                                                                \
      }                                                                                         \
      store_pd_d(u + d, mk, uu);                                                                \
      store_pd_d(v + d, mk, vv);                                                                \
    }                                                                                           \
  }                                                                                             \
  static void eparams_row_##SFX(size_t D, T const *cov, T const *mean, T const *shift, T *s,    \
                                T *m)                                                           \
  {                                                                                             \
    for (size_t d = 0; d < D; d += 8) {                                                         \
      __mmask8 const mk = lanes8(D - d);                                                        \
      __m512d const sd = _mm512_sqrt_pd(as_pd_##SFX(mk, cov + d));                             \
      __m512d const inv = _mm512_div_pd(_mm512_set1_pd(1.0), sd);                               \
      __m512d const z = _mm512_sub_pd(as_pd_##SFX(mk, mean + d), as_pd_##SFX(mk, shift + d));  \
      store_pd_##SFX(s + d, mk, inv);                                                           \
      store_pd_##SFX(m + d, mk, _mm512_mul_pd(z, inv));                                         \
    }                                                                                           \
  }
DEFINE_PD_KERNELS(float, f)
DEFINE_PD_KERNELS(double, d)
#undef DEFINE_PD_KERNELS

/* Argument checks: both comparisons of every vector into one mask (ordered:
 * NaN fails), and-ed over the array; the tail under a mask of its lanes.
 * One body for both types: M is the mask type (VL lanes, all set: FULL),
 * PS the intrinsics' suffix. */
#define DEFINE_ALL_ABOVE(T, SFX, V, M, VL, FULL, PS)                                         \
  static int all_above_##SFX(size_t n, T const *x, T lo)                                    \
  {                                                                                         \
    V const l = _mm512_set1_##PS(lo), inf = _mm512_set1_##PS((T)INFINITY);                  \
    M ok = FULL;                                                                            \
    size_t i = 0;                                                                           \
    for (; i + VL <= n; i += VL) {                                                          \
      V const v = _mm512_loadu_##PS(x + i);                                                 \
      ok &= _mm512_cmp_##PS##_mask(v, l, _CMP_GT_OQ) &                                       \
            _mm512_cmp_##PS##_mask(v, inf, _CMP_LT_OQ);                                      \
    }                                                                                       \
    if (i < n) {                                                                            \
      M const mk = (M)((1u << (n - i)) - 1u);                                               \
      V const v = _mm512_maskz_loadu_##PS(mk, x + i);                                       \
      ok &= (M)(_mm512_mask_cmp_##PS##_mask(mk, v, l, _CMP_GT_OQ) &                         \
                _mm512_mask_cmp_##PS##_mask(mk, v, inf, _CMP_LT_OQ)) |                      \
            (M)~mk;                                                                         \
    }                                                                                       \
    return ok == FULL;                                                                      \
  }
DEFINE_ALL_ABOVE(float, f, __m512, __mmask16, 16, 0xFFFF, ps)
DEFINE_ALL_ABOVE(double, d, __m512d, __mmask8, 8, 0xFF, pd)
#undef DEFINE_ALL_ABOVE

/* Test hook: y = exp(x) with this level's vector exp. */
static void vexp_f(size_t n, float const *x, float *y)
{
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gmm_vexpf_avx512(_mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, mk, gmm_vexpf_avx512(_mm512_maskz_loadu_ps(mk, x + i)));
  }
}

static void vexp_d(size_t n, double const *x, double *y)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm512_storeu_pd(y + i, gmm_vexp_avx512(_mm512_loadu_pd(x + i)));
  if (i < n) {
    __mmask8 mk = (__mmask8)((1u << (n - i)) - 1u);
    _mm512_mask_storeu_pd(y + i, mk, gmm_vexp_avx512(_mm512_maskz_loadu_pd(mk, x + i)));
  }
}

/* Selection: compare a vector of posteriors with the threshold (into a mask
 * register), add it to the column sums, and walk the mask's bits. */
static size_t select_f(size_t K, float const *q, float thr, float *colsum, vl_uint32 *idx)
{
  __m512 const t = _mm512_set1_ps(thr);
  size_t k = 0, n = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 const v = _mm512_loadu_ps(q + k);
    unsigned m = (unsigned)_mm512_cmp_ps_mask(v, t, _CMP_GE_OQ);
    _mm512_storeu_ps(colsum + k, _mm512_add_ps(_mm512_loadu_ps(colsum + k), v));
    while (m) {
      idx[n++] = (vl_uint32)(k + (size_t)__builtin_ctz(m));
      m &= m - 1;
    }
  }
  for (; k < K; ++k) {
    colsum[k] += q[k];
    if (q[k] >= thr) idx[n++] = (vl_uint32)k;
  }
  return n;
}

static size_t select_d(size_t K, double const *q, double thr, double *colsum, vl_uint32 *idx)
{
  __m512d const t = _mm512_set1_pd(thr);
  size_t k = 0, n = 0;
  for (; k + 8 <= K; k += 8) {
    __m512d const v = _mm512_loadu_pd(q + k);
    unsigned m = (unsigned)_mm512_cmp_pd_mask(v, t, _CMP_GE_OQ);
    _mm512_storeu_pd(colsum + k, _mm512_add_pd(_mm512_loadu_pd(colsum + k), v));
    while (m) {
      idx[n++] = (vl_uint32)(k + (size_t)__builtin_ctz(m));
      m &= m - 1;
    }
  }
  for (; k < K; ++k) {
    colsum[k] += q[k];
    if (q[k] >= thr) idx[n++] = (vl_uint32)k;
  }
  return n;
}

gmm_kernels const gmm_kernels_avx512 = {
  .name = "avx512",
  .level = VL_SIMD_AVX512,
  .wdist_f = wdist_f,
  .wdist_d = wdist_d,
  .l2dist_f = l2dist_f,
  .l2dist_d = l2dist_d,
  .l2argmin_f = l2argmin_f,
  .l2argmin_d = l2argmin_d,
  .dist_l2_f = dist_l2_f,
  .dist_l2_d = dist_l2_d,
  .lse_f = lse_f,
  .lse_d = lse_d,
  .accum_f = accum_f,
  .accum_d = accum_d,
  .moments_f = moments_f,
  .moments_d = moments_d,
  .select_f = select_f,
  .select_d = select_d,
  .chol_dist_f = gmm_chol_dist_avx512_f,
  .chol_dist_d = gmm_chol_dist_avx512_d,
  .chol_whiten_f = gmm_chol_whiten_avx512_f,
  .chol_whiten_d = gmm_chol_whiten_avx512_d,
  .scatter_f = gmm_scatter_avx512_f,
  .scatter_d = gmm_scatter_avx512_d,
  .copy_rows_f = gmm_copy_rows_sse2_f,
  .copy_rows_d = gmm_copy_rows_sse2_d,
  .fisher_terms_f = fisher_terms_f,
  .fisher_terms_d = fisher_terms_d,
  .eparams_row_f = eparams_row_f,
  .eparams_row_d = eparams_row_d,
  .all_above_f = all_above_f,
  .all_above_d = all_above_d,
  .vexp_f = vexp_f,
  .vexp_d = vexp_d,
};

#endif /* __AVX512F__ */
