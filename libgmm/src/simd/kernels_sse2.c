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

/* ---- log-sum-exp (E-step posteriors) -------------------------------------
 *
 * Per row, three passes over the kp columns of the tile (L1 resident):
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

static void lse_f(size_t n, size_t K, size_t kp, float const *c, float *tile, float *q,
                  size_t ldq, double *ll)
{
  __m128 const half = _mm_set1_ps(0.5f);
  for (size_t i = 0; i < n; ++i) {
    float *row = tile + i * kp, *qi = q + i * ldq;
    __m128 mx[4], sm[4];
    GMM_UNROLL
    for (int j = 0; j < 4; ++j) {
      mx[j] = _mm_set1_ps(-INFINITY);
      sm[j] = _mm_setzero_ps();
    }
    for (size_t k = 0; k < kp; k += 16) {
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) {
        float *t = row + k + 4 * j;
        __m128 l = _mm_sub_ps(_mm_load_ps(c + k + 4 * j), _mm_mul_ps(half, _mm_load_ps(t)));
        _mm_store_ps(t, l);
        mx[j] = _mm_max_ps(l, mx[j]);
      }
    }
    float const m = hmax128_f(_mm_max_ps(_mm_max_ps(mx[0], mx[1]), _mm_max_ps(mx[2], mx[3])));
    __m128 const mv = _mm_set1_ps(m);
    for (size_t k = 0; k < kp; k += 16) {
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) {
        float *t = row + k + 4 * j;
        __m128 e = gmm_vexpf_sse2(_mm_sub_ps(_mm_load_ps(t), mv));
        _mm_store_ps(t, e);
        sm[j] = _mm_add_ps(sm[j], e);
      }
    }
    float const S = hsum128_f(_mm_add_ps(_mm_add_ps(sm[0], sm[1]), _mm_add_ps(sm[2], sm[3])));
    float const inv = 1.0f / S;
    __m128 const iv = _mm_set1_ps(inv);
    size_t k = 0;
    for (; k + 4 <= K; k += 4) _mm_storeu_ps(qi + k, _mm_mul_ps(_mm_load_ps(row + k), iv));
    for (; k < K; ++k) qi[k] = row[k] * inv;
    ll[i] = log((double)S) + (double)m;
  }
}

static void lse_d(size_t n, size_t K, size_t kp, double const *c, double *tile, double *q,
                  size_t ldq, double *ll)
{
  __m128d const half = _mm_set1_pd(0.5);
  for (size_t i = 0; i < n; ++i) {
    double *row = tile + i * kp, *qi = q + i * ldq;
    __m128d mx[4], sm[4];
    GMM_UNROLL
    for (int j = 0; j < 4; ++j) {
      mx[j] = _mm_set1_pd(-INFINITY);
      sm[j] = _mm_setzero_pd();
    }
    for (size_t k = 0; k < kp; k += 8) {
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) {
        double *t = row + k + 2 * j;
        __m128d l = _mm_sub_pd(_mm_load_pd(c + k + 2 * j), _mm_mul_pd(half, _mm_load_pd(t)));
        _mm_store_pd(t, l);
        mx[j] = _mm_max_pd(l, mx[j]);
      }
    }
    __m128d mm = _mm_max_pd(_mm_max_pd(mx[0], mx[1]), _mm_max_pd(mx[2], mx[3]));
    double const m = _mm_cvtsd_f64(_mm_max_sd(mm, _mm_unpackhi_pd(mm, mm)));
    __m128d const mv = _mm_set1_pd(m);
    for (size_t k = 0; k < kp; k += 8) {
      GMM_UNROLL
      for (int j = 0; j < 4; ++j) {
        double *t = row + k + 2 * j;
        __m128d e = gmm_vexp_sse2(_mm_sub_pd(_mm_load_pd(t), mv));
        _mm_store_pd(t, e);
        sm[j] = _mm_add_pd(sm[j], e);
      }
    }
    __m128d ss = _mm_add_pd(_mm_add_pd(sm[0], sm[1]), _mm_add_pd(sm[2], sm[3]));
    double const S = _mm_cvtsd_f64(_mm_add_sd(ss, _mm_unpackhi_pd(ss, ss)));
    double const inv = 1.0 / S;
    __m128d const iv = _mm_set1_pd(inv);
    size_t k = 0;
    for (; k + 2 <= K; k += 2) _mm_storeu_pd(qi + k, _mm_mul_pd(_mm_load_pd(row + k), iv));
    for (; k < K; ++k) qi[k] = row[k] * inv;
    ll[i] = log(S) + m;
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

gmm_kernels const gmm_kernels_sse2 = {
  .name = "sse2",
  .level = VL_SIMD_SSE2,
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
  .chol_dist_f = gmm_chol_dist_scalar_f,
  .chol_dist_d = gmm_chol_dist_scalar_d,
  .chol_whiten_f = gmm_chol_whiten_scalar_f,
  .chol_whiten_d = gmm_chol_whiten_scalar_d,
  .scatter_f = gmm_scatter_scalar_f,
  .scatter_d = gmm_scatter_scalar_d,
  .vexp_f = vexp_f,
  .vexp_d = vexp_d,
};

#endif /* __SSE2__ */
