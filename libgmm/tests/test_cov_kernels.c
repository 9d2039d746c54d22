/* test_cov_kernels.c: the covariance-type kernels (chol_dist, chol_whiten,
 * scatter) of one SIMD level against the scalar ones, and the scalar ones
 * against sums written out here in long double.
 *
 * The kernels sum in the same order at every level; a level differs from
 * scalar only by FMA rounding. So each element must agree within rtol (1e-5
 * float, 1e-13 double) times a bound on the size of its rounded terms,
 * computed in double from the inputs:
 *   chol_whiten  y_r:   a_r = sum_{c<=r} |u_rc x_c|
 *   chol_dist    d:     sum_r (|y_r - um_r| + a_r + |um_r|)^2
 *   scatter      S_rc:  sum_i |w_ir w_ic|
 * Layouts that catch out-of-contract accesses: u is an exact-size block
 * whose entries above the diagonal are NaN (a kernel that reads them
 * returns NaN); the point lanes in [n, ldx) of xt and the columns in
 * [D, ldw) of w are NaN (their results must not reach an element that is
 * checked); every output has guard elements that must stay untouched (the
 * rows of yt past the lanes a kernel may write, the row gaps and the
 * columns >= D of the scatter accumulator). Below-diagonal scatter entries
 * may be left alone or updated like the others: both are accepted.
 *
 * One level per run (the argument); exit 77 (skipped) if it is not available. */
#include "test_util.h"
#include "util/internal.h"
#include "simd/kernels.h"
#include "vl/libgmm.h"

static size_t const g_ns[] = {1, 2, 3, 7, 8, 15, 16, 17, 33, 63, 100, 128};
static size_t const g_Ds[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 67};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD (-7777.0)

static void *xmalloc(size_t bytes)
{
  void *p = malloc(bytes ? bytes : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static int g_reports;
#define REPORT(...)                                          \
  do {                                                       \
    ++g_failures;                                            \
    if (g_reports++ < 10) fprintf(stderr, __VA_ARGS__);      \
  } while (0)

#define DEFINE_TESTS(T, SFX, RTOL)                                                            \
  /* lower-triangular u (exact size; NaN above the diagonal), um, xt (D x ldx). */           \
  static void make_##SFX(size_t n, size_t D, size_t ldx, T **u, T **um, T **xt, int offset)  \
  {                                                                                           \
    *u = xmalloc(D * D * sizeof(T));                                                          \
    *um = xmalloc(D * sizeof(T));                                                             \
    *xt = xmalloc(D * ldx * sizeof(T));                                                       \
    for (size_t r = 0; r < D; ++r) {                                                          \
      (*um)[r] = (T)(offset ? 30.0 * test_normal() : test_normal());                          \
      for (size_t c = 0; c < D; ++c)                                                          \
        (*u)[r * D + c] = c > r ? (T)NAN : (T)(c == r ? 0.5 + test_uniform() : test_normal());\
      for (size_t i = 0; i < ldx; ++i)                                                        \
        (*xt)[r * ldx + i] = i < n ? (T)((offset ? 30.0 : 0.0) + test_normal()) : (T)NAN;     \
    }                                                                                         \
  }                                                                                           \
                                                                                              \
  static void test_chol_##SFX(gmm_kernels const *kt, size_t n, size_t D, int offset)          \
  {                                                                                           \
    size_t const lanes = gmm_kpad(n), ldx = lanes + GMM_KPAD;                                 \
    T *u, *um, *xt;                                                                           \
    T *o1 = xmalloc((lanes + 4) * sizeof(T)), *o2 = xmalloc((lanes + 4) * sizeof(T));         \
    T *y1 = xmalloc(D * ldx * sizeof(T)), *y2 = xmalloc(D * ldx * sizeof(T));                 \
    make_##SFX(n, D, ldx, &u, &um, &xt, offset);                                              \
    for (size_t j = 0; j < lanes + 4; ++j) o1[j] = o2[j] = (T)GUARD;                          \
    for (size_t j = 0; j < D * ldx; ++j) y1[j] = y2[j] = (T)GUARD;                            \
    gmm_kernels_scalar.chol_dist_##SFX(n, D, xt, ldx, u, um, o1);                             \
    kt->chol_dist_##SFX(n, D, xt, ldx, u, um, o2);                                            \
    gmm_kernels_scalar.chol_whiten_##SFX(n, D, xt, ldx, u, y1);                               \
    kt->chol_whiten_##SFX(n, D, xt, ldx, u, y2);                                              \
    for (size_t i = 0; i < n; ++i) {                                                          \
      long double exact = 0;                                                                  \
      double bound = 0;                                                                       \
      for (size_t r = 0; r < D; ++r) {                                                        \
        long double y = 0;                                                                    \
        double a = 0;                                                                         \
        for (size_t c = 0; c <= r; ++c) {                                                     \
          y += (long double)u[r * D + c] * xt[c * ldx + i];                                   \
          a += fabs((double)u[r * D + c] * (double)xt[c * ldx + i]);                          \
        }                                                                                     \
        if (!(fabs((double)y1[r * ldx + i] - (double)y) <= RTOL * a + 1e-300))                \
          REPORT("chol_whiten_" #SFX " scalar n=%zu D=%zu i=%zu r=%zu: %g vs %g\n", n, D, i,   \
                 r, (double)y1[r * ldx + i], (double)y);                                      \
        if (!(fabs((double)y2[r * ldx + i] - (double)y1[r * ldx + i]) <= RTOL * a + 1e-300))  \
          REPORT("chol_whiten_" #SFX " %s n=%zu D=%zu i=%zu r=%zu: %g vs scalar %g\n",          \
                 kt->name, n, D, i, r, (double)y2[r * ldx + i], (double)y1[r * ldx + i]);     \
        y -= um[r];                                                                           \
        exact += y * y;                                                                       \
        bound += (fabs((double)y) + a + fabs((double)um[r])) *                                \
                 (fabs((double)y) + a + fabs((double)um[r]));                                 \
      }                                                                                       \
      if (!(fabs((double)o1[i] - (double)exact) <= RTOL * bound))                             \
        REPORT("chol_dist_" #SFX " scalar n=%zu D=%zu i=%zu: %g vs %g\n", n, D, i,             \
               (double)o1[i], (double)exact);                                                 \
      if (!(fabs((double)o2[i] - (double)o1[i]) <= RTOL * bound))                             \
        REPORT("chol_dist_" #SFX " %s n=%zu D=%zu i=%zu: %g vs scalar %g\n", kt->name, n, D,   \
               i, (double)o2[i], (double)o1[i]);                                              \
    }                                                                                         \
    for (size_t j = lanes; j < lanes + 4; ++j)                                                \
      if (o2[j] != (T)GUARD) REPORT("chol_dist_" #SFX " %s wrote past its lanes\n", kt->name); \
    for (size_t r = 0; r < D; ++r)                                                            \
      for (size_t i = lanes; i < ldx; ++i)                                                    \
        if (y2[r * ldx + i] != (T)GUARD)                                                      \
          REPORT("chol_whiten_" #SFX " %s wrote past its lanes\n", kt->name);                 \
    free(u);                                                                                  \
    free(um);                                                                                 \
    free(xt);                                                                                 \
    free(o1);                                                                                 \
    free(o2);                                                                                 \
    free(y1);                                                                                 \
    free(y2);                                                                                 \
  }                                                                                           \
                                                                                              \
  static void test_scatter_##SFX(gmm_kernels const *kt, size_t n, size_t D, int wide)         \
  {                                                                                           \
    size_t const ldw = gmm_kpad(D) + (wide ? 3 : 0), lda = D + 2;                             \
    T *w = xmalloc(n * ldw * sizeof(T));                                                      \
    double *a0 = xmalloc(D * lda * sizeof(double)), *a1 = xmalloc(D * lda * sizeof(double));  \
    double *a2 = xmalloc(D * lda * sizeof(double));                                           \
    for (size_t i = 0; i < n; ++i)                                                            \
      for (size_t c = 0; c < ldw; ++c) w[i * ldw + c] = c < D ? (T)test_normal() : (T)NAN;    \
    for (size_t r = 0; r < D; ++r)                                                            \
      for (size_t c = 0; c < lda; ++c)                                                        \
        a0[r * lda + c] = a1[r * lda + c] = a2[r * lda + c] = c < D ? test_normal() : GUARD;   \
    gmm_kernels_scalar.scatter_##SFX(n, D, w, ldw, a1, lda);                                  \
    kt->scatter_##SFX(n, D, w, ldw, a2, lda);                                                 \
    for (size_t r = 0; r < D; ++r)                                                            \
      for (size_t c = 0; c < lda; ++c) {                                                      \
        size_t const j = r * lda + c;                                                         \
        long double exact = 0;                                                                \
        double bound = 0;                                                                     \
        if (c >= D) {                                                                         \
          if (a1[j] != GUARD || a2[j] != GUARD)                                               \
            REPORT("scatter_" #SFX " %s n=%zu D=%zu wrote column %zu\n", kt->name, n, D, c);   \
          continue;                                                                           \
        }                                                                                     \
        for (size_t i = 0; i < n; ++i) {                                                      \
          exact += (long double)w[i * ldw + r] * w[i * ldw + c];                              \
          bound += fabs((double)w[i * ldw + r] * (double)w[i * ldw + c]);                     \
        }                                                                                     \
        exact += a0[j];                                                                       \
        bound = RTOL * bound + 1e-15 * fabs(a0[j]);                                           \
        if (c < r) { /* left alone, or updated like the upper triangle */                     \
          if (a2[j] != a0[j] && !(fabs(a2[j] - (double)exact) <= bound))                      \
            REPORT("scatter_" #SFX " %s n=%zu D=%zu below (%zu, %zu): %g\n", kt->name, n, D,   \
                   r, c, a2[j]);                                                              \
          continue;                                                                           \
        }                                                                                     \
        if (!(fabs(a1[j] - (double)exact) <= bound))                                          \
          REPORT("scatter_" #SFX " scalar n=%zu D=%zu (%zu, %zu): %g vs %g\n", n, D, r, c,     \
                 a1[j], (double)exact);                                                       \
        if (!(fabs(a2[j] - a1[j]) <= bound))                                                  \
          REPORT("scatter_" #SFX " %s n=%zu D=%zu (%zu, %zu): %g vs scalar %g\n", kt->name, n, \
                 D, r, c, a2[j], a1[j]);                                                      \
      }                                                                                       \
    free(w);                                                                                  \
    free(a0);                                                                                 \
    free(a1);                                                                                 \
    free(a2);                                                                                 \
  }

DEFINE_TESTS(float, f, 1e-5)
DEFINE_TESTS(double, d, 1e-13)

int main(int argc, char **argv)
{
  int level = -1;
  gmm_kernels const *kt;
  for (int l = VL_SIMD_SCALAR; argc == 2 && l <= VL_SIMD_NEON; ++l)
    if (strcmp(argv[1], vl_get_simd_level_name(l)) == 0) level = l;
  if (level < 0) {
    fprintf(stderr, "usage: test_cov_kernels scalar|sse2|avx2|avx512|neon\n");
    return 2;
  }
  if (!(kt = gmm_kernels_for_level(level))) {
    printf("level %d: skipped (not built or not supported by this CPU)\n", level);
    return 77;
  }
  test_seed(99);
  for (size_t a = 0; a < COUNT(g_ns); ++a)
    for (size_t b = 0; b < COUNT(g_Ds); ++b)
      for (int variant = 0; variant < 2; ++variant) {
        test_chol_f(kt, g_ns[a], g_Ds[b], variant);
        test_chol_d(kt, g_ns[a], g_Ds[b], variant);
        test_scatter_f(kt, g_ns[a], g_Ds[b], variant);
        test_scatter_d(kt, g_ns[a], g_Ds[b], variant);
      }
  printf("level %d (%s): %s\n", level, kt->name, g_failures ? "FAILED" : "ok");
  TEST_EXIT();
}
