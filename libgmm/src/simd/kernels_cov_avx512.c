/* kernels_cov_avx512.c: the full and tied covariance kernels of the
 * AVX-512F table (chol_dist, chol_whiten, scatter; see kernels.h), apart
 * from kernels_avx512.c only to keep files short. Compiled with the same
 * flags; AVX-512F instructions only (vmovups, vbroadcastss/sd, vfmadd,
 * vsubps/pd, vcvtps2pd, vaddpd, and 256-bit extracts).
 *
 * chol_dist / chol_whiten put points in the vector lanes: a tile is RB rows
 * of u (whitened coordinates r0..r0+RB) x PV vectors of points, with
 * RB x PV accumulators; for every column c the PV point vectors of xt row c
 * are loaded once and each row's u[r][c] is broadcast. The triangle of u
 * is walked exactly (column c feeds rows r >= c only), so no entry above
 * the diagonal is read and no multiply by zero is done. chol_dist then
 * squares (y - um) into PV distance vectors that live across the row tiles:
 * no horizontal sums. The sum over c runs in increasing order, as in the
 * scalar kernel; the results differ from scalar only by FMA rounding.
 * Registers: 16 accumulators + 4 distances + 4 loads + 1 broadcast.
 *
 * scatter is a rank-n update of the upper triangle: a tile is MR rows x NV
 * vectors of columns (6 x 4 zmm accumulators); for every point i the NV
 * column vectors of w row i are loaded and w[i][r] broadcast per row. Column
 * vectors left of the diagonal block are skipped (their entries are below
 * the diagonal). The tile's sums, in the element type with the scalar
 * order over i, are converted to double and added to acc; columns >= D are
 * never stored.
 */
#if !defined(__AVX512F__)
#error "kernels_cov_avx512.c must be compiled with AVX-512F enabled (-mavx512f)"
#else

#include <immintrin.h>

#include "simd/kernels.h"
#include "simd/kinline.h"

#define RB 4 /* rows of u per chol tile */
#define PV 4 /* vectors of points per chol tile */
#define MR 6 /* rows per scatter tile */
#define NV 4 /* column vectors per scatter tile */

/* p + k, or NULL for the output a call does not write (out or yt). */
#define AT(p, k) ((p) ? (p) + (k) : NULL)

/* ---- float ------------------------------------------------------------------ */

/* acc[j][v] = sum_{c <= r0 + j} u[(r0 + j) D + c] xt[c][16 v ..] for j < rb, v < pv. */
GMM_KINLINE void chol_rows_f(size_t rb, size_t pv, size_t r0, size_t D, float const *xt,
                             size_t ldx, float const *u, __m512 acc[RB][PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm512_setzero_ps();
  for (size_t c = 0; c < r0; ++c) {
    __m512 xv[PV];
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) xv[v] = _mm512_loadu_ps(xt + c * ldx + 16 * v);
    GMM_UNROLL
    for (size_t j = 0; j < rb; ++j) {
      __m512 const b = _mm512_set1_ps(u[(r0 + j) * D + c]);
      GMM_UNROLL
      for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm512_fmadd_ps(b, xv[v], acc[j][v]);
    }
  }
  GMM_UNROLL
  for (size_t t = 0; t < rb; ++t) { /* column r0 + t feeds rows j >= t */
    __m512 xv[PV];
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) xv[v] = _mm512_loadu_ps(xt + (r0 + t) * ldx + 16 * v);
    GMM_UNROLL
    for (size_t j = t; j < rb; ++j) {
      __m512 const b = _mm512_set1_ps(u[(r0 + j) * D + r0 + t]);
      GMM_UNROLL
      for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm512_fmadd_ps(b, xv[v], acc[j][v]);
    }
  }
}

/* dist[v] += (acc[j][v] - um[j])^2 for j < rb (increasing). */
GMM_KINLINE void chol_square_f(size_t rb, size_t pv, float const *um, __m512 acc[RB][PV],
                               __m512 dist[PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j) {
    __m512 const m = _mm512_set1_ps(um[j]);
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) {
      __m512 const y = _mm512_sub_ps(acc[j][v], m);
      dist[v] = _mm512_fmadd_ps(y, y, dist[v]);
    }
  }
}

GMM_KINLINE void chol_store_f(size_t rb, size_t pv, size_t ldx, float *yt, __m512 acc[RB][PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) _mm512_storeu_ps(yt + j * ldx + 16 * v, acc[j][v]);
}

/* pv vectors of points: every row tile, then the distances (with um) or the
 * whitened points (um == NULL, into yt). */
GMM_KINLINE void chol_cols_f(size_t pv, size_t D, float const *xt, size_t ldx, float const *u,
                             float const *um, float *out, float *yt)
{
  __m512 acc[RB][PV], dist[PV];
  size_t r0 = 0;
  GMM_UNROLL
  for (size_t v = 0; v < pv; ++v) dist[v] = _mm512_setzero_ps();
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
    for (size_t v = 0; v < pv; ++v) _mm512_storeu_ps(out + 16 * v, dist[v]);
}

static void chol_points_f(size_t n, size_t D, float const *xt, size_t ldx, float const *u,
                          float const *um, float *out, float *yt)
{
  size_t const nv = (n + 15) / 16;
  size_t v = 0;
  for (; v + PV <= nv; v += PV)
    chol_cols_f(PV, D, xt + 16 * v, ldx, u, um, AT(out, 16 * v), AT(yt, 16 * v));
  switch (nv - v) {
    case 3: chol_cols_f(3, D, xt + 16 * v, ldx, u, um, AT(out, 16 * v), AT(yt, 16 * v)); break;
    case 2: chol_cols_f(2, D, xt + 16 * v, ldx, u, um, AT(out, 16 * v), AT(yt, 16 * v)); break;
    case 1: chol_cols_f(1, D, xt + 16 * v, ldx, u, um, AT(out, 16 * v), AT(yt, 16 * v)); break;
    default: break;
  }
}

void gmm_chol_dist_avx512_f(size_t n, size_t D, float const *xt, size_t ldx, float const *u,
                            float const *um, float *out)
{
  chol_points_f(n, D, xt, ldx, u, um, out, NULL);
}

void gmm_chol_whiten_avx512_f(size_t n, size_t D, float const *xt, size_t ldx, float const *u,
                              float *yt)
{
  chol_points_f(n, D, xt, ldx, u, NULL, NULL, yt);
}

/* row[c ..] += t for the columns < D (converted to double). */
GMM_KINLINE void add_row_f(__m512 t, double *row, size_t c, size_t D)
{
  if (c + 16 <= D) {
    __m512d const lo = _mm512_cvtps_pd(_mm512_castps512_ps256(t));
    __m512d const hi =
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
    _mm512_storeu_pd(row + c, _mm512_add_pd(_mm512_loadu_pd(row + c), lo));
    _mm512_storeu_pd(row + c + 8, _mm512_add_pd(_mm512_loadu_pd(row + c + 8), hi));
  } else {
    float tmp[16];
    _mm512_storeu_ps(tmp, t);
    for (size_t k = 0; c + k < D; ++k) row[c + k] += (double)tmp[k];
  }
}

GMM_KINLINE void scatter_tile_f(size_t mr, size_t nv, size_t n, size_t D, float const *w,
                                size_t ldw, size_t r0, size_t c0, double *acc, size_t lda)
{
  __m512 t[MR][NV];
  GMM_UNROLL
  for (size_t j = 0; j < mr; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) t[j][v] = _mm512_setzero_ps();
  for (size_t i = 0; i < n; ++i) {
    float const *wi = w + i * ldw;
    __m512 cv[NV];
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) cv[v] = _mm512_loadu_ps(wi + c0 + 16 * v);
    GMM_UNROLL
    for (size_t j = 0; j < mr; ++j) {
      __m512 const b = _mm512_set1_ps(wi[r0 + j]);
      GMM_UNROLL
      for (size_t v = 0; v < nv; ++v) t[j][v] = _mm512_fmadd_ps(b, cv[v], t[j][v]);
    }
  }
  GMM_UNROLL
  for (size_t j = 0; j < mr; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) add_row_f(t[j][v], acc + (r0 + j) * lda, c0 + 16 * v, D);
}

void gmm_scatter_avx512_f(size_t n, size_t D, float const *w, size_t ldw, double *acc,
                          size_t lda)
{
  size_t const nvec = (D + 15) / 16;
  for (size_t r0 = 0; r0 < D; r0 += MR) {
    size_t const mr = D - r0 < MR ? D - r0 : MR;
    for (size_t v0 = r0 / 16; v0 < nvec; v0 += NV) {
      size_t const nv = nvec - v0 < NV ? nvec - v0 : NV, c0 = 16 * v0;
      switch (mr * 8 + nv) {
#define CASE(m, v) \
  case (m) * 8 + (v): scatter_tile_f(m, v, n, D, w, ldw, r0, c0, acc, lda); break;
        CASE(6, 4) CASE(6, 3) CASE(6, 2) CASE(6, 1)
        CASE(5, 4) CASE(5, 3) CASE(5, 2) CASE(5, 1)
        CASE(4, 4) CASE(4, 3) CASE(4, 2) CASE(4, 1)
        CASE(3, 4) CASE(3, 3) CASE(3, 2) CASE(3, 1)
        CASE(2, 4) CASE(2, 3) CASE(2, 2) CASE(2, 1)
        CASE(1, 4) CASE(1, 3) CASE(1, 2) CASE(1, 1)
#undef CASE
        default: break;
      }
    }
  }
}

/* ---- double ----------------------------------------------------------------- */

GMM_KINLINE void chol_rows_d(size_t rb, size_t pv, size_t r0, size_t D, double const *xt,
                             size_t ldx, double const *u, __m512d acc[RB][PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm512_setzero_pd();
  for (size_t c = 0; c < r0; ++c) {
    __m512d xv[PV];
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) xv[v] = _mm512_loadu_pd(xt + c * ldx + 8 * v);
    GMM_UNROLL
    for (size_t j = 0; j < rb; ++j) {
      __m512d const b = _mm512_set1_pd(u[(r0 + j) * D + c]);
      GMM_UNROLL
      for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm512_fmadd_pd(b, xv[v], acc[j][v]);
    }
  }
  GMM_UNROLL
  for (size_t t = 0; t < rb; ++t) {
    __m512d xv[PV];
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) xv[v] = _mm512_loadu_pd(xt + (r0 + t) * ldx + 8 * v);
    GMM_UNROLL
    for (size_t j = t; j < rb; ++j) {
      __m512d const b = _mm512_set1_pd(u[(r0 + j) * D + r0 + t]);
      GMM_UNROLL
      for (size_t v = 0; v < pv; ++v) acc[j][v] = _mm512_fmadd_pd(b, xv[v], acc[j][v]);
    }
  }
}

GMM_KINLINE void chol_square_d(size_t rb, size_t pv, double const *um, __m512d acc[RB][PV],
                               __m512d dist[PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j) {
    __m512d const m = _mm512_set1_pd(um[j]);
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) {
      __m512d const y = _mm512_sub_pd(acc[j][v], m);
      dist[v] = _mm512_fmadd_pd(y, y, dist[v]);
    }
  }
}

GMM_KINLINE void chol_store_d(size_t rb, size_t pv, size_t ldx, double *yt,
                              __m512d acc[RB][PV])
{
  GMM_UNROLL
  for (size_t j = 0; j < rb; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < pv; ++v) _mm512_storeu_pd(yt + j * ldx + 8 * v, acc[j][v]);
}

GMM_KINLINE void chol_cols_d(size_t pv, size_t D, double const *xt, size_t ldx,
                             double const *u, double const *um, double *out, double *yt)
{
  __m512d acc[RB][PV], dist[PV];
  size_t r0 = 0;
  GMM_UNROLL
  for (size_t v = 0; v < pv; ++v) dist[v] = _mm512_setzero_pd();
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
    for (size_t v = 0; v < pv; ++v) _mm512_storeu_pd(out + 8 * v, dist[v]);
}

static void chol_points_d(size_t n, size_t D, double const *xt, size_t ldx, double const *u,
                          double const *um, double *out, double *yt)
{
  size_t const nv = (n + 7) / 8;
  size_t v = 0;
  for (; v + PV <= nv; v += PV)
    chol_cols_d(PV, D, xt + 8 * v, ldx, u, um, AT(out, 8 * v), AT(yt, 8 * v));
  switch (nv - v) {
    case 3: chol_cols_d(3, D, xt + 8 * v, ldx, u, um, AT(out, 8 * v), AT(yt, 8 * v)); break;
    case 2: chol_cols_d(2, D, xt + 8 * v, ldx, u, um, AT(out, 8 * v), AT(yt, 8 * v)); break;
    case 1: chol_cols_d(1, D, xt + 8 * v, ldx, u, um, AT(out, 8 * v), AT(yt, 8 * v)); break;
    default: break;
  }
}

void gmm_chol_dist_avx512_d(size_t n, size_t D, double const *xt, size_t ldx, double const *u,
                            double const *um, double *out)
{
  chol_points_d(n, D, xt, ldx, u, um, out, NULL);
}

void gmm_chol_whiten_avx512_d(size_t n, size_t D, double const *xt, size_t ldx,
                              double const *u, double *yt)
{
  chol_points_d(n, D, xt, ldx, u, NULL, NULL, yt);
}

GMM_KINLINE void add_row_d(__m512d t, double *row, size_t c, size_t D)
{
  if (c + 8 <= D) {
    _mm512_storeu_pd(row + c, _mm512_add_pd(_mm512_loadu_pd(row + c), t));
  } else {
    double tmp[8];
    _mm512_storeu_pd(tmp, t);
    for (size_t k = 0; c + k < D; ++k) row[c + k] += tmp[k];
  }
}

GMM_KINLINE void scatter_tile_d(size_t mr, size_t nv, size_t n, size_t D, double const *w,
                                size_t ldw, size_t r0, size_t c0, double *acc, size_t lda)
{
  __m512d t[MR][NV];
  GMM_UNROLL
  for (size_t j = 0; j < mr; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) t[j][v] = _mm512_setzero_pd();
  for (size_t i = 0; i < n; ++i) {
    double const *wi = w + i * ldw;
    __m512d cv[NV];
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) cv[v] = _mm512_loadu_pd(wi + c0 + 8 * v);
    GMM_UNROLL
    for (size_t j = 0; j < mr; ++j) {
      __m512d const b = _mm512_set1_pd(wi[r0 + j]);
      GMM_UNROLL
      for (size_t v = 0; v < nv; ++v) t[j][v] = _mm512_fmadd_pd(b, cv[v], t[j][v]);
    }
  }
  GMM_UNROLL
  for (size_t j = 0; j < mr; ++j)
    GMM_UNROLL
    for (size_t v = 0; v < nv; ++v) add_row_d(t[j][v], acc + (r0 + j) * lda, c0 + 8 * v, D);
}

void gmm_scatter_avx512_d(size_t n, size_t D, double const *w, size_t ldw, double *acc,
                          size_t lda)
{
  size_t const nvec = (D + 7) / 8;
  for (size_t r0 = 0; r0 < D; r0 += MR) {
    size_t const mr = D - r0 < MR ? D - r0 : MR;
    for (size_t v0 = r0 / 8; v0 < nvec; v0 += NV) {
      size_t const nv = nvec - v0 < NV ? nvec - v0 : NV, c0 = 8 * v0;
      switch (mr * 8 + nv) {
#define CASE(m, v) \
  case (m) * 8 + (v): scatter_tile_d(m, v, n, D, w, ldw, r0, c0, acc, lda); break;
        CASE(6, 4) CASE(6, 3) CASE(6, 2) CASE(6, 1)
        CASE(5, 4) CASE(5, 3) CASE(5, 2) CASE(5, 1)
        CASE(4, 4) CASE(4, 3) CASE(4, 2) CASE(4, 1)
        CASE(3, 4) CASE(3, 3) CASE(3, 2) CASE(3, 1)
        CASE(2, 4) CASE(2, 3) CASE(2, 2) CASE(2, 1)
        CASE(1, 4) CASE(1, 3) CASE(1, 2) CASE(1, 1)
#undef CASE
        default: break;
      }
    }
  }
}

#endif /* __AVX512F__ */
