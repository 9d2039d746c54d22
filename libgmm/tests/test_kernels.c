/* test_kernels.c: every SIMD kernel table against the scalar reference.
 *
 * For the SIMD level given as the argument, every kernel is run on the same
 * inputs as gmm_kernels_scalar and compared element by element. The
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
 * lse (log-sum-exp + posteriors): q must agree with scalar within 1e-6 float /
 * 1e-14 double (absolute, q in [0, 1]: a few ulp of exp) plus 2 q sigma, and
 * ll within 1e-6 / 1e-14 relative (to max(1, |ll|)) plus 2 sigma, where
 * sigma = u sum_j P_j / S (u = 2^-24 / 2^-53, P_j the partial sums of
 * S = sum_k exp(l_k - m) in the scalar order, computed in double) bounds the
 * relative rounding error of the scalar's sequential sum S: with K = 256
 * comparable terms that alone reaches ~1e-6 in float, and the vector sum (in
 * lanes) differs from it by up to twice the bound. Components with c = -inf
 * must get exactly q = 0; rows with every l = -inf give NaN like scalar.
 * q layouts: separate and misaligned with ldq = K, in place (q == tile,
 * ldq = kp), and ldq = K + 5 with gaps that must stay untouched.
 * The vector exp of each level (the test hook vexp_f/vexp_d) is swept over
 * 1e6 arguments in [-104, 0] (float) and [-745, 0] (double), against exp in
 * double resp. expl, and must stay within 2 ulp; special values exactly.
 *
 * GMM_TEST_QUICK=1 (set by .ci/valgrind.sh: valgrind runs this test about
 * 100x slower) keeps a reduced set of sizes that still covers a single
 * element, odd tails of every vector width and multi-vector rows, and
 * sweeps each exp range with 2e4 arguments instead of 1e6.
 *
 * One level per run (the argument); exit 77 (skipped) if it is not available,
 * except NEON on aarch64 when the build enables it (GMM_TEST_NEON_ENABLED):
 * NEON is baseline there, so a NEON case that cannot run fails, never skips.
 */
#include <float.h>
#include <stdint.h>

#include "test_util.h"
#include "util/internal.h"
#include "simd/kernels.h"
#include "simd/vexp.h"
#include "vl/libgmm.h"

static size_t const g_ns[] = {1, 3, 4, 5, 7, 13, 64, 67};
static size_t const g_Ds[] = {1, 2, 3, 7, 8, 16, 17, 67, 97, 128};
static size_t const g_Ks[] = {1, 5, 16, 17, 40, 256};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Quick mode (GMM_TEST_QUICK=1): the reduced size sets. */
static int g_quick;
static size_t const g_ns_quick[] = {1, 5, 13, 67};
static size_t const g_Ds_quick[] = {1, 3, 8, 17, 67};
static size_t const g_Ks_quick[] = {1, 5, 17, 40};

/* The size set in use: `full` or, in quick mode, `quick`. */
#define SIZES(full, quick) (g_quick ? (quick) : (full))
#define NSIZES(full, quick) (g_quick ? COUNT(quick) : COUNT(full))

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
      double *s2g = (double *)xmalloc((offy + D + 1) * sizeof(double));                    \
      T *s1r = (T *)xmalloc((D + 1) * sizeof(T));                                          \
      double *s2r = (double *)xmalloc((D + 1) * sizeof(double));                           \
      T *s1 = s1g + offx;                                                                  \
      double *s2 = s2g + offy; /* second moments are accumulated in double */              \
      double *sc1 = (double *)xmalloc(D * sizeof(double));                                 \
      double *sc2 = (double *)xmalloc(D * sizeof(double));                                 \
      int bad = 0;                                                                         \
      for (size_t d = 0; d < D; ++d) {                                                     \
        s1r[d] = s1[d] = (T)test_normal();                                                 \
        s2r[d] = s2[d] = (T)(10 * test_uniform());                                         \
        sc1[d] = fabs((double)s1[d]);                                                      \
        sc2[d] = fabs((double)s2[d]);                                                      \
      }                                                                                    \
      s1[D] = s1r[D] = (T)g_guard;                                                         \
      s2[D] = s2r[D] = g_guard;                                                            \
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
      CHECK_MSG(s1[D] == (T)g_guard && s2[D] == g_guard, "%s accum wrote past D",          \
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

/* ---- log-sum-exp kernels and the vector exp ------------------------------ */

/* Distances of the lse tests: kind 0 spans tiny to huge (1e-3 .. 1e4, so
 * exp(l - m) spans 1 down to underflow, through the subnormals), kind 1 is
 * narrow (64 +- 8, E-step-like at D = 64: many comparable posteriors). */
enum { LSE_WIDE = 0, LSE_NARROW = 1, NUM_LSE = 2 };
/* q layouts: ldq = K in a separate exact-size block starting one element in
 * (misaligned); ldq = kp with q == tile (in place); ldq = K + 5 in a
 * separate block whose gaps must stay untouched. */
enum { Q_PACKED = 0, Q_ALIAS = 1, Q_STRIDED = 2, NUM_QMODES = 3 };
/* Largest differences seen (per type, reset per level), for the report. */
static double g_lse_dq[2], g_lse_dll[2], g_lse_use[2];

#define DEFINE_LSE_TESTS(T, SFX, QTOL, LLTOL, TI)                                             \
  /* c: log-weights in [-60, -10], every 7th component (k % 7 == 3, K > 1) skipped        \
   * (-inf), padding -inf; all -inf if `all_skipped`. */                                   \
  static T *make_c_##SFX(size_t K, size_t kp, int all_skipped)                             \
  {                                                                                        \
    T *c = (T *)xalloc_aligned(1, kp, sizeof(T));                                          \
    for (size_t k = 0; k < kp; ++k)                                                        \
      c[k] = (k >= K || all_skipped || (K > 1 && k % 7 == 3))                              \
                 ? (T)(-INFINITY)                                                          \
                 : (T)(-60.0 + 50.0 * test_uniform());                                     \
    return c;                                                                              \
  }                                                                                        \
                                                                                           \
  static void test_lse_##SFX(gmm_kernels const *kt, size_t n, size_t K, int kind,          \
                             int qmode, int all_skipped)                                   \
  {                                                                                        \
    size_t const kp = gmm_kpad(K);                                                         \
    size_t const ldq = qmode == Q_ALIAS ? kp : qmode == Q_STRIDED ? K + 5 : K;             \
    size_t const qoff = qmode == Q_PACKED ? 1 : 0, qlen = qoff + (n - 1) * ldq + K;        \
    T *c = make_c_##SFX(K, kp, all_skipped);                                               \
    T *tile = make_out_##SFX(n, kp, 0.0), *tref = make_out_##SFX(n, kp, 0.0);              \
    T *qbase = NULL, *qrbase = NULL, *q, *qr;                                              \
    double *ll = (double *)xmalloc(n * sizeof(double));                                    \
    double *llr = (double *)xmalloc(n * sizeof(double));                                   \
    double *sigma = (double *)xmalloc(n * sizeof(double));                                 \
    int bad = 0;                                                                           \
    snprintf(g_case, sizeof g_case, "[%s %s lse n=%zu K=%zu data=%d q=%d%s]", kt->name,    \
             #T, n, K, kind, qmode, all_skipped ? " all -inf" : "");                       \
    for (size_t i = 0; i < n; ++i)                                                         \
      for (size_t k = 0; k < kp; ++k) {                                                    \
        double d;                                                                          \
        if (k >= K) /* padding: finite, arbitrary */                                       \
          d = k % 2 ? 12345.0 : 0.0;                                                       \
        else if (kind == LSE_WIDE)                                                         \
          d = pow(10.0, -3.0 + 7.0 * test_uniform());                                      \
        else                                                                               \
          d = 64.0 + 8.0 * test_normal();                                                  \
        tile[i * kp + k] = tref[i * kp + k] = (T)d;                                        \
      }                                                                                    \
    if (qmode == Q_ALIAS) {                                                                \
      q = tile;                                                                            \
      qr = tref;                                                                           \
    } else {                                                                               \
      qbase = (T *)xmalloc(qlen * sizeof(T));                                              \
      qrbase = (T *)xmalloc(qlen * sizeof(T));                                             \
      for (size_t j = 0; j < qlen; ++j) qbase[j] = qrbase[j] = (T)g_guard;                 \
      q = qbase + qoff;                                                                    \
      qr = qrbase + qoff;                                                                  \
      for (size_t i = 0; i < n; ++i)                                                       \
        for (size_t k = 0; k < K; ++k) q[i * ldq + k] = (T)NAN;                            \
    }                                                                                      \
    for (size_t i = 0; i < n; ++i) ll[i] = NAN;                                            \
    /* sigma[i]: bound on the relative rounding error of the scalar's sum */               \
    for (size_t i = 0; i < n; ++i) {                                                       \
      double m = -INFINITY, P = 0, sumP = 0;                                               \
      for (size_t k = 0; k < K; ++k) {                                                     \
        double l = (double)c[k] - 0.5 * (double)tile[i * kp + k];                          \
        if (l > m) m = l;                                                                  \
      }                                                                                    \
      for (size_t k = 0; k < K; ++k) {                                                     \
        P += exp((double)c[k] - 0.5 * (double)tile[i * kp + k] - m);                       \
        if (k > 0) sumP += P;                                                              \
      }                                                                                    \
      sigma[i] = P > 0 ? ldexp(sumP / P, sizeof(T) == 4 ? -24 : -53) : 0;                  \
    }                                                                                      \
    gmm_lse_scalar_##SFX(n, K, kp, c, tref, qr, ldq, llr);                                 \
    kt->lse_##SFX(n, K, kp, c, tile, q, ldq, ll);                                          \
    for (size_t i = 0; i < n; ++i) {                                                       \
      double g = ll[i], r = llr[i];                                                        \
      double sc = fabs(r) > 1 ? fabs(r) : 1;                                               \
      int ok = all_skipped ? isnan(g) && isnan(r)                                          \
                           : fabs(g - r) <= (LLTOL) * sc + 2 * sigma[i];                   \
      if (!all_skipped && fabs(g - r) / sc > g_lse_dll[TI]) g_lse_dll[TI] = fabs(g - r) / sc; \
      if (!ok && bad++ < MAX_REPORTS)                                                      \
        fprintf(stderr, "%s ll[%zu] = %.17g, scalar %.17g\n", g_case, i, g, r);            \
      for (size_t k = 0; k < K; ++k) {                                                     \
        double gq = q[i * ldq + k], rq = qr[i * ldq + k];                                  \
        if (all_skipped)                                                                   \
          ok = isnan(gq) && isnan(rq);                                                     \
        else if (c[k] == (T)(-INFINITY)) /* skipped component: exactly 0 */                \
          ok = gq == 0.0 && rq == 0.0;                                                     \
        else                                                                               \
        {                                                                                  \
          ok = fabs(gq - rq) <= (QTOL) + 2 * rq * sigma[i] && gq >= 0.0 && gq <= 1.0;      \
          if (fabs(gq - rq) > g_lse_dq[TI]) g_lse_dq[TI] = fabs(gq - rq);                  \
          if (fabs(gq - rq) / ((QTOL) + 2 * rq * sigma[i]) > g_lse_use[TI])                \
            g_lse_use[TI] = fabs(gq - rq) / ((QTOL) + 2 * rq * sigma[i]);                  \
        }                                                                                  \
        if (!ok && bad++ < MAX_REPORTS)                                                    \
          fprintf(stderr, "%s q[%zu][%zu] = %.17g, scalar %.17g\n", g_case, i, k, gq, rq); \
      }                                                                                    \
    }                                                                                      \
    if (!guard_ok_##SFX(tile, n, kp)) {                                                    \
      fprintf(stderr, "%s lse wrote past the last tile row\n", g_case);                    \
      ++bad;                                                                               \
    }                                                                                      \
    if (qbase) {                                                                           \
      /* everything in the q block that is not a posterior stays untouched */              \
      for (size_t j = 0; j < qlen; ++j) {                                                  \
        size_t rel = j - qoff, k = j < qoff ? 0 : rel % ldq;                               \
        if ((j < qoff || k >= K) && qbase[j] != (T)g_guard) {                              \
          fprintf(stderr, "%s lse wrote q element %zu outside the posteriors\n", g_case,   \
                  j);                                                                      \
          ++bad;                                                                           \
          break;                                                                           \
        }                                                                                  \
      }                                                                                    \
    }                                                                                      \
    g_failures += bad;                                                                     \
    free(qbase);                                                                           \
    free(qrbase);                                                                          \
    free(ll);                                                                              \
    free(llr);                                                                             \
    free(sigma);                                                                           \
    gmm_free_aligned(c);                                                                   \
    gmm_free_aligned(tile);                                                                \
    gmm_free_aligned(tref);                                                                \
  }

DEFINE_LSE_TESTS(float, f, 1e-6, 1e-6, 0)
DEFINE_LSE_TESTS(double, d, 1e-14, 1e-14, 1)

static void test_lse_level(gmm_kernels const *kt)
{
  static size_t const ns_full[] = {1, 3, 7, 64, 128};
  static size_t const Ks_full[] = {1, 2, 5, 16, 17, 100, 256};
  static size_t const ns_quick[] = {1, 7, 64};
  static size_t const Ks_quick[] = {1, 5, 17, 100};
  size_t const *ns = SIZES(ns_full, ns_quick), *Ks = SIZES(Ks_full, Ks_quick);
  size_t const nns = NSIZES(ns_full, ns_quick), nKs = NSIZES(Ks_full, Ks_quick);
  g_lse_dq[0] = g_lse_dq[1] = g_lse_dll[0] = g_lse_dll[1] = g_lse_use[0] = g_lse_use[1] = 0;
  for (size_t a = 0; a < nns; ++a)
    for (size_t b = 0; b < nKs; ++b)
      for (int kind = 0; kind < NUM_LSE; ++kind)
        for (int qmode = 0; qmode < NUM_QMODES; ++qmode) {
          test_lse_f(kt, ns[a], Ks[b], kind, qmode, 0);
          test_lse_d(kt, ns[a], Ks[b], kind, qmode, 0);
        }
  /* rows whose l are all -inf: NaN, as in the scalar reference */
  for (size_t b = 0; b < nKs; ++b) {
    test_lse_f(kt, 3, Ks[b], LSE_WIDE, Q_PACKED, 1);
    test_lse_d(kt, 3, Ks[b], LSE_WIDE, Q_ALIAS, 1);
  }
  printf("  %-7s lse vs scalar: max |dq| %.2g float, %.2g double (%.0f%%, %.0f%% of the "
         "tolerance); max |dll|/max(1,|ll|) %.2g float, %.2g double\n",
         kt->name, g_lse_dq[0], g_lse_dq[1], 100 * g_lse_use[0], 100 * g_lse_use[1],
         g_lse_dll[0], g_lse_dll[1]);
}

/* Error of y in ulp of the exact value r (the ulp of the smallest subnormal
 * below the normal range). */
static double ulp_err_f(float y, double r)
{
  int e;
  if (r == 0.0) return y == 0.0f ? 0.0 : HUGE_VAL;
  frexp(r, &e); /* r = f 2^e, f in [0.5, 1): ulp = 2^(e - 24) */
  if (e - 24 < -149) e = -149 + 24;
  return fabs((double)y - r) / ldexp(1.0, e - 24);
}

static double ulp_err_d(double y, long double r)
{
  int e;
  if (r == 0.0L) return y == 0.0 ? 0.0 : HUGE_VAL;
  frexpl(r, &e); /* ulp = 2^(e - 53) */
  if (e - 53 < -1074) e = -1074 + 53;
  return (double)(fabsl((long double)y - r) / ldexpl(1.0L, e - 53));
}

#define EXP_SWEEP_FULL 1000000
#define EXP_SWEEP_QUICK 20000
#define EXP_SWEEP (g_quick ? (size_t)EXP_SWEEP_QUICK : (size_t)EXP_SWEEP_FULL)

/* The double reference: expl if long double arithmetic really is extended
 * (not under valgrind, which runs x87 code in double precision), else exp
 * (glibc's is within ~0.5 ulp, so the measured errors are then ~0.5 ulp
 * less certain). */
static long double ref_exp_d(double x)
{
  static int extended = -1;
  if (extended < 0) {
    volatile long double a = 1.0L;
    a += 0x1p-60L;
    extended = a != 1.0L;
    if (!extended) printf("  (long double is not extended here: double reference uses exp)\n");
  }
  return extended ? expl((long double)x) : (long double)exp(x);
}

/* Max ulp error of kt->vexp_f over EXP_SWEEP arguments in [lo, hi] (a
 * jittered grid), against exp in double (error < 2^-29 ulp of float). */
static double sweep_exp_f(gmm_kernels const *kt, double lo, double hi, double *worst_x)
{
  float *x = (float *)xmalloc(EXP_SWEEP * sizeof(float));
  float *y = (float *)xmalloc(EXP_SWEEP * sizeof(float));
  double maxerr = 0;
  for (size_t i = 0; i < EXP_SWEEP; ++i)
    x[i] = (float)(lo + (hi - lo) * ((double)i + test_uniform()) / EXP_SWEEP);
  kt->vexp_f(EXP_SWEEP, x, y);
  for (size_t i = 0; i < EXP_SWEEP; ++i) {
    double err = ulp_err_f(y[i], exp((double)x[i]));
    if (!(err <= maxerr)) { /* also catches NaN */
      maxerr = isnan(err) ? HUGE_VAL : err;
      *worst_x = x[i];
    }
  }
  free(x);
  free(y);
  return maxerr;
}

/* The same for kt->vexp_d against ref_exp_d (expl). */
static double sweep_exp_d(gmm_kernels const *kt, double lo, double hi, double *worst_x)
{
  double *x = (double *)xmalloc(EXP_SWEEP * sizeof(double));
  double *y = (double *)xmalloc(EXP_SWEEP * sizeof(double));
  double maxerr = 0;
  for (size_t i = 0; i < EXP_SWEEP; ++i)
    x[i] = lo + (hi - lo) * ((double)i + test_uniform()) / EXP_SWEEP;
  kt->vexp_d(EXP_SWEEP, x, y);
  for (size_t i = 0; i < EXP_SWEEP; ++i) {
    double err = ulp_err_d(y[i], ref_exp_d(x[i]));
    if (!(err <= maxerr)) {
      maxerr = isnan(err) ? HUGE_VAL : err;
      *worst_x = x[i];
    }
  }
  free(x);
  free(y);
  return maxerr;
}

/* Accuracy of the level's vector exp: max ulp over [-104, 0] (float) and
 * [-745, 0] (double), the range the lse needs (its arguments l - m are
 * <= 0), asserted <= 2 ulp; the subnormal ranges and [-1e-3, 0] get sweeps of
 * their own, and the positive range is checked too. Special values exactly. */
/* The log-sum-exp skips vectors whose arguments are all below
 * GMM_EXPF_ZERO / GMM_EXP_ZERO, assuming the level's exp returns +0 there:
 * checked for every float in [GMM_EXPF_LO - 1, GMM_EXPF_ZERO] (every 61st in
 * quick mode), and for doubles on a sweep of [GMM_EXP_LO - 1, GMM_EXP_ZERO]
 * plus the bound itself. */
static void test_exp_zero_bound(gmm_kernels const *kt)
{
  enum { CHUNK = 4096 };
  float xf[CHUNK], yf[CHUNK];
  double xd[CHUNK], yd[CHUNK];
  unsigned const stepf = g_quick ? 61u : 1u;
  size_t const nd = g_quick ? 20000 : 1000000, bad_max = 5;
  size_t bad = 0, count = 0;
  float x = GMM_EXPF_LO - 1.0f;
  while (x <= GMM_EXPF_ZERO) {
    size_t m = 0;
    for (; m < CHUNK && x <= GMM_EXPF_ZERO; ++m) {
      xf[m] = x;
      for (unsigned s = 0; s < stepf && x <= GMM_EXPF_ZERO; ++s) x = nextafterf(x, 0.0f);
    }
    if (m && xf[m - 1] != GMM_EXPF_ZERO && x > GMM_EXPF_ZERO) xf[m - 1] = GMM_EXPF_ZERO;
    kt->vexp_f(m, xf, yf);
    for (size_t i = 0; i < m; ++i, ++count)
      if (!(yf[i] == 0.0f && !signbit(yf[i])) && bad++ < bad_max)
        fprintf(stderr, "%s vexp_f(%.9g) = %g, not +0\n", kt->name, xf[i], yf[i]);
  }
  for (size_t j = 0; j < nd; j += CHUNK) {
    size_t const m = nd - j < CHUNK ? nd - j : CHUNK;
    for (size_t i = 0; i < m; ++i)
      xd[i] = GMM_EXP_ZERO - (GMM_EXP_ZERO - GMM_EXP_LO + 1.0) * (double)(j + i) / (double)nd;
    if (j == 0) xd[0] = GMM_EXP_ZERO;
    kt->vexp_d(m, xd, yd);
    for (size_t i = 0; i < m; ++i)
      if (!(yd[i] == 0.0 && !signbit(yd[i])) && bad++ < bad_max)
        fprintf(stderr, "%s vexp_d(%.17g) = %g, not +0\n", kt->name, xd[i], yd[i]);
  }
  CHECK_MSG(bad == 0, "%s: exp below the zero bound is not +0 (%zu cases)", kt->name, bad);
  CHECK_MSG(count > (g_quick ? 5000u : 300000u), "%s: only %zu floats below the zero bound",
            kt->name, count);
}

static void test_vexp_level(gmm_kernels const *kt, int assert_ulp)
{
  static struct { double lo, hi; } const rf[] = {{-104, 0}, {-104, -87.3}, {-1e-3, 0}, {0, 88.7}};
  static struct { double lo, hi; } const rd[] = {{-745, 0}, {-745, -708.4}, {-1e-3, 0}, {0, 709.7}};
  for (size_t j = 0; j < COUNT(rf); ++j) {
    double wx = 0, e = sweep_exp_f(kt, rf[j].lo, rf[j].hi, &wx);
    printf("  %-7s exp float  [%9g, %7g]: max %.3f ulp (at %.9g)\n", kt->name, rf[j].lo,
           rf[j].hi, e, wx);
    if (assert_ulp) CHECK_MSG(e <= 2.0, "%s expf max error %.3f ulp at %.9g", kt->name, e, wx);
  }
  for (size_t j = 0; j < COUNT(rd); ++j) {
    double wx = 0, e = sweep_exp_d(kt, rd[j].lo, rd[j].hi, &wx);
    printf("  %-7s exp double [%9g, %7g]: max %.3f ulp (at %.17g)\n", kt->name, rd[j].lo,
           rd[j].hi, e, wx);
    if (assert_ulp) CHECK_MSG(e <= 2.0, "%s exp max error %.3f ulp at %.17g", kt->name, e, wx);
  }
  {
    /* 11 specials: exact 0 for -inf and far below the range, 1 at 0 and -0, a
     * subnormal result, NaN in -> NaN out, +inf and overflow -> +inf. */
    float xf[11] = {-INFINITY, 0.0f, -0.0f, -1e-30f, -200.0f, -1e30f, -103.0f, NAN,
                    INFINITY, 100.0f, -1.0f};
    double xd[11] = {-INFINITY, 0.0, -0.0, -1e-300, -1000.0, -1e300, -744.0, NAN,
                     INFINITY, 1000.0, -1.0};
    float yf[11];
    double yd[11];
    kt->vexp_f(11, xf, yf);
    kt->vexp_d(11, xd, yd);
    CHECK_MSG(yf[0] == 0.0f && yd[0] == 0.0, "%s exp(-inf) = %g / %g", kt->name, yf[0], yd[0]);
    CHECK_MSG(yf[1] == 1.0f && yd[1] == 1.0, "%s exp(0) = %.9g / %.17g", kt->name, yf[1], yd[1]);
    CHECK_MSG(yf[2] == 1.0f && yd[2] == 1.0, "%s exp(-0) = %.9g / %.17g", kt->name, yf[2], yd[2]);
    CHECK_MSG(yf[3] == 1.0f && yd[3] == 1.0, "%s exp(-tiny) = %.9g / %.17g", kt->name, yf[3],
              yd[3]);
    CHECK_MSG(yf[4] == 0.0f && yd[4] == 0.0 && yf[5] == 0.0f && yd[5] == 0.0,
              "%s exp(very negative) = %g %g / %g %g", kt->name, yf[4], yf[5], yd[4], yd[5]);
    CHECK_MSG(ulp_err_f(yf[6], exp(-103.0)) <= 1.0 && ulp_err_d(yd[6], ref_exp_d(-744.0)) <= 1.0,
              "%s subnormal exp(-103) = %g, exp(-744) = %g", kt->name, yf[6], yd[6]);
    CHECK_MSG(isnan(yf[7]) && isnan(yd[7]), "%s exp(NaN) = %g / %g", kt->name, yf[7], yd[7]);
    CHECK_MSG(isinf(yf[8]) && yf[8] > 0 && isinf(yd[8]) && yd[8] > 0 && isinf(yf[9]) &&
                  isinf(yd[9]),
              "%s exp(+inf), exp(large) = %g %g / %g %g", kt->name, yf[8], yf[9], yd[8], yd[9]);
    CHECK_MSG(ulp_err_f(yf[10], exp(-1.0)) <= 1.0 && ulp_err_d(yd[10], ref_exp_d(-1.0)) <= 1.0,
              "%s exp(-1) = %.9g / %.17g", kt->name, yf[10], yd[10]);
  }
  /* every tail length of the hook (1 .. 2 vectors + 1) */
  for (size_t n = 1; n <= 33; ++n) {
    float xf[33], yf[34];
    double xd[33], yd[34];
    for (size_t i = 0; i < n; ++i) {
      xf[i] = (float)(-10.0 * test_uniform());
      xd[i] = -10.0 * test_uniform();
    }
    yf[n] = -1.0f;
    yd[n] = -1.0;
    kt->vexp_f(n, xf, yf);
    kt->vexp_d(n, xd, yd);
    for (size_t i = 0; i < n; ++i) {
      CHECK_MSG(ulp_err_f(yf[i], exp((double)xf[i])) <= 2.0, "%s vexp_f n=%zu [%zu]", kt->name,
                n, i);
      CHECK_MSG(ulp_err_d(yd[i], ref_exp_d(xd[i])) <= 2.0, "%s vexp_d n=%zu [%zu]",
                kt->name, n, i);
    }
    CHECK_MSG(yf[n] == -1.0f && yd[n] == -1.0, "%s vexp wrote past n=%zu", kt->name, n);
  }
}

/* select: the same indices as scalar, and the column sums bit for bit
 * (each column gets one addition, so there is nothing to reorder). */
#define DEFINE_TEST_SELECT(T, SFX)                                                          \
  static void test_select_##SFX(gmm_kernels const *kt)                                      \
  {                                                                                         \
    static size_t const Ks[] = {1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 100, 256, 257};          \
    for (size_t c = 0; c < COUNT(Ks); ++c) {                                                \
      size_t const K = Ks[c];                                                               \
      T *q = xmalloc((K + 1) * sizeof(T)), *s1 = xmalloc(K * sizeof(T)),                    \
        *s2 = xmalloc(K * sizeof(T));                                                       \
      vl_uint32 *i1 = xmalloc(K * sizeof(vl_uint32)), *i2 = xmalloc(K * sizeof(vl_uint32)); \
      T const thr = (T)0.01;                                                                \
      size_t n1, n2;                                                                        \
      for (size_t k = 0; k < K; ++k) {                                                      \
        double const u = test_uniform();                                                    \
        q[k + 1] = (T)(u < 0.3 ? u * 0.05 : (u < 0.35 ? 0.01 : u * 1e-4));                 \
        s1[k] = s2[k] = (T)test_normal();                                                   \
      }                                                                                     \
      n1 = gmm_kernels_scalar.select_##SFX(K, q + 1, thr, s1, i1);                          \
      n2 = kt->select_##SFX(K, q + 1, thr, s2, i2); /* q misaligned on purpose */            \
      CHECK_MSG(n1 == n2, "select_" #SFX " K=%zu: %zu vs %zu indices", K, n2, n1);          \
      CHECK(memcmp(i1, i2, n1 * sizeof(vl_uint32)) == 0);                                   \
      CHECK(memcmp(s1, s2, K * sizeof(T)) == 0);                                            \
      free(q);                                                                              \
      free(s1);                                                                             \
      free(s2);                                                                             \
      free(i1);                                                                             \
      free(i2);                                                                             \
    }                                                                                       \
  }
DEFINE_TEST_SELECT(float, f)
DEFINE_TEST_SELECT(double, d)

/* copy_rows: every element of the n x K block lands at its place, nothing
 * around it is written (guard values in the padding of dst and after its
 * last row), whatever the alignment of dst (offsets 0..3 elements) and K
 * (below, at and past a vector, odd), for src rows padded to kp. */
#define DEFINE_TEST_COPY_ROWS(T, SFX)                                                       \
  static void test_copy_rows_##SFX(gmm_kernels const *kt)                                   \
  {                                                                                         \
    static size_t const Ks[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 33, 256, 257};             \
    size_t const n = 13;                                                                    \
    for (size_t c = 0; c < COUNT(Ks); ++c)                                                  \
      for (size_t off = 0; off < 4; ++off) {                                                \
        size_t const K = Ks[c], kp = (K + 15) / 16 * 16, ldd = K + (off & 1);               \
        size_t const total = off + n * ldd + 4;                                             \
        T *src = xmalloc(n * kp * sizeof(T)), *buf = xmalloc(total * sizeof(T));            \
        T *dst = buf + off;                                                                 \
        int ok = 1;                                                                         \
        for (size_t j = 0; j < n * kp; ++j) src[j] = (T)test_normal();                      \
        for (size_t j = 0; j < total; ++j) buf[j] = (T)-7;                                  \
        kt->copy_rows_##SFX(n, K, src, kp, dst, ldd);                                       \
        for (size_t j = 0; j < off; ++j) ok &= buf[j] == (T)-7;                             \
        for (size_t i = 0; i < n; ++i)                                                      \
          for (size_t k = 0; k < ldd; ++k)                                                  \
            ok &= k < K ? memcmp(&dst[i * ldd + k], &src[i * kp + k], sizeof(T)) == 0       \
                        : dst[i * ldd + k] == (T)-7;                                        \
        for (size_t j = off + n * ldd; j < total; ++j) ok &= buf[j] == (T)-7;               \
        CHECK_MSG(ok, "copy_rows_" #SFX " K=%zu offset %zu ldd %zu", K, off, ldd);          \
        free(src);                                                                          \
        free(buf);                                                                          \
      }                                                                                     \
  }
DEFINE_TEST_COPY_ROWS(float, f)
DEFINE_TEST_COPY_ROWS(double, d)

/* fisher_terms: the scalar kernel gives the formula of kernels.h, and every
 * level the scalar bits (division and square roots are correctly rounded,
 * nothing is fused); D below, at and past a vector; u and v of both signs
 * and -0 (whose root keeps its sign), with and without the signed roots;
 * nothing past D is written. */
#define DEFINE_TEST_FISHER_TERMS(T, SFX)                                                     \
  static void test_fisher_terms_##SFX(gmm_kernels const *kt)                                 \
  {                                                                                          \
    static size_t const Ds[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 67};             \
    for (size_t c = 0; c < COUNT(Ds); ++c)                                                   \
      for (int sq = 0; sq < 2; ++sq) {                                                       \
        size_t const D = Ds[c], bytes = (D + 1) * sizeof(double);                            \
        double const a = 0.01 + test_uniform(), b = 0.01 + test_uniform(),                   \
                     s0 = 3 * test_uniform();                                                \
        T *cov = xmalloc(D * sizeof(T));                                                     \
        double *u = xmalloc(bytes), *v = xmalloc(bytes), *u2 = xmalloc(bytes);               \
        double *v2 = xmalloc(bytes), *ru = xmalloc(bytes), *rv = xmalloc(bytes);             \
        for (size_t d = 0; d < D; ++d) {                                                     \
          cov[d] = (T)pow(10.0, -3.0 + 6.0 * test_uniform());                                \
          u[d] = d == 1 ? -0.0 : 5 * test_normal();                                          \
          v[d] = 5 * test_normal();                                                          \
          ru[d] = u[d] * sqrt(1.0 / (double)cov[d]) * a;                                     \
          rv[d] = (v[d] * (1.0 / (double)cov[d]) - s0) * b;                                  \
          if (sq) {                                                                          \
            ru[d] = signbit(ru[d]) ? -sqrt(-ru[d]) : sqrt(ru[d]);                            \
            rv[d] = signbit(rv[d]) ? -sqrt(-rv[d]) : sqrt(rv[d]);                            \
          }                                                                                  \
        }                                                                                    \
        u[D] = v[D] = ru[D] = rv[D] = g_guard;                                               \
        memcpy(u2, u, bytes);                                                                \
        memcpy(v2, v, bytes);                                                                \
        gmm_kernels_scalar.fisher_terms_##SFX(D, cov, a, b, s0, sq, u, v);                   \
        kt->fisher_terms_##SFX(D, cov, a, b, s0, sq, u2, v2);                                \
        CHECK_MSG(memcmp(u, ru, bytes) == 0 && memcmp(v, rv, bytes) == 0,                    \
                  "fisher_terms_" #SFX " D=%zu sqrt=%d: scalar is not the formula", D, sq);  \
        CHECK_MSG(memcmp(u, u2, bytes) == 0 && memcmp(v, v2, bytes) == 0,                    \
                  "fisher_terms_" #SFX " D=%zu sqrt=%d: not the scalar bits", D, sq);        \
        free(cov);                                                                           \
        free(u);                                                                             \
        free(v);                                                                             \
        free(u2);                                                                            \
        free(v2);                                                                            \
        free(ru);                                                                            \
        free(rv);                                                                            \
      }                                                                                      \
  }
DEFINE_TEST_FISHER_TERMS(float, f)
DEFINE_TEST_FISHER_TERMS(double, d)

/* eparams_row: the scalar kernel gives the formula of kernels.h and every
 * level the scalar bits; D below, at and past a vector, variances over
 * twelve decades, nothing past D written. */
#define DEFINE_TEST_EPARAMS_ROW(T, SFX)                                                      \
  static void test_eparams_row_##SFX(gmm_kernels const *kt)                                  \
  {                                                                                          \
    static size_t const Ds[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 67};             \
    for (size_t c = 0; c < COUNT(Ds); ++c) {                                                 \
      size_t const D = Ds[c], bytes = (D + 1) * sizeof(T);                                   \
      T *cov = xmalloc(bytes), *mean = xmalloc(bytes), *shift = xmalloc(bytes);              \
      T *s = xmalloc(bytes), *m = xmalloc(bytes), *s2 = xmalloc(bytes), *m2 = xmalloc(bytes); \
      T *rs = xmalloc(bytes), *rm = xmalloc(bytes);                                          \
      for (size_t d = 0; d < D; ++d) {                                                       \
        cov[d] = (T)pow(10.0, -6.0 + 12.0 * test_uniform());                                 \
        mean[d] = (T)(100 * test_normal());                                                  \
        shift[d] = (T)(100 * test_normal());                                                 \
        rs[d] = (T)(1.0 / sqrt((double)cov[d]));                                             \
        rm[d] = (T)(((double)mean[d] - (double)shift[d]) * (1.0 / sqrt((double)cov[d])));    \
      }                                                                                      \
      s[D] = m[D] = s2[D] = m2[D] = rs[D] = rm[D] = (T)g_guard;                              \
      gmm_kernels_scalar.eparams_row_##SFX(D, cov, mean, shift, s, m);                       \
      kt->eparams_row_##SFX(D, cov, mean, shift, s2, m2);                                    \
      CHECK_MSG(memcmp(s, rs, bytes) == 0 && memcmp(m, rm, bytes) == 0,                      \
                "eparams_row_" #SFX " D=%zu: scalar is not the formula", D);                 \
      CHECK_MSG(memcmp(s, s2, bytes) == 0 && memcmp(m, m2, bytes) == 0,                      \
                "eparams_row_" #SFX " D=%zu: not the scalar bits", D);                       \
      free(cov);                                                                             \
      free(mean);                                                                            \
      free(shift);                                                                           \
      free(s);                                                                               \
      free(m);                                                                               \
      free(s2);                                                                              \
      free(m2);                                                                              \
      free(rs);                                                                              \
      free(rm);                                                                              \
    }                                                                                        \
  }
DEFINE_TEST_EPARAMS_ROW(float, f)
DEFINE_TEST_EPARAMS_ROW(double, d)

/* all_above: 1 exactly when lo < x[i] < +inf for every i < n, for lo = -inf
 * (finite) and 0 (positive), n below, at and past a vector, one bad value
 * (NaN, +-inf, 0, -1, the largest finite, the smallest positive) at each
 * place in turn; the values past n (NaN) are never looked at. */
#define DEFINE_TEST_ALL_ABOVE(T, SFX, TMAX, TMIN)                                           \
  static void test_all_above_##SFX(gmm_kernels const *kt)                                   \
  {                                                                                         \
    static size_t const ns[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100};   \
    T const bad[] = {(T)NAN, (T)INFINITY, (T)-INFINITY, 0, -1, TMAX, TMIN};                 \
    T const los[] = {(T)-INFINITY, 0};                                                      \
    T *x = xmalloc(101 * sizeof(T));                                                        \
    for (size_t a = 0; a < COUNT(ns); ++a)                                                  \
      for (size_t l = 0; l < COUNT(los); ++l) {                                             \
        size_t const n = ns[a];                                                             \
        T const lo = los[l];                                                                \
        for (size_t i = 0; i < n; ++i) x[i] = (T)(1 + test_uniform());                      \
        x[n] = (T)NAN;                                                                      \
        CHECK_MSG(kt->all_above_##SFX(n, x, lo) == 1, "all_above_" #SFX " n=%zu lo=%g", n,  \
                  (double)lo);                                                              \
        for (size_t p = 0; p < n; ++p)                                                      \
          for (size_t b = 0; b < COUNT(bad); ++b) {                                         \
            T const keep = x[p];                                                            \
            int const want = bad[b] > lo && bad[b] < (T)INFINITY;                           \
            x[p] = bad[b];                                                                  \
            CHECK_MSG(kt->all_above_##SFX(n, x, lo) == want,                                \
                      "all_above_" #SFX " n=%zu lo=%g x[%zu]=%g", n, (double)lo, p,         \
                      (double)bad[b]);                                                      \
            x[p] = keep;                                                                    \
          }                                                                                 \
      }                                                                                     \
    free(x);                                                                                \
  }
DEFINE_TEST_ALL_ABOVE(float, f, FLT_MAX, FLT_TRUE_MIN)
DEFINE_TEST_ALL_ABOVE(double, d, DBL_MAX, DBL_TRUE_MIN)

/* moments: the rows of a block that kept a component, in registers.
 * (1) At this level, moments equals accum of every listed row into sums
 *     that start at zero, then added to the outputs: bit for bit (the pass
 *     relies on it: the M-step's numbers do not depend on the grouping).
 * (2) Against scalar: float bit for bit (every product t z is exact in
 *     double, so FMA changes nothing), double within accum's tolerance.
 * Rows: every other row, all rows, one row, none; q NULL (weight 1) or a
 * column of a posterior block with ldq = K + 3; x with ldx = D + 1. The
 * outputs start at nonzero values and have a guard element after D. */
#define DEFINE_TEST_MOMENTS(T, SFX, RTOL)                                                   \
  static void test_moments_##SFX(gmm_kernels const *kt)                                     \
  {                                                                                         \
    static size_t const Ds[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64,  \
                                65, 96, 128, 130};                                          \
    size_t const n = 37, ldq = 12, K = 9;                                                   \
    for (size_t c = 0; c < COUNT(Ds); ++c)                                                  \
      for (int pat = 0; pat < 4; ++pat)                                                     \
        for (int useq = 0; useq < 2; ++useq) {                                              \
          size_t const D = Ds[c], ldx = D + 1, k = 4;                                       \
          T *x = xmalloc(n * ldx * sizeof(T)), *mu = xmalloc(D * sizeof(T));                \
          T *q = xmalloc(n * ldq * sizeof(T));                                              \
          double *o[3][3], sc1 = 0, sc2 = 0; /* [scalar, level, accum][s0, s1, s2] */       \
          T *a1 = xmalloc((D + 1) * sizeof(T));                                             \
          double *a2 = xmalloc((D + 1) * sizeof(double));                                   \
          unsigned char rows[64];                                                           \
          size_t nr = 0;                                                                    \
          snprintf(g_case, sizeof g_case, "[%s %s moments D=%zu pattern=%d q=%d]",          \
                   kt->name, #T, D, pat, useq);                                             \
          for (size_t j = 0; j < n * ldx; ++j) x[j] = (T)(3 + test_normal());               \
          for (size_t j = 0; j < n * ldq; ++j) q[j] = (T)test_uniform();                    \
          for (size_t d = 0; d < D; ++d) mu[d] = (T)(3 + test_normal());                    \
          for (size_t i = 0; i < n; ++i)                                                    \
            if ((pat == 0 && i % 2 == 1) || pat == 1 || (pat == 2 && i == n - 1))           \
              rows[nr++] = (unsigned char)i;                                                \
          for (int a = 0; a < 3; ++a)                                                       \
            for (int b = 0; b < 3; ++b) {                                                   \
              size_t const len = b == 0 ? 2 : D + 1;                                        \
              o[a][b] = xmalloc(len * sizeof(double));                                      \
              for (size_t j = 0; j < len; ++j) o[a][b][j] = j + 1 < len ? 0.5 + j : g_guard; \
            }                                                                               \
          gmm_kernels_scalar.moments_##SFX(D, nr, rows, useq ? q + k : NULL, ldq, x, ldx, mu, \
                                           o[0][0], o[0][1], o[0][2]);                      \
          kt->moments_##SFX(D, nr, rows, useq ? q + k : NULL, ldq, x, ldx, mu, o[1][0],     \
                            o[1][1], o[1][2]);                                              \
          {                                                                                 \
            T a0 = 0;                                                                       \
            for (size_t d = 0; d <= D; ++d) {                                               \
              a1[d] = 0;                                                                    \
              a2[d] = 0;                                                                    \
            }                                                                               \
            for (size_t r = 0; r < nr; ++r) {                                               \
              T const v = useq ? q[rows[r] * ldq + k] : (T)1;                                \
              a0 += v;                                                                      \
              kt->accum_##SFX(D, v, x + rows[r] * ldx, mu, a1, a2);                         \
            }                                                                               \
            o[2][0][0] += (double)a0;                                                       \
            for (size_t d = 0; d < D; ++d) {                                                \
              o[2][1][d] += (double)a1[d];                                                  \
              o[2][2][d] += a2[d];                                                          \
            }                                                                               \
          }                                                                                 \
          CHECK_MSG(memcmp(o[1][0], o[2][0], sizeof(double)) == 0 &&                        \
                        memcmp(o[1][1], o[2][1], D * sizeof(double)) == 0 &&                \
                        memcmp(o[1][2], o[2][2], D * sizeof(double)) == 0,                  \
                    "%s differs from accum at the same level", g_case);                     \
          CHECK_MSG(o[0][0][0] == o[1][0][0], "%s s0 %.17g vs scalar %.17g", g_case,        \
                    o[1][0][0], o[0][0][0]);                                                \
          for (size_t d = 0; d < D; ++d) {                                                  \
            sc1 = 0.5 + d;                                                                  \
            sc2 = 0.5 + d;                                                                  \
            for (size_t r = 0; r < nr; ++r) {                                               \
              double const z = (double)x[rows[r] * ldx + d] - (double)mu[d];                 \
              sc1 += fabs(z);                                                               \
              sc2 += z * z;                                                                 \
            }                                                                               \
            if (sizeof(T) == sizeof(float))                                                 \
              CHECK_MSG(o[0][1][d] == o[1][1][d] && o[0][2][d] == o[1][2][d],               \
                        "%s d=%zu: %.17g %.17g vs scalar %.17g %.17g", g_case, d,           \
                        o[1][1][d], o[1][2][d], o[0][1][d], o[0][2][d]);                    \
            else                                                                            \
              CHECK_MSG(fabs(o[0][1][d] - o[1][1][d]) <= (RTOL) * sc1 &&                    \
                            fabs(o[0][2][d] - o[1][2][d]) <= (RTOL) * sc2,                  \
                        "%s d=%zu: %.17g %.17g vs scalar %.17g %.17g", g_case, d,           \
                        o[1][1][d], o[1][2][d], o[0][1][d], o[0][2][d]);                    \
          }                                                                                 \
          for (int a = 0; a < 2; ++a)                                                       \
            CHECK_MSG(o[a][0][1] == g_guard && o[a][1][D] == g_guard &&                     \
                          o[a][2][D] == g_guard, "%s wrote past D", g_case);                \
          for (int a = 0; a < 3; ++a)                                                       \
            for (int b = 0; b < 3; ++b) free(o[a][b]);                                      \
          free(x);                                                                          \
          free(mu);                                                                         \
          free(q);                                                                          \
          free(a1);                                                                         \
          free(a2);                                                                         \
        }                                                                                   \
    (void)K;                                                                                \
  }
DEFINE_TEST_MOMENTS(float, f, 1e-5)
DEFINE_TEST_MOMENTS(double, d, 1e-13)

/* l2argmin: at every level, the same as that level's l2dist followed by a
 * scan for the first minimum (bit for bit: the same distances); against
 * scalar, the chosen center's exact distance equals the exact minimum up to
 * the rounding tolerance. Cases: ties (duplicated centers: the first wins),
 * padding columns that would win if not excluded (points near the origin,
 * centers away from it: a padding column is a center at 0), ties in one
 * SIMD lane across vectors and tiles (centers 17 and 65 duplicate 1), rows whose
 * distances are all +inf (center 0, +inf) or NaN (the same), ldx = D and
 * D + 3, dist NULL. */
#define DEFINE_TEST_L2ARGMIN(T, SFX, RTOL)                                                  \
  static void test_l2argmin_##SFX(gmm_kernels const *kt)                                    \
  {                                                                                         \
    static size_t const ns[] = {1, 3, 5, 6, 7, 12, 13, 67};                                 \
    static size_t const Ds[] = {1, 3, 16, 17, 64, 67};                                      \
    static size_t const Ks[] = {1, 5, 16, 17, 40, 64, 65, 100, 256};                        \
    for (size_t a = 0; a < COUNT(ns); ++a)                                                  \
      for (size_t b = 0; b < COUNT(Ds); ++b)                                                \
        for (size_t e = 0; e < COUNT(Ks); ++e)                                              \
          for (int pad = 0; pad < 2; ++pad) {                                               \
            size_t const n = ns[a], D = Ds[b], K = Ks[e], kp = gmm_kpad(K);                 \
            size_t const ldx = pad ? D + 3 : D;                                             \
            T *x = xmalloc(n * ldx * sizeof(T)), *c = xalloc_aligned(D, kp, sizeof(T));     \
            T *tile = xalloc_aligned(n, kp, sizeof(T)), *d1 = xmalloc(n * sizeof(T));       \
            T *d2 = xmalloc(n * sizeof(T));                                                 \
            vl_uint32 *a1 = xmalloc(n * sizeof(vl_uint32)), *a2 = xmalloc(n * sizeof(vl_uint32)); \
            vl_uint32 *a3 = xmalloc(n * sizeof(vl_uint32));                                 \
            snprintf(g_case, sizeof g_case, "[%s %s l2argmin n=%zu D=%zu K=%zu ldx=%zu]",   \
                     kt->name, #T, n, D, K, ldx);                                           \
            for (size_t j = 0; j < n * ldx; ++j) x[j] = (T)(0.1 * test_normal());           \
            for (size_t d = 0; d < D; ++d)                                                  \
              for (size_t k = 0; k < kp; ++k)                                               \
                c[d * kp + k] = k < K ? (T)(0.5 + 0.3 * test_normal()) : (T)0;              \
            if (K > 3) /* a tie: center 3 duplicates center 1 */                            \
              for (size_t d = 0; d < D; ++d) c[d * kp + 3] = c[d * kp + 1];                 \
            /* ties in center 1's SIMD lane: the next vector and the next 64-wide tile */   \
            if (K > 17)                                                                     \
              for (size_t d = 0; d < D; ++d) c[d * kp + 17] = c[d * kp + 1];                \
            if (K > 65)                                                                     \
              for (size_t d = 0; d < D; ++d) c[d * kp + 65] = c[d * kp + 1];                \
            if (n > 2) { /* a point on center 1 (tie with 3), rows of +inf and of NaN */    \
              for (size_t d = 0; d < D; ++d) x[1 * ldx + d] = c[d * kp + (K > 1 ? 1 : 0)];  \
              for (size_t d = 0; d < D; ++d) x[2 * ldx + d] = (T)(d == 0 ? 1e30 : 0);      \
              if (sizeof(T) == sizeof(double)) x[2 * ldx] = (T)1e300;                       \
              if (n > 4) x[4 * ldx + D / 2] = (T)NAN;                                       \
            }                                                                               \
            gmm_l2argmin_tile_##SFX(kt->l2dist_##SFX, n, D, kp, K, x, ldx, c, tile, a1, d1); \
            kt->l2argmin_##SFX(n, D, kp, K, x, ldx, c, tile, a2, d2);                       \
            kt->l2argmin_##SFX(n, D, kp, K, x, ldx, c, tile, a3, NULL);                     \
            CHECK_MSG(memcmp(a1, a2, n * sizeof *a1) == 0 && memcmp(a1, a3, n * sizeof *a1) == 0, \
                      "%s assignments differ from l2dist + scan", g_case);                  \
            for (size_t i = 0; i < n; ++i)                                                  \
              CHECK_MSG(d1[i] == d2[i] || (isnan(d1[i]) && isnan(d2[i])),                   \
                        "%s dist[%zu] = %g, l2dist + scan %g", g_case, i, (double)d2[i],     \
                        (double)d1[i]);                                                     \
            if (n > 2) {                                                                    \
              CHECK_MSG(a2[2] == 0 && isinf(d2[2]), "%s +inf row: %u %g", g_case,            \
                        (unsigned)a2[2], (double)d2[2]);                                    \
              if (K > 3) CHECK_MSG(a2[1] == 1, "%s tie: center %u", g_case, (unsigned)a2[1]); \
              if (n > 4) CHECK_MSG(a2[4] == 0 && isinf(d2[4]), "%s NaN row: %u %g", g_case,  \
                                   (unsigned)a2[4], (double)d2[4]);                         \
            }                                                                               \
            for (size_t i = 0; i < n; ++i)                                                  \
              CHECK_MSG(a2[i] < K, "%s padding column chosen", g_case);                     \
            /* against scalar: exact distances of both choices */                           \
            gmm_kernels_scalar.l2argmin_##SFX(n, D, kp, K, x, ldx, c, tile, a1, d1);        \
            for (size_t i = 0; i < n; ++i) {                                                \
              double e1 = 0, e2 = 0, sc = 0;                                                \
              if (!isfinite(d1[i])) {                                                       \
                CHECK_MSG(!isfinite(d2[i]), "%s row %zu: %g vs scalar %g", g_case, i,        \
                          (double)d2[i], (double)d1[i]);                                    \
                continue;                                                                   \
              }                                                                             \
              for (size_t d = 0; d < D; ++d) {                                              \
                double z1 = (double)x[i * ldx + d] - (double)c[d * kp + a1[i]];             \
                double z2 = (double)x[i * ldx + d] - (double)c[d * kp + a2[i]];             \
                e1 += z1 * z1;                                                              \
                e2 += z2 * z2;                                                              \
                sc += z1 * z1 + z2 * z2;                                                    \
              }                                                                             \
              CHECK_MSG(fabs(e1 - e2) <= (RTOL) * sc,                                       \
                        "%s row %zu: center %u (%.17g) vs scalar %u (%.17g)",               \
                        g_case, i, (unsigned)a2[i], e2, (unsigned)a1[i], e1);               \
            }                                                                               \
            free(x);                                                                        \
            gmm_free_aligned(c);                                                            \
            gmm_free_aligned(tile);                                                         \
            free(d1);                                                                       \
            free(d2);                                                                       \
            free(a1);                                                                       \
            free(a2);                                                                       \
            free(a3);                                                                       \
          }                                                                                 \
  }
DEFINE_TEST_L2ARGMIN(float, f, 1e-5)
DEFINE_TEST_L2ARGMIN(double, d, 1e-13)

static void test_level(gmm_kernels const *kt)
{
  static size_t const vecDs[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33,
                                 63, 64, 65, 67, 97, 128, 255, 1000};
  size_t const *ns = SIZES(g_ns, g_ns_quick), *Ds = SIZES(g_Ds, g_Ds_quick),
               *Ks = SIZES(g_Ks, g_Ks_quick);
  size_t const nns = NSIZES(g_ns, g_ns_quick), nDs = NSIZES(g_Ds, g_Ds_quick),
               nKs = NSIZES(g_Ks, g_Ks_quick);
  for (size_t a = 0; a < nns; ++a)
    for (size_t b = 0; b < nDs; ++b)
      for (size_t c = 0; c < nKs; ++c)
        for (int layout = 0; layout < 3; ++layout) {
          size_t n = ns[a], D = Ds[b], K = Ks[c];
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
  test_lse_level(kt);
  test_vexp_level(kt, 1);
  test_exp_zero_bound(kt);
  test_select_f(kt);
  test_select_d(kt);
  test_copy_rows_f(kt);
  test_copy_rows_d(kt);
  test_all_above_f(kt);
  test_all_above_d(kt);
  test_fisher_terms_f(kt);
  test_fisher_terms_d(kt);
  test_eparams_row_f(kt);
  test_eparams_row_d(kt);
  test_moments_f(kt);
  test_moments_d(kt);
  test_l2argmin_f(kt);
  test_l2argmin_d(kt);
}

/*   test_kernels LEVEL     (scalar, sse2, avx2, avx512 or neon; one ctest case each)
 * The scalar case checks the table's identity and reports libm's exp; a SIMD
 * case runs every kernel of that level against the scalar ones, or exits 77
 * (skipped) when the level is not built or the CPU lacks it (NEON on
 * aarch64 fails instead, see the top of this file). */
int main(int argc, char **argv)
{
  char const *quick = getenv("GMM_TEST_QUICK");
  int level = -1;
  g_quick = quick && *quick && strcmp(quick, "0") != 0;
  for (int l = VL_SIMD_SCALAR; argc == 2 && l <= VL_SIMD_NEON; ++l)
    if (strcmp(argv[1], vl_get_simd_level_name(l)) == 0) level = l;
  if (level < 0) {
    fprintf(stderr, "usage: test_kernels scalar|sse2|avx2|avx512|neon\n");
    return 2;
  }
  if (g_quick) printf("GMM_TEST_QUICK: reduced sizes and exp sweeps\n");
  test_seed(20240611);
  CHECK(gmm_kernels_for_level(VL_SIMD_SCALAR) == &gmm_kernels_scalar);
  if (level == VL_SIMD_SCALAR) {
    CHECK(gmm_kernels_scalar.level == VL_SIMD_SCALAR);
    CHECK(strcmp(gmm_kernels_scalar.name, "scalar") == 0);
    printf("level 0 (scalar): libm exp, for comparison\n");
    test_vexp_level(&gmm_kernels_scalar, 0);
    test_moments_f(&gmm_kernels_scalar);
    test_moments_d(&gmm_kernels_scalar);
    test_copy_rows_f(&gmm_kernels_scalar);
    test_copy_rows_d(&gmm_kernels_scalar);
    test_all_above_f(&gmm_kernels_scalar);
    test_all_above_d(&gmm_kernels_scalar);
    test_fisher_terms_f(&gmm_kernels_scalar);
    test_fisher_terms_d(&gmm_kernels_scalar);
    test_eparams_row_f(&gmm_kernels_scalar);
    test_eparams_row_d(&gmm_kernels_scalar);
    test_l2argmin_f(&gmm_kernels_scalar);
    test_l2argmin_d(&gmm_kernels_scalar);
    TEST_EXIT();
  }
  {
    gmm_kernels const *kt = gmm_kernels_for_level(level);
    char const *name = vl_get_simd_level_name(level);
    CHECK(vl_get_simd_level_available(level) == (kt != NULL));
    if (!kt) {
#if (defined(__aarch64__) || defined(_M_ARM64)) && GMM_TEST_NEON_ENABLED
      /* NEON is baseline on aarch64: enabled, it must be built and tested */
      CHECK_MSG(level != VL_SIMD_NEON, "NEON enabled on aarch64 but not built or not available");
#endif
      if (g_failures) TEST_EXIT();
      printf("level %d (%s): skipped (not built or not supported by this CPU)\n", level, name);
      return 77;
    }
    CHECK(kt->level == level);
    CHECK(strcmp(kt->name, name) == 0);
    /* a level's table may borrow scalar kernels, but has no empty entry */
    CHECK(kt->lse_f && kt->lse_d && kt->select_f && kt->select_d && kt->moments_f &&
          kt->moments_d && kt->l2argmin_f && kt->l2argmin_d && kt->copy_rows_f && kt->copy_rows_d &&
          kt->all_above_f && kt->all_above_d && kt->fisher_terms_f && kt->fisher_terms_d &&
          kt->eparams_row_f && kt->eparams_row_d);
    test_level(kt);
    printf("level %d (%s): %s\n", level, name, g_failures ? "FAILED" : "ok");
  }
  TEST_EXIT();
}
