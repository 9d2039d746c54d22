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
#include "util/template.h"

/* Rows per tile: 3 x 4 accumulators + 4 s + 4 m + the broadcast x and the
 * temporaries fit the 32 registers with GCC 12 and clang 14 alike (4 rows
 * made GCC spill accumulators in the d loop); 12 independent accumulator
 * chains cover the FMA latency on two to four FP pipes. */
#define MR 3
/* Vectors per tile row (16 floats = GMM_KPAD, or 8 doubles). */
#define NV 4

/* ---- the kernels written once for both types (kernels_neon.tc) ------- */

#define T float
#define SFX f
#define V float32x4_t
#define VL 4
#define V_DUP(x) vdupq_n_f32(x)
#define V_LOAD(p) vld1q_f32(p)
#define V_STORE(p, v) vst1q_f32(p, v)
#define V_LOAD_DUP(p) vld1q_dup_f32(p)
#define V_ADD(a, b) vaddq_f32(a, b)
#define V_SUB(a, b) vsubq_f32(a, b)
#define V_MUL(a, b) vmulq_f32(a, b)
#define V_MAXNM(a, b) vmaxnmq_f32(a, b)
#define V_FMA(a, b, c) vfmaq_f32(a, b, c)
#define V_FMS(a, b, c) vfmsq_f32(a, b, c)
#define V_ADDV(v) vaddvq_f32(v)
#define V_MAXNMV(v) vmaxnmvq_f32(v)
#define V_EXP(v) gmm_vexpf_neon(v)
#include "simd/kernels_neon.tc"

#define T double
#define SFX d
#define V float64x2_t
#define VL 2
#define V_DUP(x) vdupq_n_f64(x)
#define V_LOAD(p) vld1q_f64(p)
#define V_STORE(p, v) vst1q_f64(p, v)
#define V_LOAD_DUP(p) vld1q_dup_f64(p)
#define V_ADD(a, b) vaddq_f64(a, b)
#define V_SUB(a, b) vsubq_f64(a, b)
#define V_MUL(a, b) vmulq_f64(a, b)
#define V_MAXNM(a, b) vmaxnmq_f64(a, b)
#define V_FMA(a, b, c) vfmaq_f64(a, b, c)
#define V_FMS(a, b, c) vfmsq_f64(a, b, c)
#define V_ADDV(v) vaddvq_f64(v)
#define V_MAXNMV(v) vmaxnmvq_f64(v)
#define V_EXP(v) gmm_vexp_neon(v)
#include "simd/kernels_neon.tc"

/* ---- accumulation (float keeps s2 in double) ---------------------------- */

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

/* moments (see kernels.h) as accum of every listed row into sums that start
 * at zero, then added to the outputs: the same bits as accum by
 * construction. Dimensions go in chunks of 64 (a multiple of the vector
 * width, so each dimension takes accum's vector or tail path as it would
 * over all D); the chunk's sums live on the stack. */
#define MOMENTS_CHUNK 64
static void moments_f(size_t D, size_t nr, unsigned char const *rows, float const *q, size_t ldq,
                      float const *x, size_t ldx, float const *mu, double *s0, double *s1,
                      double *s2)
{
  float a = 0;
  for (size_t r = 0; r < nr; ++r) a += q ? q[rows[r] * ldq] : 1.0f;
  *s0 += (double)a;
  for (size_t d0 = 0; d0 < D; d0 += MOMENTS_CHUNK) {
    size_t const dn = D - d0 < MOMENTS_CHUNK ? D - d0 : MOMENTS_CHUNK;
    float a1[MOMENTS_CHUNK] = {0};
    double a2[MOMENTS_CHUNK] = {0};
    for (size_t r = 0; r < nr; ++r)
      accum_f(dn, q ? q[rows[r] * ldq] : 1.0f, x + rows[r] * ldx + d0, mu + d0, a1, a2);
    for (size_t d = 0; d < dn; ++d) {
      s1[d0 + d] += (double)a1[d];
      s2[d0 + d] += a2[d];
    }
  }
}

static void moments_d(size_t D, size_t nr, unsigned char const *rows, double const *q,
                      size_t ldq, double const *x, size_t ldx, double const *mu, double *s0,
                      double *s1, double *s2)
{
  double a = 0;
  for (size_t r = 0; r < nr; ++r) a += q ? q[rows[r] * ldq] : 1.0;
  *s0 += a;
  for (size_t d0 = 0; d0 < D; d0 += MOMENTS_CHUNK) {
    size_t const dn = D - d0 < MOMENTS_CHUNK ? D - d0 : MOMENTS_CHUNK;
    double a1[MOMENTS_CHUNK] = {0}, a2[MOMENTS_CHUNK] = {0};
    for (size_t r = 0; r < nr; ++r)
      accum_d(dn, q ? q[rows[r] * ldq] : 1.0, x + rows[r] * ldx + d0, mu + d0, a1, a2);
    for (size_t d = 0; d < dn; ++d) {
      s1[d0 + d] += a1[d];
      s2[d0 + d] += a2[d];
    }
  }
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
  .moments_f = moments_f,
  .moments_d = moments_d,
  .l2argmin_f = l2argmin_f,
  .l2argmin_d = l2argmin_d,
  .select_f = select_f,
  .select_d = select_d,
  /* the covariance-type kernels: the scalar ones (no NEON versions yet) */
  .chol_dist_f = gmm_chol_dist_scalar_f,
  .chol_dist_d = gmm_chol_dist_scalar_d,
  .chol_whiten_f = gmm_chol_whiten_scalar_f,
  .chol_whiten_d = gmm_chol_whiten_scalar_d,
  .scatter_f = gmm_scatter_scalar_f,
  .scatter_d = gmm_scatter_scalar_d,
  .copy_rows_f = gmm_copy_rows_scalar_f,
  .copy_rows_d = gmm_copy_rows_scalar_d,
  .fisher_terms_f = gmm_fisher_terms_scalar_f,
  .fisher_terms_d = gmm_fisher_terms_scalar_d,
  .eparams_row_f = gmm_eparams_row_scalar_f,
  .eparams_row_d = gmm_eparams_row_scalar_d,
  .all_above_f = gmm_all_above_scalar_f,
  .all_above_d = gmm_all_above_scalar_d,
  .vexp_f = vexp_f,
  .vexp_d = vexp_d,
};

#endif /* aarch64 */
