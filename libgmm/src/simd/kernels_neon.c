/* kernels_neon.c: the kernel table for aarch64 Advanced SIMD ("NEON";
 * 128-bit q registers, 32 of them; part of every ARMv8-A CPU, so no runtime
 * check).
 *
 * Instructions: ld1/st1 (vld1q, vst1q), ld1r (vld1q_dup: load and broadcast),
 * fsub, fmul, fadd, and the fused fmla/fmls (vfmaq, vfmsq) on 4 floats or
 * 2 doubles; fcvtl/fcvtl2 (float -> double) in accum; fmaxnm/fmaxnmv and
 * faddp/faddv reductions in lse and dist_l2; fcmge and umaxv in select; for
 * the exp of vexp.h also fmax/fmin, frintn, fcvtzs and the integer
 * add/sub/shift forms (add, sub, sshr, shl). Nothing beyond ARMv8.0-A.
 *
 * Precision: every kernel computes in the element type (float or double),
 * like the scalar reference. The tile kernels keep the scalar order of
 * summation over d; they differ from scalar only because x*s - m and
 * acc + z*z are each rounded once (FMA) instead of twice. (wdist computes
 * m - x*s with fmls: the negation of x*s - m rounded once, and only its
 * square is used.) dist_l2 and accum also use FMA, and dist_l2 sums over d in
 * vector lanes, then reduces them, so its summation order differs from
 * scalar. lse uses the vector exp of vexp.h (about 1 ulp, measured in
 * tests/test_kernels.c, table in vexp.h) and sums S in lanes. accum's
 * s2 += (double)t * (double)z is exact in double whether fused or not (a
 * product of two floats has at most 48 significant bits), so accum_f's s2
 * equals scalar's; select is bit for bit the scalar result.
 *
 * Tiling of wdist/l2dist: MR = 3 points x 16 components (4 float vectors)
 * resp. 8 components (4 double vectors). The 12 accumulators, 4 vectors of
 * s and 4 of m stay in the 32 q registers while d runs innermost;
 * x[i*ldx + d] is loaded and broadcast once per point and d (ld1r). As on
 * x86, point blocks are walked row-tile by row-tile, components innermost.
 */
#if !(defined(__aarch64__) || defined(_M_ARM64))
#error "kernels_neon.c is for aarch64 (64-bit ARM) only"
#else

#include <math.h>
#include <arm_neon.h>

#include "simd/kernels.h"
#include "simd/kinline.h"
#include "simd/vexp.h"

/* Rows per tile: 3 x 4 accumulators + 4 s + 4 m + the broadcast x and the
 * temporaries fit the 32 registers with GCC 12 and clang 14 alike (4 rows
 * made GCC spill accumulators in the d loop); 12 independent accumulator
 * chains cover the FMA latency on two to four FP pipes. */
#define MR 3
/* Vectors per tile row (16 floats = GMM_KPAD, or 8 doubles). */
#define NV 4

/* ---- float -------------------------------------------------------------- */

/* One tile: `mr` (constant after inlining) points, 16 components starting
 * at s, m, out (already offset to the tile's column). */
GMM_KINLINE void wdist_tile_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                              float const *s, float const *m, float *out)
{
  float32x4_t acc[MR][NV];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f32(0.0f);
  }
  for (size_t d = 0; d < D; ++d) {
    float32x4_t sv[NV], mv[NV];
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) {
      sv[v] = vld1q_f32(s + d * kp + 4 * v);
      mv[v] = vld1q_f32(m + d * kp + 4 * v);
    }
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      float32x4_t const xr = vld1q_dup_f32(x + r * ldx + d);
      GMM_UNROLL
      for (int v = 0; v < NV; ++v) {
        float32x4_t const z = vfmsq_f32(mv[v], xr, sv[v]); /* -(x s - m), rounded once */
        acc[r][v] = vfmaq_f32(acc[r][v], z, z);
      }
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) vst1q_f32(out + r * kp + 4 * v, acc[r][v]);
  }
}

GMM_KINLINE void wdist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                              float const *s, float const *m, float *out)
{
  for (size_t k = 0; k < kp; k += 4 * NV) wdist_tile_f(mr, D, kp, x, ldx, s + k, m + k, out + k);
}

static void wdist_f(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                    float const *s, float const *m, float *out)
{
  size_t i = 0;
  for (; i + MR <= n; i += MR) wdist_rows_f(MR, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
  switch (n - i) {
    case 2: wdist_rows_f(2, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    case 1: wdist_rows_f(1, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    default: break;
  }
}

GMM_KINLINE void l2dist_tile_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                               float const *c, float *out)
{
  float32x4_t acc[MR][NV];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f32(0.0f);
  }
  for (size_t d = 0; d < D; ++d) {
    float32x4_t cv[NV];
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) cv[v] = vld1q_f32(c + d * kp + 4 * v);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      float32x4_t const xr = vld1q_dup_f32(x + r * ldx + d);
      GMM_UNROLL
      for (int v = 0; v < NV; ++v) {
        float32x4_t const z = vsubq_f32(xr, cv[v]);
        acc[r][v] = vfmaq_f32(acc[r][v], z, z);
      }
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) vst1q_f32(out + r * kp + 4 * v, acc[r][v]);
  }
}

GMM_KINLINE void l2dist_rows_f(size_t mr, size_t D, size_t kp, float const *x, size_t ldx,
                               float const *c, float *out)
{
  for (size_t k = 0; k < kp; k += 4 * NV) l2dist_tile_f(mr, D, kp, x, ldx, c + k, out + k);
}

static void l2dist_f(size_t n, size_t D, size_t kp, float const *x, size_t ldx,
                     float const *c, float *out)
{
  size_t i = 0;
  for (; i + MR <= n; i += MR) l2dist_rows_f(MR, D, kp, x + i * ldx, ldx, c, out + i * kp);
  switch (n - i) {
    case 2: l2dist_rows_f(2, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 1: l2dist_rows_f(1, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    default: break;
  }
}

static float dist_l2_f(size_t D, float const *x, float const *y)
{
  float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
  size_t d = 0;
  for (; d + 16 <= D; d += 16) {
    float32x4_t z0 = vsubq_f32(vld1q_f32(x + d), vld1q_f32(y + d));
    float32x4_t z1 = vsubq_f32(vld1q_f32(x + d + 4), vld1q_f32(y + d + 4));
    float32x4_t z2 = vsubq_f32(vld1q_f32(x + d + 8), vld1q_f32(y + d + 8));
    float32x4_t z3 = vsubq_f32(vld1q_f32(x + d + 12), vld1q_f32(y + d + 12));
    a0 = vfmaq_f32(a0, z0, z0);
    a1 = vfmaq_f32(a1, z1, z1);
    a2 = vfmaq_f32(a2, z2, z2);
    a3 = vfmaq_f32(a3, z3, z3);
  }
  for (; d + 4 <= D; d += 4) {
    float32x4_t z0 = vsubq_f32(vld1q_f32(x + d), vld1q_f32(y + d));
    a0 = vfmaq_f32(a0, z0, z0);
  }
  float acc = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
  for (; d < D; ++d) {
    float z = x[d] - y[d];
    acc += z * z;
  }
  return acc;
}

static void accum_f(size_t D, float q, float const *x, float const *mu, float *s1, double *s2)
{
  float32x4_t const qv = vdupq_n_f32(q);
  size_t d = 0;
  for (; d + 4 <= D; d += 4) {
    float32x4_t z = vsubq_f32(vld1q_f32(x + d), vld1q_f32(mu + d));
    float32x4_t t = vmulq_f32(qv, z);
    vst1q_f32(s1 + d, vaddq_f32(vld1q_f32(s1 + d), t));
    /* (double)t * (double)z is exact: fused or not, s2 gets one rounding */
    float64x2_t zl = vcvt_f64_f32(vget_low_f32(z)), zh = vcvt_high_f64_f32(z);
    float64x2_t tl = vcvt_f64_f32(vget_low_f32(t)), th = vcvt_high_f64_f32(t);
    vst1q_f64(s2 + d, vfmaq_f64(vld1q_f64(s2 + d), tl, zl));
    vst1q_f64(s2 + d + 2, vfmaq_f64(vld1q_f64(s2 + d + 2), th, zh));
  }
  for (; d < D; ++d) {
    float z = x[d] - mu[d];
    float t = q * z;
    s1[d] += t;
    s2[d] += (double)t * (double)z;
  }
}

/* ---- double ------------------------------------------------------------- */

/* One tile: `mr` points, 8 components (4 vectors of 2 doubles). */
GMM_KINLINE void wdist_tile_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                              double const *s, double const *m, double *out)
{
  float64x2_t acc[MR][NV];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f64(0.0);
  }
  for (size_t d = 0; d < D; ++d) {
    float64x2_t sv[NV], mv[NV];
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) {
      sv[v] = vld1q_f64(s + d * kp + 2 * v);
      mv[v] = vld1q_f64(m + d * kp + 2 * v);
    }
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      float64x2_t const xr = vld1q_dup_f64(x + r * ldx + d);
      GMM_UNROLL
      for (int v = 0; v < NV; ++v) {
        float64x2_t const z = vfmsq_f64(mv[v], xr, sv[v]);
        acc[r][v] = vfmaq_f64(acc[r][v], z, z);
      }
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) vst1q_f64(out + r * kp + 2 * v, acc[r][v]);
  }
}

GMM_KINLINE void wdist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                              double const *s, double const *m, double *out)
{
  for (size_t k = 0; k < kp; k += 2 * NV) wdist_tile_d(mr, D, kp, x, ldx, s + k, m + k, out + k);
}

static void wdist_d(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                    double const *s, double const *m, double *out)
{
  size_t i = 0;
  for (; i + MR <= n; i += MR) wdist_rows_d(MR, D, kp, x + i * ldx, ldx, s, m, out + i * kp);
  switch (n - i) {
    case 2: wdist_rows_d(2, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    case 1: wdist_rows_d(1, D, kp, x + i * ldx, ldx, s, m, out + i * kp); break;
    default: break;
  }
}

GMM_KINLINE void l2dist_tile_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                               double const *c, double *out)
{
  float64x2_t acc[MR][NV];
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f64(0.0);
  }
  for (size_t d = 0; d < D; ++d) {
    float64x2_t cv[NV];
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) cv[v] = vld1q_f64(c + d * kp + 2 * v);
    GMM_UNROLL
    for (size_t r = 0; r < mr; ++r) {
      float64x2_t const xr = vld1q_dup_f64(x + r * ldx + d);
      GMM_UNROLL
      for (int v = 0; v < NV; ++v) {
        float64x2_t const z = vsubq_f64(xr, cv[v]);
        acc[r][v] = vfmaq_f64(acc[r][v], z, z);
      }
    }
  }
  GMM_UNROLL
  for (size_t r = 0; r < mr; ++r) {
    GMM_UNROLL
    for (int v = 0; v < NV; ++v) vst1q_f64(out + r * kp + 2 * v, acc[r][v]);
  }
}

GMM_KINLINE void l2dist_rows_d(size_t mr, size_t D, size_t kp, double const *x, size_t ldx,
                               double const *c, double *out)
{
  for (size_t k = 0; k < kp; k += 2 * NV) l2dist_tile_d(mr, D, kp, x, ldx, c + k, out + k);
}

static void l2dist_d(size_t n, size_t D, size_t kp, double const *x, size_t ldx,
                     double const *c, double *out)
{
  size_t i = 0;
  for (; i + MR <= n; i += MR) l2dist_rows_d(MR, D, kp, x + i * ldx, ldx, c, out + i * kp);
  switch (n - i) {
    case 2: l2dist_rows_d(2, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    case 1: l2dist_rows_d(1, D, kp, x + i * ldx, ldx, c, out + i * kp); break;
    default: break;
  }
}

static double dist_l2_d(size_t D, double const *x, double const *y)
{
  float64x2_t a0 = vdupq_n_f64(0.0), a1 = a0, a2 = a0, a3 = a0;
  size_t d = 0;
  for (; d + 8 <= D; d += 8) {
    float64x2_t z0 = vsubq_f64(vld1q_f64(x + d), vld1q_f64(y + d));
    float64x2_t z1 = vsubq_f64(vld1q_f64(x + d + 2), vld1q_f64(y + d + 2));
    float64x2_t z2 = vsubq_f64(vld1q_f64(x + d + 4), vld1q_f64(y + d + 4));
    float64x2_t z3 = vsubq_f64(vld1q_f64(x + d + 6), vld1q_f64(y + d + 6));
    a0 = vfmaq_f64(a0, z0, z0);
    a1 = vfmaq_f64(a1, z1, z1);
    a2 = vfmaq_f64(a2, z2, z2);
    a3 = vfmaq_f64(a3, z3, z3);
  }
  for (; d + 2 <= D; d += 2) {
    float64x2_t z0 = vsubq_f64(vld1q_f64(x + d), vld1q_f64(y + d));
    a0 = vfmaq_f64(a0, z0, z0);
  }
  double acc = vaddvq_f64(vaddq_f64(vaddq_f64(a0, a1), vaddq_f64(a2, a3)));
  for (; d < D; ++d) {
    double z = x[d] - y[d];
    acc += z * z;
  }
  return acc;
}

static void accum_d(size_t D, double q, double const *x, double const *mu, double *s1,
                    double *s2)
{
  float64x2_t const qv = vdupq_n_f64(q);
  size_t d = 0;
  for (; d + 2 <= D; d += 2) {
    float64x2_t z = vsubq_f64(vld1q_f64(x + d), vld1q_f64(mu + d));
    float64x2_t t = vmulq_f64(qv, z);
    vst1q_f64(s1 + d, vaddq_f64(vld1q_f64(s1 + d), t));
    vst1q_f64(s2 + d, vfmaq_f64(vld1q_f64(s2 + d), t, z));
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
 * Per row, three passes over the kp columns of the tile (L1 resident), as
 * in the x86 files:
 *  1. l = c - d/2 (fmls; d/2 is exact, so l is the scalar value), stored in
 *     place, running max in 4 vectors;
 *  2. e = exp(l - m) with the vector exp of vexp.h, stored in place, summed
 *     in the element type in 4 vectors, then reduced;
 *  3. q = e * (1/S) for k < K (vector stores for whole vectors, scalar code
 *     for the K tail: q rows may be unaligned, ldq arbitrary).
 * Padding columns have c = -inf, hence l = -inf and e = exp(-inf) = 0, so
 * whole vectors up to kp are processed and the padding adds nothing. A row
 * whose l are all -inf has m = -inf and l - m = NaN: its q and ll are NaN,
 * as in the scalar reference. The running max uses fmaxnm, which keeps the
 * number when l is NaN, like the scalar `l > lmax`. Differences from scalar:
 * exp (vexp.h), the summation order of S, and q = e * (1/S) instead of e / S. */

static void lse_f(size_t n, size_t K, size_t kp, float const *c, float *tile, float *q,
                  size_t ldq, double *ll)
{
  float32x4_t const half = vdupq_n_f32(0.5f);
  for (size_t i = 0; i < n; ++i) {
    float *row = tile + i * kp, *qi = q + i * ldq;
    float32x4_t mx[NV], sm[NV];
    GMM_UNROLL
    for (int j = 0; j < NV; ++j) {
      mx[j] = vdupq_n_f32(-INFINITY);
      sm[j] = vdupq_n_f32(0.0f);
    }
    for (size_t k = 0; k < kp; k += 4 * NV) {
      GMM_UNROLL
      for (int j = 0; j < NV; ++j) {
        float *t = row + k + 4 * j;
        float32x4_t l = vfmsq_f32(vld1q_f32(c + k + 4 * j), half, vld1q_f32(t));
        vst1q_f32(t, l);
        mx[j] = vmaxnmq_f32(mx[j], l);
      }
    }
    float const m = vmaxnmvq_f32(vmaxnmq_f32(vmaxnmq_f32(mx[0], mx[1]), vmaxnmq_f32(mx[2], mx[3])));
    float32x4_t const mv = vdupq_n_f32(m);
    for (size_t k = 0; k < kp; k += 4 * NV) {
      GMM_UNROLL
      for (int j = 0; j < NV; ++j) {
        float *t = row + k + 4 * j;
        float32x4_t e = gmm_vexpf_neon(vsubq_f32(vld1q_f32(t), mv));
        vst1q_f32(t, e);
        sm[j] = vaddq_f32(sm[j], e);
      }
    }
    float const S = vaddvq_f32(vaddq_f32(vaddq_f32(sm[0], sm[1]), vaddq_f32(sm[2], sm[3])));
    float const inv = 1.0f / S;
    float32x4_t const iv = vdupq_n_f32(inv);
    size_t k = 0;
    for (; k + 4 <= K; k += 4) vst1q_f32(qi + k, vmulq_f32(vld1q_f32(row + k), iv));
    for (; k < K; ++k) qi[k] = row[k] * inv;
    ll[i] = log((double)S) + (double)m;
  }
}

static void lse_d(size_t n, size_t K, size_t kp, double const *c, double *tile, double *q,
                  size_t ldq, double *ll)
{
  float64x2_t const half = vdupq_n_f64(0.5);
  for (size_t i = 0; i < n; ++i) {
    double *row = tile + i * kp, *qi = q + i * ldq;
    float64x2_t mx[NV], sm[NV];
    GMM_UNROLL
    for (int j = 0; j < NV; ++j) {
      mx[j] = vdupq_n_f64(-INFINITY);
      sm[j] = vdupq_n_f64(0.0);
    }
    for (size_t k = 0; k < kp; k += 2 * NV) {
      GMM_UNROLL
      for (int j = 0; j < NV; ++j) {
        double *t = row + k + 2 * j;
        float64x2_t l = vfmsq_f64(vld1q_f64(c + k + 2 * j), half, vld1q_f64(t));
        vst1q_f64(t, l);
        mx[j] = vmaxnmq_f64(mx[j], l);
      }
    }
    double const m = vmaxnmvq_f64(vmaxnmq_f64(vmaxnmq_f64(mx[0], mx[1]), vmaxnmq_f64(mx[2], mx[3])));
    float64x2_t const mv = vdupq_n_f64(m);
    for (size_t k = 0; k < kp; k += 2 * NV) {
      GMM_UNROLL
      for (int j = 0; j < NV; ++j) {
        double *t = row + k + 2 * j;
        float64x2_t e = gmm_vexp_neon(vsubq_f64(vld1q_f64(t), mv));
        vst1q_f64(t, e);
        sm[j] = vaddq_f64(sm[j], e);
      }
    }
    double const S = vaddvq_f64(vaddq_f64(vaddq_f64(sm[0], sm[1]), vaddq_f64(sm[2], sm[3])));
    double const inv = 1.0 / S;
    float64x2_t const iv = vdupq_n_f64(inv);
    size_t k = 0;
    for (; k + 2 <= K; k += 2) vst1q_f64(qi + k, vmulq_f64(vld1q_f64(row + k), iv));
    for (; k < K; ++k) qi[k] = row[k] * inv;
    ll[i] = log(S) + m;
  }
}

/* Test hook: y = exp(x) with this level's vector exp. */
static void vexp_f(size_t n, float const *x, float *y)
{
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, gmm_vexpf_neon(vld1q_f32(x + i)));
  if (i < n) {
    float buf[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < n - i; ++j) buf[j] = x[i + j];
    vst1q_f32(buf, gmm_vexpf_neon(vld1q_f32(buf)));
    for (size_t j = 0; j < n - i; ++j) y[i + j] = buf[j];
  }
}

static void vexp_d(size_t n, double const *x, double *y)
{
  size_t i = 0;
  for (; i + 2 <= n; i += 2) vst1q_f64(y + i, gmm_vexp_neon(vld1q_f64(x + i)));
  if (i < n) {
    double buf[2] = {x[i], 0};
    vst1q_f64(buf, gmm_vexp_neon(vld1q_f64(buf)));
    y[i] = buf[0];
  }
}

/* Selection: compare a vector of posteriors with the threshold, add it to
 * the column sums, and look at the lanes only when some lane passed (umaxv
 * of the comparison mask; usually none does). */
static size_t select_f(size_t K, float const *q, float thr, float *colsum, vl_uint32 *idx)
{
  float32x4_t const t = vdupq_n_f32(thr);
  size_t k = 0, n = 0;
  for (; k + 4 <= K; k += 4) {
    float32x4_t const v = vld1q_f32(q + k);
    uint32x4_t const ge = vcgeq_f32(v, t);
    vst1q_f32(colsum + k, vaddq_f32(vld1q_f32(colsum + k), v));
    if (vmaxvq_u32(ge)) {
      if (vgetq_lane_u32(ge, 0)) idx[n++] = (vl_uint32)k;
      if (vgetq_lane_u32(ge, 1)) idx[n++] = (vl_uint32)(k + 1);
      if (vgetq_lane_u32(ge, 2)) idx[n++] = (vl_uint32)(k + 2);
      if (vgetq_lane_u32(ge, 3)) idx[n++] = (vl_uint32)(k + 3);
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
  float64x2_t const t = vdupq_n_f64(thr);
  size_t k = 0, n = 0;
  for (; k + 2 <= K; k += 2) {
    float64x2_t const v = vld1q_f64(q + k);
    uint64x2_t const ge = vcgeq_f64(v, t);
    vst1q_f64(colsum + k, vaddq_f64(vld1q_f64(colsum + k), v));
    if (vmaxvq_u32(vreinterpretq_u32_u64(ge))) {
      if (vgetq_lane_u64(ge, 0)) idx[n++] = (vl_uint32)k;
      if (vgetq_lane_u64(ge, 1)) idx[n++] = (vl_uint32)(k + 1);
    }
  }
  for (; k < K; ++k) {
    colsum[k] += q[k];
    if (q[k] >= thr) idx[n++] = (vl_uint32)k;
  }
  return n;
}

gmm_kernels const gmm_kernels_neon = {
  .name = "neon",
  .level = VL_SIMD_NEON,
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
  /* the covariance-type kernels: the scalar ones (no NEON versions yet) */
  .chol_dist_f = gmm_chol_dist_scalar_f,
  .chol_dist_d = gmm_chol_dist_scalar_d,
  .chol_whiten_f = gmm_chol_whiten_scalar_f,
  .chol_whiten_d = gmm_chol_whiten_scalar_d,
  .scatter_f = gmm_scatter_scalar_f,
  .scatter_d = gmm_scatter_scalar_d,
  .vexp_f = vexp_f,
  .vexp_d = vexp_d,
};

#endif /* aarch64 */
