/* kernels_scalar.c: portable reference kernels, always built.
 * They define the results every SIMD level must reproduce (up to summation
 * order); keep them simple and obviously right. */
#include <math.h>

#include "kernels.h"
#include "vl/libgmm.h"

#define DEFINE_SCALAR(T, SFX)                                                         \
  static void wdist_##SFX(size_t n, size_t D, size_t kp, T const *x, size_t ldx,      \
                          T const *s, T const *m, T *out)                             \
  {                                                                                   \
    for (size_t i = 0; i < n; ++i) {                                                  \
      T *o = out + i * kp;                                                            \
      for (size_t k = 0; k < kp; ++k) o[k] = 0;                                       \
      for (size_t d = 0; d < D; ++d) {                                                \
        T xd = x[i * ldx + d];                                                        \
        T const *sd = s + d * kp, *md = m + d * kp;                                   \
        for (size_t k = 0; k < kp; ++k) {                                             \
          T z = xd * sd[k] - md[k];                                                   \
          o[k] += z * z;                                                              \
        }                                                                             \
      }                                                                               \
    }                                                                                 \
  }                                                                                   \
  static void l2dist_##SFX(size_t n, size_t D, size_t kp, T const *x, size_t ldx,     \
                           T const *c, T *out)                                        \
  {                                                                                   \
    for (size_t i = 0; i < n; ++i) {                                                  \
      T *o = out + i * kp;                                                            \
      for (size_t k = 0; k < kp; ++k) o[k] = 0;                                       \
      for (size_t d = 0; d < D; ++d) {                                                \
        T xd = x[i * ldx + d];                                                        \
        T const *cd = c + d * kp;                                                     \
        for (size_t k = 0; k < kp; ++k) {                                             \
          T z = xd - cd[k];                                                           \
          o[k] += z * z;                                                              \
        }                                                                             \
      }                                                                               \
    }                                                                                 \
  }                                                                                   \
  static T dist_l2_##SFX(size_t D, T const *x, T const *y)                            \
  {                                                                                   \
    T acc = 0;                                                                        \
    for (size_t d = 0; d < D; ++d) {                                                  \
      T z = x[d] - y[d];                                                              \
      acc += z * z;                                                                   \
    }                                                                                 \
    return acc;                                                                       \
  }                                                                                   \
  void gmm_lse_scalar_##SFX(size_t n, size_t K, size_t kp, T const *c, T *tile, T *q,   \
                            size_t ldq, double *ll)                                   \
  {                                                                                   \
    for (size_t i = 0; i < n; ++i) {                                                  \
      T *row = tile + i * kp, *qi = q + i * ldq;                                      \
      T lmax = (T)(-INFINITY), sum = 0;                                               \
      for (size_t k = 0; k < K; ++k) {                                                \
        T const l = c[k] - (T)0.5 * row[k];                                           \
        row[k] = l;                                                                   \
        if (l > lmax) lmax = l;                                                       \
      }                                                                               \
      for (size_t k = 0; k < K; ++k) {                                                \
        T const e = EXP_##SFX(row[k] - lmax);                                         \
        row[k] = e;                                                                   \
        sum += e;                                                                     \
      }                                                                               \
      for (size_t k = 0; k < K; ++k) qi[k] = row[k] / sum;                            \
      ll[i] = log((double)sum) + (double)lmax;                                        \
    }                                                                                 \
  }                                                                                   \
  static void accum_##SFX(size_t D, T q, T const *x, T const *mu, T *s1, double *s2)  \
  {                                                                                   \
    for (size_t d = 0; d < D; ++d) {                                                  \
      T z = x[d] - mu[d];                                                             \
      T t = q * z;                                                                    \
      s1[d] += t;                                                                     \
      s2[d] += (double)t * (double)z;                                                 \
    }                                                                                 \
  }

#define EXP_f(v) expf(v)
#define EXP_d(v) exp(v)

DEFINE_SCALAR(float, f)
DEFINE_SCALAR(double, d)

/* Test hook: the exp the scalar lse uses (libm). */
static void vexp_f(size_t n, float const *x, float *y)
{
  for (size_t i = 0; i < n; ++i) y[i] = expf(x[i]);
}
static void vexp_d(size_t n, double const *x, double *y)
{
  for (size_t i = 0; i < n; ++i) y[i] = exp(x[i]);
}

#define DEFINE_SELECT(T, SFX)                                                             \
  static size_t select_##SFX(size_t K, T const *q, T thr, T *colsum, vl_uint32 *idx)      \
  {                                                                                       \
    size_t n = 0;                                                                         \
    for (size_t k = 0; k < K; ++k) {                                                      \
      colsum[k] += q[k];                                                                  \
      if (q[k] >= thr) idx[n++] = (vl_uint32)k;                                           \
    }                                                                                     \
    return n;                                                                             \
  }
DEFINE_SELECT(float, f)
DEFINE_SELECT(double, d)

gmm_kernels const gmm_kernels_scalar = {
  .name = "scalar",
  .level = VL_SIMD_SCALAR,
  .wdist_f = wdist_f,
  .wdist_d = wdist_d,
  .l2dist_f = l2dist_f,
  .l2dist_d = l2dist_d,
  .dist_l2_f = dist_l2_f,
  .dist_l2_d = dist_l2_d,
  .lse_f = gmm_lse_scalar_f,
  .lse_d = gmm_lse_scalar_d,
  .accum_f = accum_f,
  .accum_d = accum_d,
  .select_f = select_f,
  .select_d = select_d,
  .vexp_f = vexp_f,
  .vexp_d = vexp_d,
};
