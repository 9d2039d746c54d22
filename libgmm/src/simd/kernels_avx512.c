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

GMM_KINLINE void l2dist_tile_f(size_t mr, size_t nv, size_t D, size_t kp, float const *x,
                               size_t ldx, float const *c, float *out)
{
  __m512 acc[MR][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) acc[r][v] = _mm512_setzero_ps();
  for (size_t d = 0; d < D; ++d) {
    __m512 cv[2];
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) cv[v] = _mm512_load_ps(c + d * kp + 16 * v);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m512 xr = _mm512_set1_ps(x[r * ldx + d]);
      GMM_UNROLL
      for (size_t v = 0; v < nv; ++v) {
        __m512 z = _mm512_sub_ps(xr, cv[v]);
        acc[r][v] = _mm512_fmadd_ps(z, z, acc[r][v]);
      }
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) _mm512_store_ps(out + r * kp + 16 * v, acc[r][v]);
}

GMM_KINLINE void l2dist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                               float const *c, float *out)
{
  size_t k = 0;
  for (; k + 32 <= kp; k += 32) l2dist_tile_f(mr, 2, D, kp, x, ldx, c + k, out + k);
  if (k < kp) l2dist_tile_f(mr, 1, D, kp, x, ldx, c + k, out + k);
}

static void l2dist_f(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                     float const *c, float *out)
{
  size_t i = 0;
  for (; i + MR <= n; i += MR) l2dist_rows_f(MR, D, kp, x + i * ldx, ldx, c, out + i * kp);
  if (i + 8 <= n) {
    l2dist_rows_f(8, D, kp, x + i * ldx, ldx, c, out + i * kp);
    i += 8;
  }
  if (i + 4 <= n) {
    l2dist_rows_f(4, D, kp, x + i * ldx, ldx, c, out + i * kp);
    i += 4;
  }
  if (i + 2 <= n) {
    l2dist_rows_f(2, D, kp, x + i * ldx, ldx, c, out + i * kp);
    i += 2;
  }
  if (i < n) l2dist_rows_f(1, D, kp, x + i * ldx, ldx, c, out + i * kp);
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

GMM_KINLINE void l2dist_tile_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                               double const *c, double *out)
{
  __m512d acc[MR][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm512_setzero_pd();
    acc[r][1] = _mm512_setzero_pd();
  }
  for (size_t d = 0; d < D; ++d) {
    __m512d c0 = _mm512_load_pd(c + d * kp);
    __m512d c1 = _mm512_load_pd(c + d * kp + 8);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m512d xr = _mm512_set1_pd(x[r * ldx + d]);
      __m512d z0 = _mm512_sub_pd(xr, c0);
      __m512d z1 = _mm512_sub_pd(xr, c1);
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

GMM_KINLINE void l2dist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                               double const *c, double *out)
{
  for (size_t k = 0; k < kp; k += 16) l2dist_tile_d(mr, D, kp, x, ldx, c + k, out + k);
}

static void l2dist_d(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                     double const *c, double *out)
{
  size_t i = 0;
  for (; i + MR <= n; i += MR) l2dist_rows_d(MR, D, kp, x + i * ldx, ldx, c, out + i * kp);
  if (i + 8 <= n) {
    l2dist_rows_d(8, D, kp, x + i * ldx, ldx, c, out + i * kp);
    i += 8;
  }
  if (i + 4 <= n) {
    l2dist_rows_d(4, D, kp, x + i * ldx, ldx, c, out + i * kp);
    i += 4;
  }
  if (i + 2 <= n) {
    l2dist_rows_d(2, D, kp, x + i * ldx, ldx, c, out + i * kp);
    i += 2;
  }
  if (i < n) l2dist_rows_d(1, D, kp, x + i * ldx, ldx, c, out + i * kp);
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

/* ---- log-sum-exp (E-step posteriors) -------------------------------------
 *
 * Per row, three passes over the kp columns of the tile (L1 resident):
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

static void lse_f(size_t n, size_t K, size_t kp, float const *c, float *tile, float *q,
                  size_t ldq, double *ll)
{
  __m512 const half = _mm512_set1_ps(0.5f);
  for (size_t i = 0; i < n; ++i) {
    float *row = tile + i * kp, *qi = q + i * ldq;
    __m512 mx0 = _mm512_set1_ps(-INFINITY), mx1 = mx0;
    __m512 sm0 = _mm512_setzero_ps(), sm1 = sm0;
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
    float const m = hmax512_f(_mm512_max_ps(mx0, mx1));
    __m512 const mv = _mm512_set1_ps(m);
    for (k = 0; k + 32 <= kp; k += 32) {
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
    float const S = hsum512_f(_mm512_add_ps(sm0, sm1));
    __m512 const iv = _mm512_set1_ps(1.0f / S);
    for (k = 0; k + 16 <= K; k += 16)
      _mm512_storeu_ps(qi + k, _mm512_mul_ps(_mm512_load_ps(row + k), iv));
    if (k < K)
      _mm512_mask_storeu_ps(qi + k, (__mmask16)((1u << (K - k)) - 1u),
                            _mm512_mul_ps(_mm512_load_ps(row + k), iv));
    ll[i] = log((double)S) + (double)m;
  }
}

static void lse_d(size_t n, size_t K, size_t kp, double const *c, double *tile, double *q,
                  size_t ldq, double *ll)
{
  __m512d const half = _mm512_set1_pd(0.5);
  for (size_t i = 0; i < n; ++i) {
    double *row = tile + i * kp, *qi = q + i * ldq;
    __m512d mx0 = _mm512_set1_pd(-INFINITY), mx1 = mx0;
    __m512d sm0 = _mm512_setzero_pd(), sm1 = sm0;
    size_t k;
    for (k = 0; k < kp; k += 16) {
      __m512d l0 = _mm512_fnmadd_pd(half, _mm512_load_pd(row + k), _mm512_load_pd(c + k));
      __m512d l1 = _mm512_fnmadd_pd(half, _mm512_load_pd(row + k + 8), _mm512_load_pd(c + k + 8));
      _mm512_store_pd(row + k, l0);
      _mm512_store_pd(row + k + 8, l1);
      mx0 = _mm512_max_pd(l0, mx0);
      mx1 = _mm512_max_pd(l1, mx1);
    }
    double const m = hmax512_d(_mm512_max_pd(mx0, mx1));
    __m512d const mv = _mm512_set1_pd(m);
    for (k = 0; k < kp; k += 16) {
      __m512d e0 = gmm_vexp_avx512(_mm512_sub_pd(_mm512_load_pd(row + k), mv));
      __m512d e1 = gmm_vexp_avx512(_mm512_sub_pd(_mm512_load_pd(row + k + 8), mv));
      _mm512_store_pd(row + k, e0);
      _mm512_store_pd(row + k + 8, e1);
      sm0 = _mm512_add_pd(sm0, e0);
      sm1 = _mm512_add_pd(sm1, e1);
    }
    double const S = hsum512_d(_mm512_add_pd(sm0, sm1));
    __m512d const iv = _mm512_set1_pd(1.0 / S);
    for (k = 0; k + 8 <= K; k += 8)
      _mm512_storeu_pd(qi + k, _mm512_mul_pd(_mm512_load_pd(row + k), iv));
    if (k < K)
      _mm512_mask_storeu_pd(qi + k, (__mmask8)((1u << (K - k)) - 1u),
                            _mm512_mul_pd(_mm512_load_pd(row + k), iv));
    ll[i] = log(S) + m;
  }
}

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
  .dist_l2_f = dist_l2_f,
  .dist_l2_d = dist_l2_d,
  .lse_f = lse_f,
  .lse_d = lse_d,
  .accum_f = accum_f,
  .accum_d = accum_d,
  .select_f = select_f,
  .select_d = select_d,
  .chol_dist_f = gmm_chol_dist_avx512_f,
  .chol_dist_d = gmm_chol_dist_avx512_d,
  .chol_whiten_f = gmm_chol_whiten_avx512_f,
  .chol_whiten_d = gmm_chol_whiten_avx512_d,
  .scatter_f = gmm_scatter_avx512_f,
  .scatter_d = gmm_scatter_avx512_d,
  .vexp_f = vexp_f,
  .vexp_d = vexp_d,
};

#endif /* __AVX512F__ */
