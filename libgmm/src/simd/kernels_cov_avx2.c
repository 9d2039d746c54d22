/* kernels_cov_avx2.c: the full and tied covariance kernels of the AVX2+FMA
 * table (chol_dist, chol_whiten, scatter; see kernels.h), apart from
 * kernels_avx2.c only to keep files short. Compiled with the same flags;
 * AVX loads, stores and broadcasts, FMA3 vfmadd, vsubps/pd, vcvtps2pd,
 * vaddpd and 128-bit extracts.
 *
 * The same tiling as kernels_cov_avx512.c (read its comment) for 16 ymm
 * registers: chol_dist/chol_whiten tiles of 4 rows of u x 2 vectors of
 * points (8 accumulators + 2 distances + 2 loads + 1 broadcast), scatter
 * tiles of 4 rows x 2 column vectors. Sums over c (chol) and over points
 * (scatter) run in the scalar kernel's order; only FMA rounding differs.
 */
#if !(defined(__AVX2__) && defined(__FMA__))
#error "kernels_cov_avx2.c must be compiled with AVX2 and FMA enabled (-mavx2 -mfma)"
#else

#include <immintrin.h>

#include "simd/kernels.h"
#include "simd/kinline.h"

#define RB 4 /* rows of u per chol tile */
#define PV 2 /* vectors of points per chol tile */
#define MR 4 /* rows per scatter tile */
#define NV 2 /* column vectors per scatter tile */

/* p + k, or NULL for the output a call does not write (out or yt). */
#define AT(p, k) ((p) ? (p) + (k) : NULL)

/* ---- float ------------------------------------------------------------------ */

/* acc[j][v] = sum_{c <= r0 + j} u[(r0 + j) D + c] xt[c][8 v ..] for j < rb, v < pv. */
GMM_KINLINE void chol_rows_f(size_t rb, size_t pv, size_t r0, size_t D, float const *xt,
                             size_t ldx, float const *u, __m256 acc[RB][PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm256_setzero_ps();
  for (size_t c = 0; c < r0; ++c) {
    __m256 xv[PV];
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) xv[v] = _mm256_loadu_ps(xt + c * ldx + 8 * v);
    GMM_UNROLL
    for (size_t j = 0; j < rb; ++j) {
      __m256 const b = _mm256_set1_ps(u[(r0 + j) * D + c]);
      GMM_UNROLL
      for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm256_fmadd_ps(b, xv[v], acc[j][v]);
    }
  }
  GMM_UNROLL
  for (size_t t = 0; t < rb; ++t) { /* column r0 + t feeds rows j >= t */
    __m256 xv[PV];
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) xv[v] = _mm256_loadu_ps(xt + (r0 + t) * ldx + 8 * v);
    GMM_UNROLL
    for (size_t j = t; j < rb; ++j) {
      __m256 const b = _mm256_set1_ps(u[(r0 + j) * D + r0 + t]);
      GMM_UNROLL
      for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm256_fmadd_ps(b, xv[v], acc[j][v]);
    }
  }
}

/* dist[v] += (acc[j][v] - um[j])^2 for j < rb (increasing). */
GMM_KINLINE void chol_square_f(size_t rb, size_t pv, float const *um, __m256 acc[RB][PV],
                               __m256 dist[PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j) {
    __m256 const m = _mm256_set1_ps(um[j]);
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) {
      __m256 const y = _mm256_sub_ps(acc[j][v], m);
      dist[v] = _mm256_fmadd_ps(y, y, dist[v]);
    }
  }
}

GMM_KINLINE void chol_store_f(size_t rb, size_t pv, size_t ldx, float *yt, __m256 acc[RB][PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) _mm256_storeu_ps(yt + j * ldx + 8 * v, acc[j][v]);
}

/* pv vectors of points: every row tile, then the distances (with um) or the
 * whitened points (um == NULL, into yt). */
GMM_KINLINE void chol_cols_f(size_t pv, size_t D, float const *xt, size_t ldx, float const *u,
                             float const *um, float *out, float *yt)
{
  __m256 acc[RB][PV], dist[PV];
  size_t r0 = 0;
  GMM_UNROLL
  for (size_t v = 0; v < pv; ++v) dist[v] = _mm256_setzero_ps();
  for (; r0 + RB <= D; r0 += RB) {
    chol_rows_f(RB, pv, r0, D, xt, ldx, u, acc);
    if (um)
      chol_square_f(RB, pv, um + r0, acc, dist);
    else
      chol_store_f(RB, pv, ldx, yt + r0 * ldx, acc);
  }
  switch (D - r0) {
#define TAIL(rb)                                                   \
  case rb:                                                         \
    chol_rows_f(rb, pv, r0, D, xt, ldx, u, acc);                   \
    if (um)                                                        \
      chol_square_f(rb, pv, um + r0, acc, dist);                   \
    else                                                           \
      chol_store_f(rb, pv, ldx, yt + r0 * ldx, acc);               \
    break;
    TAIL(1)
    TAIL(2)
    TAIL(3)
#undef TAIL
    default: break;
  }
  if (um)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) _mm256_storeu_ps(out + 8 * v, dist[v]);
}

static void chol_points_f(size_t n, size_t D, float const *xt, size_t ldx, float const *u,
                          float const *um, float *out, float *yt)
{
  size_t const nv = (n + 7) / 8;
  size_t v = 0;
  for (; v + PV <= nv; v += PV)
    chol_cols_f(PV, D, xt + 8 * v, ldx, u, um, AT(out, 8 * v), AT(yt, 8 * v));
  switch (nv - v) {
    case 1: chol_cols_f(1, D, xt + 8 * v, ldx, u, um, AT(out, 8 * v), AT(yt, 8 * v)); break;
    default: break;
  }
}

void gmm_chol_dist_avx2_f(size_t n, size_t D, float const *xt, size_t ldx, float const *u,
                            float const *um, float *out)
{
  chol_points_f(n, D, xt, ldx, u, um, out, NULL);
}

void gmm_chol_whiten_avx2_f(size_t n, size_t D, float const *xt, size_t ldx, float const *u,
                              float *yt)
{
  chol_points_f(n, D, xt, ldx, u, NULL, NULL, yt);
}

/* row[c ..] += t for the columns < D (converted to double). */
GMM_KINLINE void add_row_f(__m256 t, double *row, size_t c, size_t D)
{
  if (c + 8 <= D) {
    __m256d const lo = _mm256_cvtps_pd(_mm256_castps256_ps128(t));
    __m256d const hi = _mm256_cvtps_pd(_mm256_extractf128_ps(t, 1));
    _mm256_storeu_pd(row + c, _mm256_add_pd(_mm256_loadu_pd(row + c), lo));
    _mm256_storeu_pd(row + c + 4, _mm256_add_pd(_mm256_loadu_pd(row + c + 4), hi));
  } else {
    float tmp[8];
    _mm256_storeu_ps(tmp, t);
    for (size_t k = 0; c + k < D; ++k) row[c + k] += (double)tmp[k];
  }
}

GMM_KINLINE void scatter_tile_f(size_t mr, size_t nv, size_t n, size_t D, float const *w,
                                size_t ldw, size_t r0, size_t c0, double *acc, size_t lda)
{
  __m256 t[MR][NV];
  GMM_UNROLL
  for (size_t j = 0; j < mr; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) t[j][v] = _mm256_setzero_ps();
  for (size_t i = 0; i < n; ++i) {
    float const *wi = w + i * ldw;
    __m256 cv[NV];
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) cv[v] = _mm256_loadu_ps(wi + c0 + 8 * v);
    GMM_UNROLL
    for (size_t j = 0; j < mr; ++j) {
      __m256 const b = _mm256_set1_ps(wi[r0 + j]);
      GMM_UNROLL
      for (size_t v = 0; v < nv; ++v) t[j][v] = _mm256_fmadd_ps(b, cv[v], t[j][v]);
    }
  }
  GMM_UNROLL
  for (size_t j = 0; j < mr; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) add_row_f(t[j][v], acc + (r0 + j) * lda, c0 + 8 * v, D);
}

void gmm_scatter_avx2_f(size_t n, size_t D, float const *w, size_t ldw, double *acc,
                          size_t lda)
{
  size_t const nvec = (D + 7) / 8;
  for (size_t r0 = 0; r0 < D; r0 += MR) {
    size_t const mr = D - r0 < MR ? D - r0 : MR;
    for (size_t v0 = r0 / 8; v0 < nvec; v0 += NV) {
      size_t const nv = nvec - v0 < NV ? nvec - v0 : NV, c0 = 8 * v0;
      switch (mr * 8 + nv) {
#define CASE(m, v) \
  case (m) * 8 + (v): scatter_tile_f(m, v, n, D, w, ldw, r0, c0, acc, lda); break;
        CASE(4, 2) CASE(4, 1)
        CASE(3, 2) CASE(3, 1)
        CASE(2, 2) CASE(2, 1)
        CASE(1, 2) CASE(1, 1)
#undef CASE
        default: break;
      }
    }
  }
}

/* ---- double ----------------------------------------------------------------- */

GMM_KINLINE void chol_rows_d(size_t rb, size_t pv, size_t r0, size_t D, double const *xt,
                             size_t ldx, double const *u, __m256d acc[RB][PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm256_setzero_pd();
  for (size_t c = 0; c < r0; ++c) {
    __m256d xv[PV];
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) xv[v] = _mm256_loadu_pd(xt + c * ldx + 4 * v);
    GMM_UNROLL
    for (size_t j = 0; j < rb; ++j) {
      __m256d const b = _mm256_set1_pd(u[(r0 + j) * D + c]);
      GMM_UNROLL
      for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm256_fmadd_pd(b, xv[v], acc[j][v]);
    }
  }
  GMM_UNROLL
  for (size_t t = 0; t < rb; ++t) {
    __m256d xv[PV];
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) xv[v] = _mm256_loadu_pd(xt + (r0 + t) * ldx + 4 * v);
    GMM_UNROLL
    for (size_t j = t; j < rb; ++j) {
      __m256d const b = _mm256_set1_pd(u[(r0 + j) * D + r0 + t]);
      GMM_UNROLL
      for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm256_fmadd_pd(b, xv[v], acc[j][v]);
    }
  }
}

GMM_KINLINE void chol_square_d(size_t rb, size_t pv, double const *um, __m256d acc[RB][PV],
                               __m256d dist[PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j) {
    __m256d const m = _mm256_set1_pd(um[j]);
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) {
      __m256d const y = _mm256_sub_pd(acc[j][v], m);
      dist[v] = _mm256_fmadd_pd(y, y, dist[v]);
    }
  }
}

GMM_KINLINE void chol_store_d(size_t rb, size_t pv, size_t ldx, double *yt,
                              __m256d acc[RB][PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) _mm256_storeu_pd(yt + j * ldx + 4 * v, acc[j][v]);
}

GMM_KINLINE void chol_cols_d(size_t pv, size_t D, double const *xt, size_t ldx,
                             double const *u, double const *um, double *out, double *yt)
{
  __m256d acc[RB][PV], dist[PV];
  size_t r0 = 0;
  GMM_UNROLL
  for (size_t v = 0; v < pv; ++v) dist[v] = _mm256_setzero_pd();
  for (; r0 + RB <= D; r0 += RB) {
    chol_rows_d(RB, pv, r0, D, xt, ldx, u, acc);
    if (um)
      chol_square_d(RB, pv, um + r0, acc, dist);
    else
      chol_store_d(RB, pv, ldx, yt + r0 * ldx, acc);
  }
  switch (D - r0) {
#define TAIL(rb)                                                   \
  case rb:                                                         \
    chol_rows_d(rb, pv, r0, D, xt, ldx, u, acc);                   \
    if (um)                                                        \
      chol_square_d(rb, pv, um + r0, acc, dist);                   \
    else                                                           \
      chol_store_d(rb, pv, ldx, yt + r0 * ldx, acc);               \
    break;
    TAIL(1)
    TAIL(2)
    TAIL(3)
#undef TAIL
    default: break;
  }
  if (um)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) _mm256_storeu_pd(out + 4 * v, dist[v]);
}

static void chol_points_d(size_t n, size_t D, double const *xt, size_t ldx, double const *u,
                          double const *um, double *out, double *yt)
{
  size_t const nv = (n + 3) / 4;
  size_t v = 0;
  for (; v + PV <= nv; v += PV)
    chol_cols_d(PV, D, xt + 4 * v, ldx, u, um, AT(out, 4 * v), AT(yt, 4 * v));
  switch (nv - v) {
    case 1: chol_cols_d(1, D, xt + 4 * v, ldx, u, um, AT(out, 4 * v), AT(yt, 4 * v)); break;
    default: break;
  }
}

void gmm_chol_dist_avx2_d(size_t n, size_t D, double const *xt, size_t ldx, double const *u,
                            double const *um, double *out)
{
  chol_points_d(n, D, xt, ldx, u, um, out, NULL);
}

void gmm_chol_whiten_avx2_d(size_t n, size_t D, double const *xt, size_t ldx,
                              double const *u, double *yt)
{
  chol_points_d(n, D, xt, ldx, u, NULL, NULL, yt);
}

GMM_KINLINE void add_row_d(__m256d t, double *row, size_t c, size_t D)
{
  if (c + 4 <= D) {
    _mm256_storeu_pd(row + c, _mm256_add_pd(_mm256_loadu_pd(row + c), t));
  } else {
    double tmp[4];
    _mm256_storeu_pd(tmp, t);
    for (size_t k = 0; c + k < D; ++k) row[c + k] += tmp[k];
  }
}

GMM_KINLINE void scatter_tile_d(size_t mr, size_t nv, size_t n, size_t D, double const *w,
                                size_t ldw, size_t r0, size_t c0, double *acc, size_t lda)
{
  __m256d t[MR][NV];
  GMM_UNROLL
  for (size_t j = 0; j < mr; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) t[j][v] = _mm256_setzero_pd();
  for (size_t i = 0; i < n; ++i) {
    double const *wi = w + i * ldw;
    __m256d cv[NV];
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) cv[v] = _mm256_loadu_pd(wi + c0 + 4 * v);
    GMM_UNROLL
    for (size_t j = 0; j < mr; ++j) {
      __m256d const b = _mm256_set1_pd(wi[r0 + j]);
      GMM_UNROLL
      for (size_t v = 0; v < nv; ++v) t[j][v] = _mm256_fmadd_pd(b, cv[v], t[j][v]);
    }
  }
  GMM_UNROLL
  for (size_t j = 0; j < mr; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) add_row_d(t[j][v], acc + (r0 + j) * lda, c0 + 4 * v, D);
}

void gmm_scatter_avx2_d(size_t n, size_t D, double const *w, size_t ldw, double *acc,
                          size_t lda)
{
  size_t const nvec = (D + 3) / 4;
  for (size_t r0 = 0; r0 < D; r0 += MR) {
    size_t const mr = D - r0 < MR ? D - r0 : MR;
    for (size_t v0 = r0 / 4; v0 < nvec; v0 += NV) {
      size_t const nv = nvec - v0 < NV ? nvec - v0 : NV, c0 = 4 * v0;
      switch (mr * 8 + nv) {
#define CASE(m, v) \
  case (m) * 8 + (v): scatter_tile_d(m, v, n, D, w, ldw, r0, c0, acc, lda); break;
        CASE(4, 2) CASE(4, 1)
        CASE(3, 2) CASE(3, 1)
        CASE(2, 2) CASE(2, 1)
        CASE(1, 2) CASE(1, 1)
#undef CASE
        default: break;
      }
    }
  }
}

#endif /* __AVX2__ && __FMA__ */
