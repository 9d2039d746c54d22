/* kernels_sse2.c: the kernel table for SSE2 (128-bit xmm registers).
 *
 * Instructions: SSE/SSE2 only (movaps/movapd, movups/movupd, shufps,
 * unpck*, subps/pd, mulps/pd, addps/pd; for lse and its exp also maxps/pd,
 * minps/pd and the integer psrad, pslld, psllq, paddd, psubd); no FMA.
 *
 * Precision: every kernel computes in the element type, and every product
 * and sum is rounded separately exactly as in the scalar reference (this
 * file is compiled with -ffp-contract=off). The tile kernels (wdist, l2dist)
 * and accum also keep the scalar order of operations, so they give results
 * bit-identical to scalar; dist_l2 sums over d in several lanes, then
 * reduces them, so only its summation order differs. lse computes the same
 * l and max as scalar, but uses the vector exp of vexp.h (< 1 ulp), sums S
 * in lanes and multiplies by 1/S (see its comment).
 *
 * Tiling of wdist/l2dist: MR points x 2 vectors of components. The 2*MR
 * accumulators, 2 vectors of s and 2 of m stay in the 16 xmm registers
 * while d runs innermost; x[i*ldx + d] is broadcast once per point and d.
 */
#if !defined(__SSE2__) && !(defined(_MSC_VER) && (defined(_M_X64) || defined(_M_AMD64) || \
                                                   (defined(_M_IX86_FP) && _M_IX86_FP >= 2)))
#error "kernels_sse2.c must be compiled with SSE2 enabled (-msse2)"
#else

#include <emmintrin.h>
#include <stdint.h>
#include <string.h>

#include "simd/kernels.h"
#include "simd/kinline.h"
#include "simd/vexp.h"


/* Rows per tile: 8 accumulators + 4 parameter vectors + broadcast and two
 * temporaries = 15 of the 16 xmm registers (x86-64). */
#define MR_F 4
#define MR_D 4

/* ---- float -------------------------------------------------------------- */

/* One tile: `mr` (compile-time constant after inlining) points, 8
 * components (2 vectors of 4) starting at s, m, out. */
GMM_KINLINE void wdist_tile_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                              float const *s, float const *m, float *out)
{
  __m128 acc[MR_F][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm_setzero_ps();
    acc[r][1] = _mm_setzero_ps();
  }
  for (size_t d = 0; d < D; ++d) {
    __m128 s0 = _mm_load_ps(s + d * kp);
    __m128 s1 = _mm_load_ps(s + d * kp + 4);
    __m128 m0 = _mm_load_ps(m + d * kp);
    __m128 m1 = _mm_load_ps(m + d * kp + 4);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m128 xr = _mm_load1_ps(x + r * ldx + d);
      __m128 z0 = _mm_sub_ps(_mm_mul_ps(xr, s0), m0);
      __m128 z1 = _mm_sub_ps(_mm_mul_ps(xr, s1), m1);
      acc[r][0] = _mm_add_ps(acc[r][0], _mm_mul_ps(z0, z0));
      acc[r][1] = _mm_add_ps(acc[r][1], _mm_mul_ps(z1, z1));
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm_store_ps(out + r * kp, acc[r][0]);
    _mm_store_ps(out + r * kp + 4, acc[r][1]);
  }
}

GMM_KINLINE void wdist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                              float const *s, float const *m, float *out)
{
  for (size_t k = 0; k < kp; k += 8) wdist_tile_f(mr, D, kp, x, ldx, s + k, m + k, out + k);
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
  __m128 acc[MR_F][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm_setzero_ps();
    acc[r][1] = _mm_setzero_ps();
  }
  for (size_t d = 0; d < D; ++d) {
    __m128 c0 = _mm_load_ps(c + d * kp);
    __m128 c1 = _mm_load_ps(c + d * kp + 4);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m128 xr = _mm_load1_ps(x + r * ldx + d);
      __m128 z0 = _mm_sub_ps(xr, c0);
      __m128 z1 = _mm_sub_ps(xr, c1);
      acc[r][0] = _mm_add_ps(acc[r][0], _mm_mul_ps(z0, z0));
      acc[r][1] = _mm_add_ps(acc[r][1], _mm_mul_ps(z1, z1));
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm_store_ps(out + r * kp, acc[r][0]);
    _mm_store_ps(out + r * kp + 4, acc[r][1]);
  }
}

GMM_KINLINE void l2dist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                               float const *c, float *out)
{
  for (size_t k = 0; k < kp; k += 8) l2dist_tile_f(mr, D, kp, x, ldx, c + k, out + k);
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

static float hsum128_f(__m128 v)
{
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_shuffle_ps(v, v, 1));
  return _mm_cvtss_f32(v);
}

static float dist_l2_f(size_t D, float const *x, float const *y)
{
  __m128 a0 = _mm_setzero_ps(), a1 = _mm_setzero_ps();
  size_t d = 0;
  for (; d + 8 <= D; d += 8) {
    __m128 z0 = _mm_sub_ps(_mm_loadu_ps(x + d), _mm_loadu_ps(y + d));
    __m128 z1 = _mm_sub_ps(_mm_loadu_ps(x + d + 4), _mm_loadu_ps(y + d + 4));
    a0 = _mm_add_ps(a0, _mm_mul_ps(z0, z0));
    a1 = _mm_add_ps(a1, _mm_mul_ps(z1, z1));
  }
  if (d + 4 <= D) {
    __m128 z0 = _mm_sub_ps(_mm_loadu_ps(x + d), _mm_loadu_ps(y + d));
    a0 = _mm_add_ps(a0, _mm_mul_ps(z0, z0));
    d += 4;
  }
  float acc = hsum128_f(_mm_add_ps(a0, a1));
  for (; d < D; ++d) {
    float z = x[d] - y[d];
    acc += z * z;
  }
  return acc;
}

static void accum_f(size_t D, float q, float const *x, float const *mu, float *s1, double *s2)
{
  __m128 qv = _mm_set1_ps(q);
  size_t d = 0;
  for (; d + 4 <= D; d += 4) {
    __m128 z = _mm_sub_ps(_mm_loadu_ps(x + d), _mm_loadu_ps(mu + d));
    __m128 t = _mm_mul_ps(qv, z);
    __m128d zl = _mm_cvtps_pd(z), zh = _mm_cvtps_pd(_mm_movehl_ps(z, z));
    __m128d tl = _mm_cvtps_pd(t), th = _mm_cvtps_pd(_mm_movehl_ps(t, t));
    _mm_storeu_ps(s1 + d, _mm_add_ps(_mm_loadu_ps(s1 + d), t));
    _mm_storeu_pd(s2 + d, _mm_add_pd(_mm_loadu_pd(s2 + d), _mm_mul_pd(tl, zl)));
    _mm_storeu_pd(s2 + d + 2, _mm_add_pd(_mm_loadu_pd(s2 + d + 2), _mm_mul_pd(th, zh)));
  }
  for (; d < D; ++d) {
    float z = x[d] - mu[d];
    float t = q * z;
    s1[d] += t;
    s2[d] += (double)t * (double)z;
  }
}

/* moments (see kernels.h): `nv` (1..2, a constant after inlining) vectors of
 * 4 dimensions from d, the sums in registers over the rows; the terms are
 * accum_f's. */
GMM_KINLINE void moments_chunk_f(size_t nv, size_t nr, unsigned char const *rows,
                                 float const *q, size_t ldq, float const *x, size_t ldx,
                                 float const *mu, double *s1, double *s2)
{
  __m128 a1[2], m[2];
  __m128d a2[2][2];
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    a1[v] = _mm_setzero_ps();
    a2[v][0] = a2[v][1] = _mm_setzero_pd();
    m[v] = _mm_loadu_ps(mu + 4 * v);
  }
  for (size_t r = 0; r < nr; ++r) {
    size_t const i = rows[r];
    __m128 const qv = _mm_set1_ps(q ? q[i * ldq] : 1.0f);
    float const *xi = x + i * ldx;
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) {
      __m128 z = _mm_sub_ps(_mm_loadu_ps(xi + 4 * v), m[v]);
      __m128 t = _mm_mul_ps(qv, z);
      a1[v] = _mm_add_ps(a1[v], t);
      a2[v][0] = _mm_add_pd(a2[v][0], _mm_mul_pd(_mm_cvtps_pd(t), _mm_cvtps_pd(z)));
      a2[v][1] = _mm_add_pd(a2[v][1], _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(t, t)), _mm_cvtps_pd(_mm_movehl_ps(z, z))));
    }
  }
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    double *o1 = s1 + 4 * v, *o2 = s2 + 4 * v;
    _mm_storeu_pd(o1, _mm_add_pd(_mm_loadu_pd(o1), _mm_cvtps_pd(a1[v])));
    _mm_storeu_pd(o1 + 2, _mm_add_pd(_mm_loadu_pd(o1 + 2), _mm_cvtps_pd(_mm_movehl_ps(a1[v], a1[v]))));
    _mm_storeu_pd(o2, _mm_add_pd(_mm_loadu_pd(o2), a2[v][0]));
    _mm_storeu_pd(o2 + 2, _mm_add_pd(_mm_loadu_pd(o2 + 2), a2[v][1]));
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
  for (; d + 8 <= D; d += 8)
    moments_chunk_f(2, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
  if (d + 4 <= D) {
    moments_chunk_f(1, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
    d += 4;
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

/* One tile: `mr` points, 4 components (2 vectors of 2 doubles). */
GMM_KINLINE void wdist_tile_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                              double const *s, double const *m, double *out)
{
  __m128d acc[MR_D][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm_setzero_pd();
    acc[r][1] = _mm_setzero_pd();
  }
  for (size_t d = 0; d < D; ++d) {
    __m128d s0 = _mm_load_pd(s + d * kp);
    __m128d s1 = _mm_load_pd(s + d * kp + 2);
    __m128d m0 = _mm_load_pd(m + d * kp);
    __m128d m1 = _mm_load_pd(m + d * kp + 2);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m128d xr = _mm_load1_pd(x + r * ldx + d);
      __m128d z0 = _mm_sub_pd(_mm_mul_pd(xr, s0), m0);
      __m128d z1 = _mm_sub_pd(_mm_mul_pd(xr, s1), m1);
      acc[r][0] = _mm_add_pd(acc[r][0], _mm_mul_pd(z0, z0));
      acc[r][1] = _mm_add_pd(acc[r][1], _mm_mul_pd(z1, z1));
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm_store_pd(out + r * kp, acc[r][0]);
    _mm_store_pd(out + r * kp + 2, acc[r][1]);
  }
}

GMM_KINLINE void wdist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                              double const *s, double const *m, double *out)
{
  for (size_t k = 0; k < kp; k += 4) wdist_tile_d(mr, D, kp, x, ldx, s + k, m + k, out + k);
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
  __m128d acc[MR_D][2];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    acc[r][0] = _mm_setzero_pd();
    acc[r][1] = _mm_setzero_pd();
  }
  for (size_t d = 0; d < D; ++d) {
    __m128d c0 = _mm_load_pd(c + d * kp);
    __m128d c1 = _mm_load_pd(c + d * kp + 2);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      __m128d xr = _mm_load1_pd(x + r * ldx + d);
      __m128d z0 = _mm_sub_pd(xr, c0);
      __m128d z1 = _mm_sub_pd(xr, c1);
      acc[r][0] = _mm_add_pd(acc[r][0], _mm_mul_pd(z0, z0));
      acc[r][1] = _mm_add_pd(acc[r][1], _mm_mul_pd(z1, z1));
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    _mm_store_pd(out + r * kp, acc[r][0]);
    _mm_store_pd(out + r * kp + 2, acc[r][1]);
  }
}

GMM_KINLINE void l2dist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                               double const *c, double *out)
{
  for (size_t k = 0; k < kp; k += 4) l2dist_tile_d(mr, D, kp, x, ldx, c + k, out + k);
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

static double dist_l2_d(size_t D, double const *x, double const *y)
{
  __m128d a0 = _mm_setzero_pd(), a1 = _mm_setzero_pd();
  size_t d = 0;
  for (; d + 4 <= D; d += 4) {
    __m128d z0 = _mm_sub_pd(_mm_loadu_pd(x + d), _mm_loadu_pd(y + d));
    __m128d z1 = _mm_sub_pd(_mm_loadu_pd(x + d + 2), _mm_loadu_pd(y + d + 2));
    a0 = _mm_add_pd(a0, _mm_mul_pd(z0, z0));
    a1 = _mm_add_pd(a1, _mm_mul_pd(z1, z1));
  }
  if (d + 2 <= D) {
    __m128d z0 = _mm_sub_pd(_mm_loadu_pd(x + d), _mm_loadu_pd(y + d));
    a0 = _mm_add_pd(a0, _mm_mul_pd(z0, z0));
    d += 2;
  }
  a0 = _mm_add_pd(a0, a1);
  double acc = _mm_cvtsd_f64(_mm_add_sd(a0, _mm_unpackhi_pd(a0, a0)));
  for (; d < D; ++d) {
    double z = x[d] - y[d];
    acc += z * z;
  }
  return acc;
}

static void accum_d(size_t D, double q, double const *x, double const *mu, double *s1,
                    double *s2)
{
  __m128d qv = _mm_set1_pd(q);
  size_t d = 0;
  for (; d + 2 <= D; d += 2) {
    __m128d z = _mm_sub_pd(_mm_loadu_pd(x + d), _mm_loadu_pd(mu + d));
    __m128d t = _mm_mul_pd(qv, z);
    _mm_storeu_pd(s1 + d, _mm_add_pd(_mm_loadu_pd(s1 + d), t));
    _mm_storeu_pd(s2 + d, _mm_add_pd(_mm_loadu_pd(s2 + d), _mm_mul_pd(t, z)));
  }
  for (; d < D; ++d) {
    double z = x[d] - mu[d];
    double t = q * z;
    s1[d] += t;
    s2[d] += t * z;
  }
}

/* moments, double: `nv` (1..4) vectors of 2 dimensions; accum_d's terms. */
GMM_KINLINE void moments_chunk_d(size_t nv, size_t nr, unsigned char const *rows,
                                 double const *q, size_t ldq, double const *x, size_t ldx,
                                 double const *mu, double *s1, double *s2)
{
  __m128d a1[4], a2[4], m[4];
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    a1[v] = a2[v] = _mm_setzero_pd();
    m[v] = _mm_loadu_pd(mu + 2 * v);
  }
  for (size_t r = 0; r < nr; ++r) {
    size_t const i = rows[r];
    __m128d const qv = _mm_set1_pd(q ? q[i * ldq] : 1.0);
    double const *xi = x + i * ldx;
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) {
      __m128d z = _mm_sub_pd(_mm_loadu_pd(xi + 2 * v), m[v]);
      __m128d t = _mm_mul_pd(qv, z);
      a1[v] = _mm_add_pd(a1[v], t);
      a2[v] = _mm_add_pd(a2[v], _mm_mul_pd(t, z));
    }
  }
  GMM_UNROLL
  for (size_t v = 0; v < nv; ++v) {
    _mm_storeu_pd(s1 + 2 * v, _mm_add_pd(_mm_loadu_pd(s1 + 2 * v), a1[v]));
    _mm_storeu_pd(s2 + 2 * v, _mm_add_pd(_mm_loadu_pd(s2 + 2 * v), a2[v]));
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
  for (; d + 8 <= D; d += 8)
    moments_chunk_d(4, nr, rows, q, ldq, x + d, ldx, mu + d, s1 + d, s2 + d);
  for (; d + 2 <= D; d += 2)
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
 *  1. l = c - d/2 (product and difference rounded separately, exactly as in
 *     the scalar reference), stored in place, running max in 4 vectors;
 *  2. e = exp(l - m) with the vector exp of vexp.h, stored in place, summed
 *     in the element type in 4 vectors, then reduced;
 *  3. q = e * (1/S) for k < K (vector stores for whole vectors, scalar code
 *     for the K tail: q rows may be unaligned, ldq arbitrary).
 * Padding columns have c = -inf, hence l = -inf and e = exp(-inf) = 0, so
 * whole vectors up to kp are processed and the padding adds nothing. A row
 * whose l are all -inf has m = -inf and l - m = NaN: its q and ll are NaN,
 * as in the scalar reference. max(l, mx) keeps mx where l is NaN, like the
 * scalar `l > lmax`. Differences from scalar: exp (vexp.h, < 1 ulp), the
 * summation order of S, and q = e * (1/S) instead of e / S. */

static float hmax128_f(__m128 v)
{
  v = _mm_max_ps(v, _mm_movehl_ps(v, v));
  v = _mm_max_ss(v, _mm_shuffle_ps(v, v, 1));
  return _mm_cvtss_f32(v);
}

/* One vector of pass 2: t = exp(t - m), added to the running sum. When every
 * lane is below the exp's zero bound (GMM_EXPF_ZERO / GMM_EXP_ZERO: vexp.h
 * returns exactly +0 there, and +0 adds nothing to the sum), the exp is not
 * evaluated: the same bits, and most vectors of an E-step row are far from
 * the point's best component. NaN lanes are evaluated (cmpnlt is true for
 * unordered operands). */
GMM_KINLINE __m128 exp_or_zero_f(float *t, __m128 mv, __m128 sum)
{
  __m128 const z = _mm_sub_ps(_mm_load_ps(t), mv);
  if (!_mm_movemask_ps(_mm_cmpnlt_ps(z, _mm_set1_ps(GMM_EXPF_ZERO)))) {
    _mm_store_ps(t, _mm_setzero_ps());
    return sum;
  }
  {
    __m128 const e = gmm_vexpf_sse2(z);
    _mm_store_ps(t, e);
    return _mm_add_ps(sum, e);
  }
}

GMM_KINLINE __m128d exp_or_zero_d(double *t, __m128d mv, __m128d sum)
{
  __m128d const z = _mm_sub_pd(_mm_load_pd(t), mv);
  if (!_mm_movemask_pd(_mm_cmpnlt_pd(z, _mm_set1_pd(GMM_EXP_ZERO)))) {
    _mm_store_pd(t, _mm_setzero_pd());
    return sum;
  }
  {
    __m128d const e = gmm_vexp_sse2(z);
    _mm_store_pd(t, e);
    return _mm_add_pd(sum, e);
  }
}

/* Rows per group: each pass runs over the group's rows before the next
 * pass starts, so the rows' serial steps (horizontal max and sum, 1/S, log)
 * overlap with the other rows' vector work. */
#define LSE_GROUP 8

static void lse_f(size_t n, size_t K, size_t kp, float const *c, float *tile, float *q,
                  size_t ldq, double *ll)
{
  __m128 const half = _mm_set1_ps(0.5f);
  for (size_t i0 = 0; i0 < n; i0 += LSE_GROUP) {
    size_t const g = n - i0 < LSE_GROUP ? n - i0 : LSE_GROUP;
    float m[LSE_GROUP], S[LSE_GROUP];
    for (size_t r = 0; r < g; ++r) {
      float *row = tile + (i0 + r) * kp;
      __m128 mx[4];
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) mx[j] = _mm_set1_ps(-INFINITY);
      for (size_t k = 0; k < kp; k += 16) {
        GMM_UNROLL
        for (int j = 0; j < 4; ++j) {
          float *t = row + k + 4 * j;
          __m128 l = _mm_sub_ps(_mm_load_ps(c + k + 4 * j), _mm_mul_ps(half, _mm_load_ps(t)));
          _mm_store_ps(t, l);
          mx[j] = _mm_max_ps(l, mx[j]);
        }
      }
      m[r] = hmax128_f(_mm_max_ps(_mm_max_ps(mx[0], mx[1]), _mm_max_ps(mx[2], mx[3])));
    }
    for (size_t r = 0; r < g; ++r) {
      float *row = tile + (i0 + r) * kp;
      __m128 const mv = _mm_set1_ps(m[r]);
      __m128 sm[4];
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) sm[j] = _mm_setzero_ps();
      for (size_t k = 0; k < kp; k += 16) {
        GMM_UNROLL
        for (int j = 0; j < 4; ++j) sm[j] = exp_or_zero_f(row + k + 4 * j, mv, sm[j]);
      }
      S[r] = hsum128_f(_mm_add_ps(_mm_add_ps(sm[0], sm[1]), _mm_add_ps(sm[2], sm[3])));
    }
    for (size_t r = 0; r < g; ++r) {
      float const *row = tile + (i0 + r) * kp;
      float *qi = q + (i0 + r) * ldq;
      float const inv = 1.0f / S[r];
      __m128 const iv = _mm_set1_ps(inv);
      size_t k = 0;
      for (; k + 4 <= K; k += 4) _mm_storeu_ps(qi + k, _mm_mul_ps(_mm_load_ps(row + k), iv));
      for (; k < K; ++k) qi[k] = row[k] * inv;
    }
    for (size_t r = 0; r < g; ++r) ll[i0 + r] = log((double)S[r]) + (double)m[r];
  }
}

static void lse_d(size_t n, size_t K, size_t kp, double const *c, double *tile, double *q,
                  size_t ldq, double *ll)
{
  __m128d const half = _mm_set1_pd(0.5);
  for (size_t i0 = 0; i0 < n; i0 += LSE_GROUP) {
    size_t const g = n - i0 < LSE_GROUP ? n - i0 : LSE_GROUP;
    double m[LSE_GROUP], S[LSE_GROUP];
    for (size_t r = 0; r < g; ++r) {
      double *row = tile + (i0 + r) * kp;
      __m128d mx[4];
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) mx[j] = _mm_set1_pd(-INFINITY);
      for (size_t k = 0; k < kp; k += 8) {
        GMM_UNROLL
        for (int j = 0; j < 4; ++j) {
          double *t = row + k + 2 * j;
          __m128d l = _mm_sub_pd(_mm_load_pd(c + k + 2 * j), _mm_mul_pd(half, _mm_load_pd(t)));
          _mm_store_pd(t, l);
          mx[j] = _mm_max_pd(l, mx[j]);
        }
      }
      {
        __m128d mm = _mm_max_pd(_mm_max_pd(mx[0], mx[1]), _mm_max_pd(mx[2], mx[3]));
        m[r] = _mm_cvtsd_f64(_mm_max_sd(mm, _mm_unpackhi_pd(mm, mm)));
      }
    }
    for (size_t r = 0; r < g; ++r) {
      double *row = tile + (i0 + r) * kp;
      __m128d const mv = _mm_set1_pd(m[r]);
      __m128d sm[4];
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) sm[j] = _mm_setzero_pd();
      for (size_t k = 0; k < kp; k += 8) {
        GMM_UNROLL
        for (int j = 0; j < 4; ++j) sm[j] = exp_or_zero_d(row + k + 2 * j, mv, sm[j]);
      }
      {
        __m128d ss = _mm_add_pd(_mm_add_pd(sm[0], sm[1]), _mm_add_pd(sm[2], sm[3]));
        S[r] = _mm_cvtsd_f64(_mm_add_sd(ss, _mm_unpackhi_pd(ss, ss)));
      }
    }
    for (size_t r = 0; r < g; ++r) {
      double const *row = tile + (i0 + r) * kp;
      double *qi = q + (i0 + r) * ldq;
      double const inv = 1.0 / S[r];
      __m128d const iv = _mm_set1_pd(inv);
      size_t k = 0;
      for (; k + 2 <= K; k += 2) _mm_storeu_pd(qi + k, _mm_mul_pd(_mm_load_pd(row + k), iv));
      for (; k < K; ++k) qi[k] = row[k] * inv;
    }
    for (size_t r = 0; r < g; ++r) ll[i0 + r] = log(S[r]) + m[r];
  }
}

/* Test hook: y = exp(x) with this level's vector exp. */
static void vexp_f(size_t n, float const *x, float *y)
{
  size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, gmm_vexpf_sse2(_mm_loadu_ps(x + i)));
  if (i < n) {
    float buf[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < n - i; ++j) buf[j] = x[i + j];
    _mm_storeu_ps(buf, gmm_vexpf_sse2(_mm_loadu_ps(buf)));
    for (size_t j = 0; j < n - i; ++j) y[i + j] = buf[j];
  }
}

static void vexp_d(size_t n, double const *x, double *y)
{
  size_t i = 0;
  for (; i + 2 <= n; i += 2) _mm_storeu_pd(y + i, gmm_vexp_sse2(_mm_loadu_pd(x + i)));
  if (i < n) {
    double buf[2] = {x[i], 0};
    _mm_storeu_pd(buf, gmm_vexp_sse2(_mm_loadu_pd(buf)));
    y[i] = buf[0];
  }
}

/* Selection: compare a vector of posteriors with the threshold, add it to the
 * column sums, and walk the bits of the comparison mask (usually empty). */
static size_t select_f(size_t K, float const *q, float thr, float *colsum, vl_uint32 *idx)
{
  __m128 const t = _mm_set1_ps(thr);
  size_t k = 0, n = 0;
  for (; k + 4 <= K; k += 4) {
    __m128 const v = _mm_loadu_ps(q + k);
    unsigned m = (unsigned)_mm_movemask_ps(_mm_cmpge_ps(v, t));
    _mm_storeu_ps(colsum + k, _mm_add_ps(_mm_loadu_ps(colsum + k), v));
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
  __m128d const t = _mm_set1_pd(thr);
  size_t k = 0, n = 0;
  for (; k + 2 <= K; k += 2) {
    __m128d const v = _mm_loadu_pd(q + k);
    unsigned m = (unsigned)_mm_movemask_pd(_mm_cmpge_pd(v, t));
    _mm_storeu_pd(colsum + k, _mm_add_pd(_mm_loadu_pd(colsum + k), v));
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

/* ---- row copies ---------------------------------------------------------- */

/* `bytes` of each of n rows: non-temporal 16-byte stores from the first
 * aligned byte of a row (the lines are filled whole in the write-combining
 * buffers), plain copies for the head and tail; one fence at the end. The
 * float and double copies are this one, by bytes (a copy is exact). */
static void copy_rows_bytes(size_t n, size_t bytes, char const *src, size_t lds, char *dst,
                            size_t ldd)
{
  for (size_t i = 0; i < n; ++i) {
    char const *s = src + i * lds;
    char *d = dst + i * ldd;
    size_t k = (16u - ((uintptr_t)d & 15u)) & 15u;
    if (k > bytes) k = bytes;
    memcpy(d, s, k);
    for (; k + 16 <= bytes; k += 16)
      _mm_stream_si128((__m128i *)(void *)(d + k),
                       _mm_loadu_si128((__m128i const *)(void const *)(s + k)));
    memcpy(d + k, s + k, bytes - k);
  }
  _mm_sfence();
}

void gmm_copy_rows_sse2_f(size_t n, size_t K, float const *src, size_t lds, float *dst, size_t ldd)
{
  copy_rows_bytes(n, K * sizeof *src, (char const *)src, lds * sizeof *src, (char *)dst,
                  ldd * sizeof *dst);
}

void gmm_copy_rows_sse2_d(size_t n, size_t K, double const *src, size_t lds, double *dst,
                          size_t ldd)
{
  copy_rows_bytes(n, K * sizeof *src, (char const *)src, lds * sizeof *src, (char *)dst,
                  ldd * sizeof *dst);
}

gmm_kernels const gmm_kernels_sse2 = {
  .name = "sse2",
  .level = VL_SIMD_SSE2,
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
  .chol_dist_f = gmm_chol_dist_scalar_f,
  .chol_dist_d = gmm_chol_dist_scalar_d,
  .chol_whiten_f = gmm_chol_whiten_scalar_f,
  .chol_whiten_d = gmm_chol_whiten_scalar_d,
  .scatter_f = gmm_scatter_scalar_f,
  .scatter_d = gmm_scatter_scalar_d,
  .copy_rows_f = gmm_copy_rows_sse2_f,
  .copy_rows_d = gmm_copy_rows_sse2_d,
  .fisher_terms_f = gmm_fisher_terms_scalar_f,
  .fisher_terms_d = gmm_fisher_terms_scalar_d,
  .eparams_row_f = gmm_eparams_row_scalar_f,
  .eparams_row_d = gmm_eparams_row_scalar_d,
  .all_above_f = gmm_all_above_scalar_f,
  .all_above_d = gmm_all_above_scalar_d,
  .vexp_f = vexp_f,
  .vexp_d = vexp_d,
};

#endif /* __SSE2__ */
