/* kernels_avx2.c: the kernel table for AVX2 + FMA (256-bit ymm registers).
 *
 * Instructions: AVX loads/stores/broadcasts (vmovaps, vmovups,
 * vbroadcastss/sd), vsubps/pd, vmulps/pd, vaddps/pd and the FMA3 forms
 * vfmsub/vfmadd (ps and pd); for lse and its exp also vmaxps/pd, vminps/pd,
 * vfnmadd, and the AVX2 integer shifts and adds vpsrad, vpslld, vpsllq,
 * vpaddd, vpsubd. Nothing beyond AVX2 + FMA.
 *
 * Precision: every kernel computes in the element type (float or double),
 * like the scalar reference. The tile kernels keep the scalar order of
 * summation over d; they differ from scalar only because x*s - m and
 * acc + z*z are each rounded once (FMA) instead of twice. dist_l2 and accum
 * also use FMA, and dist_l2 sums over d in several vector lanes, then
 * reduces them, so its summation order differs from scalar. lse uses the
 * vector exp of vexp.h (< 1.1 ulp) and sums S in lanes (see its comment).
 *
 * Tiling of wdist/l2dist: MR points x (2 vectors = NR components). The
 * 2*MR accumulators, 2 vectors of s and 2 of m stay in the 16 ymm registers
 * while d runs innermost; x[i*ldx + d] is broadcast once per point and d.
 * Point blocks are walked row-tile by row-tile, components innermost, so
 * the few x rows of a tile stay in L1 while s/m stream from L2.
 */
#if !(defined(__AVX2__) && defined(__FMA__))
#error "kernels_avx2.c must be compiled with AVX2 and FMA enabled (-mavx2 -mfma)"
#else

#include <immintrin.h>

#include "simd/kernels.h"
#include "simd/kinline.h"
#include "simd/vexp.h"


/* Rows per tile. 4 x 2 accumulators + 2 s + 2 m + broadcast + temporaries
 * fit the 16 registers; 8 independent accumulator chains cover the FMA
 * latency on two FMA ports. */
#define MR_F 4
#define MR_D 4

/* ---- float -------------------------------------------------------------- */

/* One tile: `mr` (compile-time constant after inlining) points, 16
 * components starting at s, m, out (already offset to the tile's column). */
GMM_KINLINE void wdist_tile_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                              float const *s, float const *m, float *out)
{
  __m256 acc[MR_F][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm256_setzero_ps();
    acc[r][1] = _mm256_setzero_ps();
  }
  for (size_t d = 0; d < D; ++d) {
    __m256 s0 = _mm256_load_ps(s + d * kp);
    __m256 s1 = _mm256_load_ps(s + d * kp + 8);
    __m256 m0 = _mm256_load_ps(m + d * kp);
    __m256 m1 = _mm256_load_ps(m + d * kp + 8);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m256 xr = _mm256_broadcast_ss(x + r * ldx + d);
      __m256 z0 = _mm256_fmsub_ps(xr, s0, m0);
      __m256 z1 = _mm256_fmsub_ps(xr, s1, m1);
      acc[r][0] = _mm256_fmadd_ps(z0, z0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(z1, z1, acc[r][1]);
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm256_store_ps(out + r * kp, acc[r][0]);
    _mm256_store_ps(out + r * kp + 8, acc[r][1]);
  }
}

GMM_KINLINE void wdist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                              float const *s, float const *m, float *out)
{
  for (size_t k = 0; k < kp; k += 16) wdist_tile_f(mr, D, kp, x, ldx, s + k, m + k, out + k);
}

static void wdist_f(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                    float const *s, float const *m, float *out)
{
  size_t i = 0;
  for (; i + MR_F <= n; i += MR_F) wdist_rows_f(MR_F, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
  switch (n - i) {
    case 3: wdist_rows_f(3, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    case 2: wdist_rows_f(2, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    case 1: wdist_rows_f(1, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    default: break;
  }
}

GMM_KINLINE void l2dist_tile_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                               float const *c, float *out)
{
  __m256 acc[MR_F][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm256_setzero_ps();
    acc[r][1] = _mm256_setzero_ps();
  }
  for (size_t d = 0; d < D; ++d) {
    __m256 c0 = _mm256_load_ps(c + d * kp);
    __m256 c1 = _mm256_load_ps(c + d * kp + 8);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m256 xr = _mm256_broadcast_ss(x + r * ldx + d);
      __m256 z0 = _mm256_sub_ps(xr, c0);
      __m256 z1 = _mm256_sub_ps(xr, c1);
      acc[r][0] = _mm256_fmadd_ps(z0, z0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(z1, z1, acc[r][1]);
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm256_store_ps(out + r * kp, acc[r][0]);
    _mm256_store_ps(out + r * kp + 8, acc[r][1]);
  }
}

GMM_KINLINE void l2dist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                               float const *c, float *out)
{
  for (size_t k = 0; k < kp; k += 16) l2dist_tile_f(mr, D, kp, x, ldx, c + k, out + k);
}

static void l2dist_f(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                     float const *c, float *out)
{
  size_t i = 0;
  for (; i + MR_F <= n; i += MR_F) l2dist_rows_f(MR_F, D, kp, x + i * ldx, ldx, c, out + i * kp);
  switch (n - i) {
    case 3: l2dist_rows_f(3, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 2: l2dist_rows_f(2, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 1: l2dist_rows_f(1, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    default: break;
  }
}

static float hsum256_f(__m256 v)
{
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
  return _mm_cvtss_f32(a);
}

static float dist_l2_f(size_t D, float const *x, float const *y)
{
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t d = 0;
  for (; d + 16 <= D; d += 16) {
    __m256 z0 = _mm256_sub_ps(_mm256_loadu_ps(x + d), _mm256_loadu_ps(y + d));
    __m256 z1 = _mm256_sub_ps(_mm256_loadu_ps(x + d + 8), _mm256_loadu_ps(y + d + 8));
    a0 = _mm256_fmadd_ps(z0, z0, a0);
    a1 = _mm256_fmadd_ps(z1, z1, a1);
  }
  if (d + 8 <= D) {
    __m256 z0 = _mm256_sub_ps(_mm256_loadu_ps(x + d), _mm256_loadu_ps(y + d));
    a0 = _mm256_fmadd_ps(z0, z0, a0);
    d += 8;
  }
  float acc = hsum256_f(_mm256_add_ps(a0, a1));
  for (; d < D; ++d) {
    float z = x[d] - y[d];
    acc += z * z;
  }
  return acc;
}

static void accum_f(size_t D, float q, float const *x, float const *mu, float *s1, double *s2)
{
  __m256 qv = _mm256_set1_ps(q);
  size_t d = 0;
  for (; d + 8 <= D; d += 8) {
    __m256 z = _mm256_sub_ps(_mm256_loadu_ps(x + d), _mm256_loadu_ps(mu + d));
    __m256 t = _mm256_mul_ps(qv, z);
    __m256d zl = _mm256_cvtps_pd(_mm256_castps256_ps128(z));
    __m256d zh = _mm256_cvtps_pd(_mm256_extractf128_ps(z, 1));
    __m256d tl = _mm256_cvtps_pd(_mm256_castps256_ps128(t));
    __m256d th = _mm256_cvtps_pd(_mm256_extractf128_ps(t, 1));
    _mm256_storeu_ps(s1 + d, _mm256_add_ps(_mm256_loadu_ps(s1 + d), t));
    _mm256_storeu_pd(s2 + d, _mm256_fmadd_pd(tl, zl, _mm256_loadu_pd(s2 + d)));
    _mm256_storeu_pd(s2 + d + 4, _mm256_fmadd_pd(th, zh, _mm256_loadu_pd(s2 + d + 4)));
  }
  for (; d < D; ++d) {
    float z = x[d] - mu[d];
    float t = q * z;
    s1[d] += t;
    s2[d] += (double)t * (double)z;
  }
}

/* moments (see kernels.h): `nv` (1..2, a constant after inlining) vectors of
 * 8 dimensions from d, the sums in registers over the rows; the terms are
 * accum_f's. */
GMM_KINLINE void moments_chunk_f(size_t nv, size_t nr, unsigned char const *rows,
                                 float const *q, size_t ldq, float const *x, size_t ldx,
                                 float const *mu, double *s1, double *s2)
{
  __m256 a1[2], m[2];
  __m256d a2[2][2];
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    a1[v] = _mm256_setzero_ps();
    a2[v][0] = a2[v][1] = _mm256_setzero_pd();
    m[v] = _mm256_loadu_ps(mu + 8 * v);
  }
  for (size_t r = 0; r < nr; ++r) {
    size_t const i = rows[r];
    __m256 const qv = _mm256_set1_ps(q ? q[i * ldq] : 1.0f);
    float const *xi = x + i * ldx;
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) {
      __m256 z = _mm256_sub_ps(_mm256_loadu_ps(xi + 8 * v), m[v]);
      __m256 t = _mm256_mul_ps(qv, z);
      a1[v] = _mm256_add_ps(a1[v], t);
      a2[v][0] = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(t)), _mm256_cvtps_pd(_mm256_castps256_ps128(z)), a2[v][0]);
      a2[v][1] = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(t, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(z, 1)), a2[v][1]);
    }
  }
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    double *o1 = s1 + 8 * v, *o2 = s2 + 8 * v;
    _mm256_storeu_pd(o1, _mm256_add_pd(_mm256_loadu_pd(o1), _mm256_cvtps_pd(_mm256_castps256_ps128(a1[v]))));
    _mm256_storeu_pd(o1 + 4, _mm256_add_pd(_mm256_loadu_pd(o1 + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(a1[v], 1))));
    _mm256_storeu_pd(o2, _mm256_add_pd(_mm256_loadu_pd(o2), a2[v][0]));
    _mm256_storeu_pd(o2 + 4, _mm256_add_pd(_mm256_loadu_pd(o2 + 4), a2[v][1]));
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
  for (; d + 16 <= D; d += 16)
    moments_chunk_f(2, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
  if (d + 8 <= D) {
    moments_chunk_f(1, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
    d += 8;
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

/* One tile: `mr` points, 8 components (2 vectors of 4 doubles). */
GMM_KINLINE void wdist_tile_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                              double const *s, double const *m, double *out)
{
  __m256d acc[MR_D][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm256_setzero_pd();
    acc[r][1] = _mm256_setzero_pd();
  }
  for (size_t d = 0; d < D; ++d) {
    __m256d s0 = _mm256_load_pd(s + d * kp);
    __m256d s1 = _mm256_load_pd(s + d * kp + 4);
    __m256d m0 = _mm256_load_pd(m + d * kp);
    __m256d m1 = _mm256_load_pd(m + d * kp + 4);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m256d xr = _mm256_broadcast_sd(x + r * ldx + d);
      __m256d z0 = _mm256_fmsub_pd(xr, s0, m0);
      __m256d z1 = _mm256_fmsub_pd(xr, s1, m1);
      acc[r][0] = _mm256_fmadd_pd(z0, z0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_pd(z1, z1, acc[r][1]);
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm256_store_pd(out + r * kp, acc[r][0]);
    _mm256_store_pd(out + r * kp + 4, acc[r][1]);
  }
}

GMM_KINLINE void wdist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                              double const *s, double const *m, double *out)
{
  for (size_t k = 0; k < kp; k += 8) wdist_tile_d(mr, D, kp, x, ldx, s + k, m + k, out + k);
}

static void wdist_d(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                    double const *s, double const *m, double *out)
{
  size_t i = 0;
  for (; i + MR_D <= n; i += MR_D) wdist_rows_d(MR_D, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
  switch (n - i) {
    case 3: wdist_rows_d(3, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    case 2: wdist_rows_d(2, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    case 1: wdist_rows_d(1, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    default: break;
  }
}

GMM_KINLINE void l2dist_tile_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                               double const *c, double *out)
{
  __m256d acc[MR_D][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm256_setzero_pd();
    acc[r][1] = _mm256_setzero_pd();
  }
  for (size_t d = 0; d < D; ++d) {
    __m256d c0 = _mm256_load_pd(c + d * kp);
    __m256d c1 = _mm256_load_pd(c + d * kp + 4);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m256d xr = _mm256_broadcast_sd(x + r * ldx + d);
      __m256d z0 = _mm256_sub_pd(xr, c0);
      __m256d z1 = _mm256_sub_pd(xr, c1);
      acc[r][0] = _mm256_fmadd_pd(z0, z0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_pd(z1, z1, acc[r][1]);
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm256_store_pd(out + r * kp, acc[r][0]);
    _mm256_store_pd(out + r * kp + 4, acc[r][1]);
  }
}

GMM_KINLINE void l2dist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                               double const *c, double *out)
{
  for (size_t k = 0; k < kp; k += 8) l2dist_tile_d(mr, D, kp, x, ldx, c + k, out + k);
}

static void l2dist_d(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                     double const *c, double *out)
{
  size_t i = 0;
  for (; i + MR_D <= n; i += MR_D) l2dist_rows_d(MR_D, D, kp, x + i * ldx, ldx, c, out + i * kp);
  switch (n - i) {
    case 3: l2dist_rows_d(3, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 2: l2dist_rows_d(2, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 1: l2dist_rows_d(1, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    default: break;
  }
}

static double hsum256_d(__m256d v)
{
  __m128d a = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  a = _mm_add_sd(a, _mm_unpackhi_pd(a, a));
  return _mm_cvtsd_f64(a);
}

static double dist_l2_d(size_t D, double const *x, double const *y)
{
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  size_t d = 0;
  for (; d + 8 <= D; d += 8) {
    __m256d z0 = _mm256_sub_pd(_mm256_loadu_pd(x + d), _mm256_loadu_pd(y + d));
    __m256d z1 = _mm256_sub_pd(_mm256_loadu_pd(x + d + 4), _mm256_loadu_pd(y + d + 4));
    a0 = _mm256_fmadd_pd(z0, z0, a0);
    a1 = _mm256_fmadd_pd(z1, z1, a1);
  }
  if (d + 4 <= D) {
    __m256d z0 = _mm256_sub_pd(_mm256_loadu_pd(x + d), _mm256_loadu_pd(y + d));
    a0 = _mm256_fmadd_pd(z0, z0, a0);
    d += 4;
  }
  double acc = hsum256_d(_mm256_add_pd(a0, a1));
  for (; d < D; ++d) {
    double z = x[d] - y[d];
    acc += z * z;
  }
  return acc;
}

static void accum_d(size_t D, double q, double const *x, double const *mu, double *s1,
                    double *s2)
{
  __m256d qv = _mm256_set1_pd(q);
  size_t d = 0;
  for (; d + 4 <= D; d += 4) {
    __m256d z = _mm256_sub_pd(_mm256_loadu_pd(x + d), _mm256_loadu_pd(mu + d));
    __m256d t = _mm256_mul_pd(qv, z);
    _mm256_storeu_pd(s1 + d, _mm256_add_pd(_mm256_loadu_pd(s1 + d), t));
    _mm256_storeu_pd(s2 + d, _mm256_fmadd_pd(t, z, _mm256_loadu_pd(s2 + d)));
  }
  for (; d < D; ++d) {
    double z = x[d] - mu[d];
    double t = q * z;
    s1[d] += t;
    s2[d] += t * z;
  }
}

/* moments, double: `nv` (1..4) vectors of 4 dimensions; accum_d's terms. */
GMM_KINLINE void moments_chunk_d(size_t nv, size_t nr, unsigned char const *rows,
                                 double const *q, size_t ldq, double const *x, size_t ldx,
                                 double const *mu, double *s1, double *s2)
{
  __m256d a1[4], a2[4], m[4];
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    a1[v] = a2[v] = _mm256_setzero_pd();
    m[v] = _mm256_loadu_pd(mu + 4 * v);
  }
  for (size_t r = 0; r < nr; ++r) {
    size_t const i = rows[r];
    __m256d const qv = _mm256_set1_pd(q ? q[i * ldq] : 1.0);
    double const *xi = x + i * ldx;
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) {
      __m256d z = _mm256_sub_pd(_mm256_loadu_pd(xi + 4 * v), m[v]);
      __m256d t = _mm256_mul_pd(qv, z);
      a1[v] = _mm256_add_pd(a1[v], t);
      a2[v] = _mm256_fmadd_pd(t, z, a2[v]);
    }
  }
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    _mm256_storeu_pd(s1 + 4 * v, _mm256_add_pd(_mm256_loadu_pd(s1 + 4 * v), a1[v]));
    _mm256_storeu_pd(s2 + 4 * v, _mm256_add_pd(_mm256_loadu_pd(s2 + 4 * v), a2[v]));
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
  for (; d + 16 <= D; d += 16)
    moments_chunk_d(4, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
  for (; d + 4 <= D; d += 4)
    moments_chunk_d(1, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
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
 * groups of LSE_GROUP, each pass over the whole group before the next:
 *  1. l = c - d/2 (one FMA; d/2 is exact, so l is the scalar value), stored
 *     in place, running max in 2 vectors;
 *  2. e = exp(l - m) with the vector exp of vexp.h, stored in place, summed
 *     in the element type in 2 vectors, then reduced;
 *  3. q = e * (1/S) for k < K (vector stores for whole vectors, scalar code
 *     for the K tail: q rows may be unaligned, ldq arbitrary).
 * Padding columns have c = -inf, hence l = -inf and e = exp(-inf) = 0, so
 * whole vectors up to kp are processed and the padding adds nothing. A row
 * whose l are all -inf has m = -inf and l - m = NaN: its q and ll are NaN,
 * as in the scalar reference. max(l, mx) keeps mx where l is NaN, like the
 * scalar `l > lmax`. Differences from scalar: exp (vexp.h, < 1 ulp), the
 * summation order of S, and q = e * (1/S) instead of e / S. */

static float hmax256_f(__m256 v)
{
  __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_max_ps(a, _mm_movehl_ps(a, a));
  a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
  return _mm_cvtss_f32(a);
}

static double hmax256_d(__m256d v)
{
  __m128d a = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  a = _mm_max_sd(a, _mm_unpackhi_pd(a, a));
  return _mm_cvtsd_f64(a);
}

/* One vector of pass 2: t = exp(t - m), added to the running sum. When every
 * lane is below the exp's zero bound (GMM_EXPF_ZERO / GMM_EXP_ZERO: vexp.h
 * returns exactly +0 there, and +0 adds nothing to the sum), the exp is not
 * evaluated: the same bits, and most vectors of an E-step row are far from
 * the point's best component. NaN lanes are evaluated (NLT is unordered). */
GMM_KINLINE __m256 exp_or_zero_f(float *t, __m256 mv, __m256 sum)
{
  __m256 const z = _mm256_sub_ps(_mm256_load_ps(t), mv);
  if (!_mm256_movemask_ps(_mm256_cmp_ps(z, _mm256_set1_ps(GMM_EXPF_ZERO), _CMP_NLT_UQ))) {
    _mm256_store_ps(t, _mm256_setzero_ps());
    return sum;
  }
  {
    __m256 const e = gmm_vexpf_avx2(z);
    _mm256_store_ps(t, e);
    return _mm256_add_ps(sum, e);
  }
}

GMM_KINLINE __m256d exp_or_zero_d(double *t, __m256d mv, __m256d sum)
{
  __m256d const z = _mm256_sub_pd(_mm256_load_pd(t), mv);
  if (!_mm256_movemask_pd(_mm256_cmp_pd(z, _mm256_set1_pd(GMM_EXP_ZERO), _CMP_NLT_UQ))) {
    _mm256_store_pd(t, _mm256_setzero_pd());
    return sum;
  }
  {
    __m256d const e = gmm_vexp_avx2(z);
    _mm256_store_pd(t, e);
    return _mm256_add_pd(sum, e);
  }
}

/* Rows per group: each pass runs over the group's rows before the next
 * pass starts, so the rows' serial steps (horizontal max and sum, 1/S, log)
 * overlap with the other rows' vector work. */
#define LSE_GROUP 8

static void lse_f(size_t n, size_t K, size_t kp, float const *c, float *tile, float *q,
                  size_t ldq, double *ll)
{
  __m256 const half = _mm256_set1_ps(0.5f);
  for (size_t i0 = 0; i0 < n; i0 += LSE_GROUP) {
    size_t const g = n - i0 < LSE_GROUP ? n - i0 : LSE_GROUP;
    float m[LSE_GROUP], S[LSE_GROUP];
    for (size_t r = 0; r < g; ++r) {
      float *row = tile + (i0 + r) * kp;
      __m256 mx[2] = {_mm256_set1_ps(-INFINITY), _mm256_set1_ps(-INFINITY)};
      for (size_t k = 0; k < kp; k += 16) {
        GMM_UNROLL
        for (int j = 0; j < 2; ++j) {
          float *t = row + k + 8 * j;
          __m256 l = _mm256_fnmadd_ps(half, _mm256_load_ps(t), _mm256_load_ps(c + k + 8 * j));
          _mm256_store_ps(t, l);
          mx[j] = _mm256_max_ps(l, mx[j]);
        }
      }
      m[r] = hmax256_f(_mm256_max_ps(mx[0], mx[1]));
    }
    for (size_t r = 0; r < g; ++r) {
      float *row = tile + (i0 + r) * kp;
      __m256 const mv = _mm256_set1_ps(m[r]);
      __m256 sm[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
      for (size_t k = 0; k < kp; k += 16) {
        GMM_UNROLL
        for (int j = 0; j < 2; ++j) sm[j] = exp_or_zero_f(row + k + 8 * j, mv, sm[j]);
      }
      S[r] = hsum256_f(_mm256_add_ps(sm[0], sm[1]));
    }
    for (size_t r = 0; r < g; ++r) {
      float const *row = tile + (i0 + r) * kp;
      float *qi = q + (i0 + r) * ldq;
      float const inv = 1.0f / S[r];
      __m256 const iv = _mm256_set1_ps(inv);
      size_t k = 0;
      for (; k + 8 <= K; k += 8) _mm256_storeu_ps(qi + k, _mm256_mul_ps(_mm256_load_ps(row + k), iv));
      for (; k < K; ++k) qi[k] = row[k] * inv;
    }
    for (size_t r = 0; r < g; ++r) ll[i0 + r] = log((double)S[r]) + (double)m[r];
  }
}

static void lse_d(size_t n, size_t K, size_t kp, double const *c, double *tile, double *q,
                  size_t ldq, double *ll)
{
  __m256d const half = _mm256_set1_pd(0.5);
  for (size_t i0 = 0; i0 < n; i0 += LSE_GROUP) {
    size_t const g = n - i0 < LSE_GROUP ? n - i0 : LSE_GROUP;
    double m[LSE_GROUP], S[LSE_GROUP];
    for (size_t r = 0; r < g; ++r) {
      double *row = tile + (i0 + r) * kp;
      __m256d mx[4];
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) mx[j] = _mm256_set1_pd(-INFINITY);
      for (size_t k = 0; k < kp; k += 16) {
        GMM_UNROLL
        for (int j = 0; j < 4; ++j) {
          double *t = row + k + 4 * j;
          __m256d l = _mm256_fnmadd_pd(half, _mm256_load_pd(t), _mm256_load_pd(c + k + 4 * j));
          _mm256_store_pd(t, l);
          mx[j] = _mm256_max_pd(l, mx[j]);
        }
      }
      m[r] = hmax256_d(_mm256_max_pd(_mm256_max_pd(mx[0], mx[1]), _mm256_max_pd(mx[2], mx[3])));
    }
    for (size_t r = 0; r < g; ++r) {
      double *row = tile + (i0 + r) * kp;
      __m256d const mv = _mm256_set1_pd(m[r]);
      __m256d sm[4];
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) sm[j] = _mm256_setzero_pd();
      for (size_t k = 0; k < kp; k += 16) {
        GMM_UNROLL
        for (int j = 0; j < 4; ++j) sm[j] = exp_or_zero_d(row + k + 4 * j, mv, sm[j]);
      }
      S[r] = hsum256_d(_mm256_add_pd(_mm256_add_pd(sm[0], sm[1]), _mm256_add_pd(sm[2], sm[3])));
    }
    for (size_t r = 0; r < g; ++r) {
      double const *row = tile + (i0 + r) * kp;
      double *qi = q + (i0 + r) * ldq;
      double const inv = 1.0 / S[r];
      __m256d const iv = _mm256_set1_pd(inv);
      size_t k = 0;
      for (; k + 4 <= K; k += 4) _mm256_storeu_pd(qi + k, _mm256_mul_pd(_mm256_load_pd(row + k), iv));
      for (; k < K; ++k) qi[k] = row[k] * inv;
    }
    for (size_t r = 0; r < g; ++r) ll[i0 + r] = log(S[r]) + m[r];
  }
}

/* The double-precision kernels over arrays of either type (Fisher terms,
 * E-step set-up row): 4 lanes at a time, the elements read as doubles
 * (as_pd_f converts floats) and written back rounded to the array's type
 * (store_pd_f); the tail by the scalar kernel. Division and square roots are
 * correctly rounded, as in the scalar kernels, and no operation is fused:
 * the same bits. */
GMM_KINLINE __m256d as_pd_f(float const *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
GMM_KINLINE __m256d as_pd_d(double const *p) { return _mm256_loadu_pd(p); }
GMM_KINLINE void store_pd_f(float *p, __m256d v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
GMM_KINLINE void store_pd_d(double *p, __m256d v) { _mm256_storeu_pd(p, v); }

/* sign(x) sqrt(|x|), -0 kept */
GMM_KINLINE __m256d signed_sqrt_pd(__m256d x)
{
  __m256d const sign = _mm256_set1_pd(-0.0);
  return _mm256_or_pd(_mm256_sqrt_pd(_mm256_andnot_pd(sign, x)), _mm256_and_pd(sign, x));
}

#define DEFINE_PD_KERNELS(T, SFX)                                                               \
  static void fisher_terms_##SFX(size_t D, T const *cov, double a, double b, double s0,         \
                                 int sqroot, double *u, double *v)                              \
  {                                                                                             \
    __m256d const av = _mm256_set1_pd(a), bv = _mm256_set1_pd(b), sv = _mm256_set1_pd(s0);     \
    size_t d = 0;                                                                               \
    for (; d + 4 <= D; d += 4) {                                                                \
      __m256d const w = _mm256_div_pd(_mm256_set1_pd(1.0), as_pd_##SFX(cov + d));               \
      __m256d uu = _mm256_mul_pd(_mm256_mul_pd(as_pd_d(u + d), _mm256_sqrt_pd(w)), av);         \
      __m256d vv = _mm256_mul_pd(_mm256_sub_pd(_mm256_mul_pd(as_pd_d(v + d), w), sv), bv);      \
      if (sqroot) {                                                                             \
        uu = signed_sqrt_pd(uu);                                                                \
        vv = signed_sqrt_pd(vv);                                                                \
      }                                                                                         \
      store_pd_d(u + d, uu);                                                                    \
      store_pd_d(v + d, vv);                                                                    \
    }                                                                                           \
    gmm_fisher_terms_scalar_##SFX(D - d, cov + d, a, b, s0, sqroot, u + d, v + d);              \
  }                                                                                             \
  static void eparams_row_##SFX(size_t D, T const *cov, T const *mean, T const *shift, T *s,    \
                                T *m)                                                           \
  {                                                                                             \
    size_t d = 0;                                                                               \
    for (; d + 4 <= D; d += 4) {                                                                \
      __m256d const sd = _mm256_sqrt_pd(as_pd_##SFX(cov + d));                                  \
      __m256d const inv = _mm256_div_pd(_mm256_set1_pd(1.0), sd);                               \
      __m256d const z = _mm256_sub_pd(as_pd_##SFX(mean + d), as_pd_##SFX(shift + d));           \
      store_pd_##SFX(s + d, inv);                                                               \
      store_pd_##SFX(m + d, _mm256_mul_pd(z, inv));                                             \
    }                                                                                           \
    gmm_eparams_row_scalar_##SFX(D - d, cov + d, mean + d, shift + d, s + d, m + d);            \
  }
DEFINE_PD_KERNELS(float, f)
DEFINE_PD_KERNELS(double, d)
#undef DEFINE_PD_KERNELS

/* Argument checks: both comparisons of every vector (ordered: NaN fails),
 * and-ed over the array; the tail in scalar code. One body for both types:
 * VL lanes, ALL the movemask of all of them, PS the intrinsics' suffix. */
#define DEFINE_ALL_ABOVE(T, SFX, V, VL, ALL, PS)                                             \
  static int all_above_##SFX(size_t n, T const *x, T lo)                                    \
  {                                                                                         \
    V const l = _mm256_set1_##PS(lo), inf = _mm256_set1_##PS((T)INFINITY);                  \
    V ok = _mm256_castsi256_##PS(_mm256_set1_epi32(-1));                                    \
    size_t i = 0;                                                                           \
    for (; i + VL <= n; i += VL) {                                                          \
      V const v = _mm256_loadu_##PS(x + i);                                                 \
      ok = _mm256_and_##PS(ok, _mm256_and_##PS(_mm256_cmp_##PS(v, l, _CMP_GT_OQ),            \
                                               _mm256_cmp_##PS(v, inf, _CMP_LT_OQ)));        \
    }                                                                                       \
    return (_mm256_movemask_##PS(ok) == ALL) & gmm_all_above_scalar_##SFX(n - i, x + i, lo); \
  }
DEFINE_ALL_ABOVE(float, f, __m256, 8, 0xFF, ps)
DEFINE_ALL_ABOVE(double, d, __m256d, 4, 0xF, pd)
#undef DEFINE_ALL_ABOVE

/* Test hook: y = exp(x) with this level's vector exp. */
static void vexp_f(size_t n, float const *x, float *y)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gmm_vexpf_avx2(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t j = 0; j < n - i; ++j) buf[j] = x[i + j];
    _mm256_storeu_ps(buf, gmm_vexpf_avx2(_mm256_loadu_ps(buf)));
    for (size_t j = 0; j < n - i; ++j) y[i + j] = buf[j];
  }
}

static void vexp_d(size_t n, double const *x, double *y)
{
  size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, gmm_vexp_avx2(_mm256_loadu_pd(x + i)));
  if (i < n) {
    double buf[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < n - i; ++j) buf[j] = x[i + j];
    _mm256_storeu_pd(buf, gmm_vexp_avx2(_mm256_loadu_pd(buf)));
    for (size_t j = 0; j < n - i; ++j) y[i + j] = buf[j];
  }
}

/* Selection: compare a vector of posteriors with the threshold, add it to the
 * column sums, and walk the bits of the comparison mask (usually empty). */
static size_t select_f(size_t K, float const *q, float thr, float *colsum, vl_uint32 *idx)
{
  __m256 const t = _mm256_set1_ps(thr);
  size_t k = 0, n = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 const v = _mm256_loadu_ps(q + k);
    unsigned m = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, t, _CMP_GE_OQ));
    _mm256_storeu_ps(colsum + k, _mm256_add_ps(_mm256_loadu_ps(colsum + k), v));
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
  __m256d const t = _mm256_set1_pd(thr);
  size_t k = 0, n = 0;
  for (; k + 4 <= K; k += 4) {
    __m256d const v = _mm256_loadu_pd(q + k);
    unsigned m = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(v, t, _CMP_GE_OQ));
    _mm256_storeu_pd(colsum + k, _mm256_add_pd(_mm256_loadu_pd(colsum + k), v));
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

/* Nearest center: this level's distances, then a scan (kernels_scalar.tc). */
static void l2argmin_f(size_t n, size_t D, size_t kp, size_t K, float const *x, size_t ldx,
                       float const *c, float *tile, vl_uint32 *assign, float *dist)
{
  gmm_l2argmin_tile_f(l2dist_f, n, D, kp, K, x, ldx, c, tile, assign, dist);
}

static void l2argmin_d(size_t n, size_t D, size_t kp, size_t K, double const *x, size_t ldx,
                       double const *c, double *tile, vl_uint32 *assign, double *dist)
{
  gmm_l2argmin_tile_d(l2dist_d, n, D, kp, K, x, ldx, c, tile, assign, dist);
}

gmm_kernels const gmm_kernels_avx2 = {
  .name = "avx2",
  .level = VL_SIMD_AVX2,
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
  .chol_dist_f = gmm_chol_dist_avx2_f,
  .chol_dist_d = gmm_chol_dist_avx2_d,
  .chol_whiten_f = gmm_chol_whiten_avx2_f,
  .chol_whiten_d = gmm_chol_whiten_avx2_d,
  .scatter_f = gmm_scatter_avx2_f,
  .scatter_d = gmm_scatter_avx2_d,
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

#endif /* __AVX2__ && __FMA__ */
