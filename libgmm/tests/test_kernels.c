/* test_kernels.c: every SIMD kernel table against the scalar reference.
 *
 * For each SIMD level this CPU and build support, every kernel is run on the
 * same inputs as gmm_kernels_scalar and compared element by element. The
 * only allowed difference is rounding (summation order, FMA), so the
 * tolerance is rtol (1e-5 float, 1e-13 double) times a bound on the size of
 * the rounded terms, computed in double from the inputs:
 *   wdist:   sum_d z^2 + 2|z|(|x s| + |z|)   with z = x s - m
 *            (FMA rounds x s - m once instead of twice: |dz| <~ eps(|x s| + |z|))
 *   l2dist, dist_l2: sum_d z^2               with z = x - c (same rounding both ways)
 *   accum:   |s1_0| + sum |q z|  and  |s2_0| + sum |q| z^2
 * A padding column (s = m = 0) of wdist must be exactly 0. (l2dist padding
 * columns hold sum_d x^2, since c = 0 there, and are compared like the others.)
 *
 * Layouts: x rows with ldx = D and ldx = D + 3, starting at an aligned and at
 * an odd (misaligned) element; the gaps between rows and before the first
 * element hold NaN, so a kernel that reads them fails. x is allocated with
 * its exact size (so ASan/valgrind catch over-reads); outputs have a guard
 * row after the n rows that must stay untouched, and the outputs start
 * filled with NaN so an element a kernel forgets to write fails.
 *
 * Exit 77 (skip) if no SIMD level is available.
 */
#include <stdint.h>

#include "test_util.h"
#include "internal.h"
#include "simd/kernels.h"
#include "vl/libgmm.h"

static size_t const g_ns[] = {1, 3, 4, 5, 7, 13, 64, 67};
static size_t const g_Ds[] = {1, 2, 3, 7, 8, 16, 17, 67, 97, 128};
static size_t const g_Ks[] = {1, 5, 16, 17, 40, 256};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Data kinds: plain random data, and data with a large common offset
 * (distances between points near 1e3 of the origin; for wdist, m ~ x s so
 * that x s - m cancels). */
enum { DATA_PLAIN = 0, DATA_OFFSET = 1, NUM_DATA = 2 };

/* Report at most this many mismatches per kernel and case. */
#define MAX_REPORTS 5

static char g_case[256];

static double const g_guard = -7777.0;

/* malloc that never returns NULL (size 0 gets one byte). */
static void *xmalloc(size_t bytes)
{
  void *p = malloc(bytes ? bytes : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static void *xalloc_aligned(size_t a, size_t b, size_t elem)
{
  void *p = gmm_alloc_aligned(a, b, elem);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

#define DEFINE_TESTS(T, SFX, RTOL)                                                         \
  /* x: n rows of D at stride ldx, starting `off` elements into an exact-size              \
   * malloc block; everything that is not a point element is NaN. */                       \
  static T *make_x_##SFX(size_t n, size_t D, size_t ldx, size_t off, int kind, T **base)   \
  {                                                                                        \
    size_t len = off + (n - 1) * ldx + D;                                                  \
    T *b = (T *)xmalloc(len * sizeof(T));                                                  \
    for (size_t j = 0; j < len; ++j) b[j] = (T)NAN;                                        \
    T *x = b + off;                                                                        \
    for (size_t i = 0; i < n; ++i)                                                         \
      for (size_t d = 0; d < D; ++d)                                                       \
        x[i * ldx + d] = (T)((kind == DATA_OFFSET ? 1000.0 : 0.0) + test_normal());        \
    *base = b;                                                                             \
    return x;                                                                              \
  }                                                                                        \
                                                                                           \
  /* D rows of kp, columns >= K zero. */                                                   \
  static T *make_params_##SFX(size_t D, size_t K, size_t kp, double offset, double lo,     \
                              double hi, int normal)                                       \
  {                                                                                        \
    T *p = (T *)xalloc_aligned(D, kp, sizeof(T));                                          \
    for (size_t d = 0; d < D; ++d)                                                         \
      for (size_t k = 0; k < kp; ++k)                                                      \
        p[d * kp + k] = k < K ? (T)(offset + (normal ? test_normal()                       \
                                                     : lo + (hi - lo) * test_uniform()))   \
                              : (T)0;                                                      \
    return p;                                                                              \
  }                                                                                        \
                                                                                           \
  /* n rows of kp plus one guard row: rows filled with `fill`, guard with g_guard. */      \
  static T *make_out_##SFX(size_t n, size_t kp, double fill)                               \
  {                                                                                        \
    T *o = (T *)xalloc_aligned(n + 1, kp, sizeof(T));                                      \
    for (size_t j = 0; j < n * kp; ++j) o[j] = (T)fill;                                    \
    for (size_t j = n * kp; j < (n + 1) * kp; ++j) o[j] = (T)g_guard;                      \
    return o;                                                                              \
  }                                                                                        \
                                                                                           \
  static int guard_ok_##SFX(T const *o, size_t n, size_t kp)                               \
  {                                                                                        \
    for (size_t j = n * kp; j < (n + 1) * kp; ++j)                                         \
      if (o[j] != (T)g_guard) return 0;                                                    \
    return 1;                                                                              \
  }                                                                                        \
                                                                                           \
  /* Compares got with ref (n x kp) given the per-element scale; padding columns           \
   * (k >= K) must be exactly 0 if `pad_zero`. Returns the number of mismatches. */        \
  static int compare_tile_##SFX(char const *what, size_t n, size_t K, size_t kp,           \
                                T const *got, T const *ref, double const *scale,           \
                                int pad_zero)                                              \
  {                                                                                        \
    int bad = 0;                                                                           \
    for (size_t i = 0; i < n; ++i)                                                         \
      for (size_t k = 0; k < kp; ++k) {                                                    \
        double g = got[i * kp + k], r = ref[i * kp + k];                                   \
        double tol = (RTOL) * scale[i * kp + k];                                           \
        int ok;                                                                            \
        if (k >= K && pad_zero)                                                            \
          ok = g == 0.0 && r == 0.0;                                                       \
        else                                                                               \
          ok = fabs(g - r) <= tol; /* false for NaN */                                     \
        if (!ok) {                                                                         \
          if (bad < MAX_REPORTS)                                                           \
            fprintf(stderr, "%s %s: out[%zu][%zu] = %.17g, scalar %.17g (tol %.3g)\n",     \
                    g_case, what, i, k, g, r, tol);                                        \
          ++bad;                                                                           \
        }                                                                                  \
      }                                                                                    \
    if (!guard_ok_##SFX(got, n, kp)) {                                                     \
      fprintf(stderr, "%s %s: wrote past the last row\n", g_case, what);                   \
      ++bad;                                                                               \
    }                                                                                      \
    return bad;                                                                            \
  }                                                                                        \
                                                                                           \
  static void test_tiles_##SFX(gmm_kernels const *kt, size_t n, size_t D, size_t K,        \
                               size_t ldx, size_t off, int kind)                           \
  {                                                                                        \
    size_t kp = gmm_kpad(K);                                                               \
    T *xbase;                                                                              \
    T *x = make_x_##SFX(n, D, ldx, off, kind, &xbase);                                     \
    T *s = make_params_##SFX(D, K, kp, 0.0, 0.25, 2.0, 0);                                 \
    T *m = make_params_##SFX(D, K, kp, 0.0, 0.0, 0.0, 1);                                  \
    T *c = make_params_##SFX(D, K, kp, kind == DATA_OFFSET ? 1000.0 : 0.0, 0, 0, 1);       \
    double *scale = (double *)xmalloc(n * kp * sizeof(double));                            \
    if (kind == DATA_OFFSET) /* m ~ x s: x s - m cancels */                                \
      for (size_t d = 0; d < D; ++d)                                                       \
        for (size_t k = 0; k < K; ++k)                                                     \
          m[d * kp + k] = (T)(1000.0 * s[d * kp + k] + m[d * kp + k]);                     \
    snprintf(g_case, sizeof g_case, "[%s %s n=%zu D=%zu K=%zu ldx=%zu off=%zu data=%d]",   \
             kt->name, #T, n, D, K, ldx, off, kind);                                       \
                                                                                           \
    /* wdist */                                                                            \
    {                                                                                      \
      T *ref = make_out_##SFX(n, kp, 12345.0);                                             \
      T *got = make_out_##SFX(n, kp, NAN);                                                 \
      gmm_kernels_scalar.wdist_##SFX(n, D, kp, x, ldx, s, m, ref);                         \
      kt->wdist_##SFX(n, D, kp, x, ldx, s, m, got);                                        \
      for (size_t i = 0; i < n; ++i)                                                       \
        for (size_t k = 0; k < kp; ++k) {                                                  \
          double acc = 0;                                                                  \
          for (size_t d = 0; d < D; ++d) {                                                 \
            double xs = (double)x[i * ldx + d] * (double)s[d * kp + k];                    \
            double z = fabs(xs - (double)m[d * kp + k]);                                   \
            acc += z * z + 2 * z * (fabs(xs) + z);                                         \
          }                                                                                \
          scale[i * kp + k] = acc;                                                         \
        }                                                                                  \
      g_failures += compare_tile_##SFX("wdist", n, K, kp, got, ref, scale, 1);             \
      CHECK_MSG(guard_ok_##SFX(ref, n, kp), "%s scalar wdist wrote past the end", g_case); \
      gmm_free_aligned(ref);                                                               \
      gmm_free_aligned(got);                                                               \
    }                                                                                      \
    /* l2dist */                                                                           \
    {                                                                                      \
      T *ref = make_out_##SFX(n, kp, 12345.0);                                             \
      T *got = make_out_##SFX(n, kp, NAN);                                                 \
      gmm_kernels_scalar.l2dist_##SFX(n, D, kp, x, ldx, c, ref);                           \
      kt->l2dist_##SFX(n, D, kp, x, ldx, c, got);                                          \
      for (size_t i = 0; i < n; ++i)                                                       \
        for (size_t k = 0; k < kp; ++k) {                                                  \
          double acc = 0;                                                                  \
          for (size_t d = 0; d < D; ++d) {                                                 \
            double z = (double)x[i * ldx + d] - (double)c[d * kp + k];                     \
            acc += z * z;                                                                  \
          }                                                                                \
          scale[i * kp + k] = acc;                                                         \
        }                                                                                  \
      g_failures += compare_tile_##SFX("l2dist", n, K, kp, got, ref, scale, 0);            \
      gmm_free_aligned(ref);                                                               \
      gmm_free_aligned(got);                                                               \
    }                                                                                      \
    free(scale);                                                                           \
    free(xbase);                                                                           \
    gmm_free_aligned(s);                                                                   \
    gmm_free_aligned(m);                                                                   \
    gmm_free_aligned(c);                                                                   \
  }                                                                                        \
                                                                                           \
  /* dist_l2 and accum on vectors starting `offx` / `offy` elements into exact-size        \
   * blocks (misaligned for odd offsets). */                                               \
  static void test_vectors_##SFX(gmm_kernels const *kt, size_t D, size_t offx,             \
                                 size_t offy, int kind)                                    \
  {                                                                                        \
    double base = kind == DATA_OFFSET ? 1000.0 : 0.0;                                      \
    T *xb = (T *)xmalloc((offx + D) * sizeof(T));                                          \
    T *yb = (T *)xmalloc((offy + D) * sizeof(T));                                          \
    T *x = xb + offx, *y = yb + offy;                                                      \
    snprintf(g_case, sizeof g_case, "[%s %s D=%zu offx=%zu offy=%zu data=%d]", kt->name,   \
             #T, D, offx, offy, kind);                                                     \
    for (size_t d = 0; d < D; ++d) {                                                       \
      x[d] = (T)(base + test_normal());                                                    \
      y[d] = (T)(base + test_normal());                                                    \
    }                                                                                      \
    /* dist_l2 */                                                                          \
    {                                                                                      \
      double r = gmm_kernels_scalar.dist_l2_##SFX(D, x, y);                                \
      double g = kt->dist_l2_##SFX(D, x, y);                                               \
      double sc = 0;                                                                       \
      for (size_t d = 0; d < D; ++d) {                                                     \
        double z = (double)x[d] - (double)y[d];                                            \
        sc += z * z;                                                                       \
      }                                                                                    \
      CHECK_MSG(fabs(g - r) <= (RTOL) * sc, "%s dist_l2 = %.17g, scalar %.17g", g_case,    \
                g, r);                                                                     \
    }                                                                                      \
    /* accum: several points into the same sums; one guard element after D */              \
    {                                                                                      \
      T *s1g = (T *)xmalloc((offx + D + 1) * sizeof(T));                                   \
      T *s2g = (T *)xmalloc((offy + D + 1) * sizeof(T));                                   \
      T *s1r = (T *)xmalloc((D + 1) * sizeof(T));                                          \
      T *s2r = (T *)xmalloc((D + 1) * sizeof(T));                                          \
      T *s1 = s1g + offx, *s2 = s2g + offy;                                                \
      double *sc1 = (double *)xmalloc(D * sizeof(double));                                 \
      double *sc2 = (double *)xmalloc(D * sizeof(double));                                 \
      int bad = 0;                                                                         \
      for (size_t d = 0; d < D; ++d) {                                                     \
        s1r[d] = s1[d] = (T)test_normal();                                                 \
        s2r[d] = s2[d] = (T)(10 * test_uniform());                                         \
        sc1[d] = fabs((double)s1[d]);                                                      \
        sc2[d] = fabs((double)s2[d]);                                                      \
      }                                                                                    \
      s1[D] = s2[D] = s1r[D] = s2r[D] = (T)g_guard;                                        \
      for (int rep = 0; rep < 5; ++rep) {                                                  \
        T q = (T)test_uniform();                                                           \
        for (size_t d = 0; d < D; ++d) y[d] = (T)(base + test_normal()); /* mu */          \
        gmm_kernels_scalar.accum_##SFX(D, q, x, y, s1r, s2r);                              \
        kt->accum_##SFX(D, q, x, y, s1, s2);                                               \
        for (size_t d = 0; d < D; ++d) {                                                   \
          double z = (double)x[d] - (double)y[d];                                          \
          sc1[d] += fabs((double)q * z);                                                   \
          sc2[d] += fabs((double)q) * z * z;                                               \
        }                                                                                  \
      }                                                                                    \
      for (size_t d = 0; d < D; ++d) {                                                     \
        int ok = fabs((double)s1[d] - (double)s1r[d]) <= (RTOL) * sc1[d] &&                \
                 fabs((double)s2[d] - (double)s2r[d]) <= (RTOL) * sc2[d];                  \
        if (!ok && bad++ < MAX_REPORTS)                                                    \
          fprintf(stderr, "%s accum: s1[%zu] = %.17g (scalar %.17g), s2 = %.17g (%.17g)\n", \
                  g_case, d, (double)s1[d], (double)s1r[d], (double)s2[d],                 \
                  (double)s2r[d]);                                                         \
      }                                                                                    \
      g_failures += bad;                                                                   \
      CHECK_MSG(s1[D] == (T)g_guard && s2[D] == (T)g_guard, "%s accum wrote past D",       \
                g_case);                                                                   \
      free(s1g);                                                                           \
      free(s2g);                                                                           \
      free(s1r);                                                                           \
      free(s2r);                                                                           \
      free(sc1);                                                                           \
      free(sc2);                                                                           \
    }                                                                                      \
    free(xb);                                                                              \
    free(yb);                                                                              \
  }

DEFINE_TESTS(float, f, 1e-5)
DEFINE_TESTS(double, d, 1e-13)

static void test_level(gmm_kernels const *kt)
{
  static size_t const vecDs[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33,
                                 63, 64, 65, 67, 97, 128, 255, 1000};
  for (size_t a = 0; a < COUNT(g_ns); ++a)
    for (size_t b = 0; b < COUNT(g_Ds); ++b)
      for (size_t c = 0; c < COUNT(g_Ks); ++c)
        for (int layout = 0; layout < 3; ++layout) {
          size_t n = g_ns[a], D = g_Ds[b], K = g_Ks[c];
          /* (ldx, offset): packed aligned, packed odd offset, padded odd offset */
          size_t ldx = layout == 2 ? D + 3 : D, off = layout == 0 ? 0 : 1;
          for (int kind = 0; kind < NUM_DATA; ++kind) {
            test_tiles_f(kt, n, D, K, ldx, off, kind);
            test_tiles_d(kt, n, D, K, ldx, off, kind);
          }
        }
  for (size_t b = 0; b < COUNT(vecDs); ++b)
    for (size_t offx = 0; offx < 3; ++offx)
      for (int kind = 0; kind < NUM_DATA; ++kind) {
        size_t offy = (offx + 1) % 3;
        test_vectors_f(kt, vecDs[b], offx, offy, kind);
        test_vectors_d(kt, vecDs[b], offx, offy, kind);
      }
}

int main(void)
{
  int tested = 0;
  test_seed(20240611);
  CHECK(gmm_kernels_for_level(VL_SIMD_SCALAR) == &gmm_kernels_scalar);
  for (int level = VL_SIMD_SSE2; level <= VL_SIMD_AVX512; ++level) {
    gmm_kernels const *kt = gmm_kernels_for_level(level);
    char const *name = vl_get_simd_level_name(level);
    if (!kt) {
      printf("level %d (%s): skipped (not built or not supported by this CPU)\n", level, name);
      continue;
    }
    CHECK(kt->level == level);
    CHECK(strcmp(kt->name, name) == 0);
    {
      int before = g_failures;
      test_level(kt);
      printf("level %d (%s): %s\n", level, name, g_failures == before ? "ok" : "FAILED");
    }
    ++tested;
  }
  if (!tested && !g_failures) {
    printf("no SIMD level available: skipped\n");
    return 77;
  }
  TEST_EXIT();
}
