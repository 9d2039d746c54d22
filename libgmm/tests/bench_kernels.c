/* bench_kernels.c: single-thread throughput of the E-step / k-means tile
 * kernels (wdist_f, l2dist_f) and of the E-step log-sum-exp (lse_f, lse_d)
 * at every available SIMD level.
 *
 * The N points are processed in blocks of 256 (as the E-step does) against
 * K = 256 components, D = 64 and 128. Flop counts per (point, component, d):
 * wdist 4 (x*s - m, then z*z + acc: two FMAs), l2dist 3 (sub + FMA).
 *
 * lse: N rows in blocks of 128 rows of K = 256 distances (kp = 256, q
 * written to a separate n x K array). lse works in place on its tile, so
 * every block first restores the tile from a pristine copy (memcpy, L2
 * resident); that copy is timed on its own and subtracted. Reported in ns
 * per element (row x component), net of the copy.
 *
 * Usage: bench_kernels [N] [repetitions] [level]
 *   defaults: N = 100000, 5 repetitions (best time wins), every level;
 *   level: one of scalar, sse2, avx2, avx512, neon to time only that one.
 * Not a test: built, but not registered with ctest.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/internal.h"
#include "simd/kernels.h"
#include "vl/libgmm.h"

#define BLOCK 256
#define LSE_BLOCK 128

static double now(void)
{
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned long long g_rng = 88172645463325252ULL;
static float frand(void)
{
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (float)((g_rng >> 40) * (1.0 / 16777216.0));
}

static float *alloc_f(size_t a, size_t b)
{
  float *p = (float *)gmm_alloc_aligned(a, b, sizeof(float));
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

/* Best-of-`reps` seconds for one pass over the N points. */
static double time_pass(gmm_kernels const *kt, int which, size_t N, size_t D, size_t kp,
                        float const *X, float const *s, float const *m, float *out, int reps,
                        double *checksum)
{
  double best = 1e300;
  for (int rep = 0; rep <= reps; ++rep) { /* rep 0 warms up */
    double t0 = now();
    for (size_t i = 0; i < N; i += BLOCK) {
      size_t n = N - i < BLOCK ? N - i : BLOCK;
      if (which == 0)
        kt->wdist_f(n, D, kp, X + i * D, D, s, m, out);
      else
        kt->l2dist_f(n, D, kp, X + i * D, D, m, out);
      *checksum += out[0];
    }
    double t = now() - t0;
    if (rep > 0 && t < best) best = t;
  }
  return best;
}

/* Best-of-`reps` seconds for one lse pass over N rows (which: 0 = restore
 * the tile only, 1 = restore + lse). T = float or double. */
#define DEFINE_TIME_LSE(T, SFX)                                                          \
  static double time_lse_##SFX(gmm_kernels const *kt, int which, size_t N, size_t K,     \
                               size_t kp, T const *c, T const *src, T *tile, T *q,       \
                               double *ll, int reps, double *checksum)                   \
  {                                                                                      \
    double best = 1e300;                                                                 \
    for (int rep = 0; rep <= reps; ++rep) {                                              \
      double t0 = now();                                                                 \
      for (size_t i = 0; i < N; i += LSE_BLOCK) {                                        \
        size_t n = N - i < LSE_BLOCK ? N - i : LSE_BLOCK;                                \
        memcpy(tile, src, n * kp * sizeof(T));                                           \
        if (which) kt->lse_##SFX(n, K, kp, c, tile, q, K, ll);                           \
        *checksum += (double)tile[0] + ll[0];                                            \
      }                                                                                  \
      double t = now() - t0;                                                             \
      if (rep > 0 && t < best) best = t;                                                 \
    }                                                                                    \
    return best;                                                                         \
  }                                                                                      \
  static void bench_lse_##SFX(size_t N, int reps, char const *only, double *checksum)    \
  {                                                                                      \
    size_t const K = 256, kp = gmm_kpad(K);                                              \
    T *c = (T *)gmm_alloc_aligned(1, kp, sizeof(T));                                     \
    T *src = (T *)gmm_alloc_aligned(LSE_BLOCK, kp, sizeof(T));                           \
    T *tile = (T *)gmm_alloc_aligned(LSE_BLOCK, kp, sizeof(T));                          \
    T *q = (T *)gmm_alloc_aligned(LSE_BLOCK, K, sizeof(T));                              \
    double ll[LSE_BLOCK];                                                                \
    if (!c || !src || !tile || !q) {                                                     \
      fprintf(stderr, "out of memory\n");                                                \
      exit(2);                                                                           \
    }                                                                                    \
    /* E-step-like rows: log-weights near -100, distances 40..200 (D = 64) */            \
    for (size_t k = 0; k < kp; ++k) c[k] = k < K ? (T)(-100.0 + frand()) : (T)(-INFINITY); \
    for (size_t j = 0; j < LSE_BLOCK * kp; ++j) src[j] = (T)(40.0 + 160.0 * frand());    \
    for (int level = VL_SIMD_SCALAR; level <= VL_SIMD_NEON; ++level) {                 \
      gmm_kernels const *kt = gmm_kernels_for_level(level);                              \
      if (only && strcmp(only, vl_get_simd_level_name(level)) != 0) continue;            \
      if (!kt) {                                                                         \
        printf("%-8s %-8s %12s\n", vl_get_simd_level_name(level), "lse_" #SFX, "n/a");   \
        continue;                                                                        \
      }                                                                                  \
      double t0 = time_lse_##SFX(kt, 0, N, K, kp, c, src, tile, q, ll, reps, checksum);  \
      double t1 = time_lse_##SFX(kt, 1, N, K, kp, c, src, tile, q, ll, reps, checksum);  \
      double el = (double)N * (double)K;                                                 \
      printf("%-8s %-8s %12.3f %12.3f %12.3f\n", kt->name, "lse_" #SFX,                  \
             (t1 - t0) / el * 1e9, t1 / el * 1e9, t0 / el * 1e9);                        \
      fflush(stdout);                                                                    \
    }                                                                                    \
    gmm_free_aligned(c);                                                                 \
    gmm_free_aligned(src);                                                               \
    gmm_free_aligned(tile);                                                              \
    gmm_free_aligned(q);                                                                 \
  }

DEFINE_TIME_LSE(float, f)
DEFINE_TIME_LSE(double, d)

int main(int argc, char **argv)
{
  size_t N = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  char const *only = argc > 3 ? argv[3] : NULL;
  size_t const K = 256, kp = gmm_kpad(K);
  static size_t const Ds[] = {64, 128};
  double checksum = 0;

  if (N == 0 || reps < 1) {
    fprintf(stderr, "usage: %s [N>0] [repetitions>0] [scalar|sse2|avx2|avx512|neon]\n", argv[0]);
    return 2;
  }
  printf("N=%zu points in blocks of %d, K=%zu, single thread, best of %d\n", N, BLOCK, K, reps);
  printf("%-8s %5s %14s %14s\n", "level", "D", "wdist_f GF/s", "l2dist_f GF/s");
  for (size_t di = 0; di < sizeof Ds / sizeof Ds[0]; ++di) {
    size_t D = Ds[di];
    float *X = alloc_f(N, D);
    float *s = alloc_f(D, kp), *m = alloc_f(D, kp), *out = alloc_f(BLOCK, kp);
    for (size_t j = 0; j < N * D; ++j) X[j] = frand();
    for (size_t j = 0; j < D * kp; ++j) {
      s[j] = 0.5f + frand();
      m[j] = frand();
    }
    for (int level = VL_SIMD_SCALAR; level <= VL_SIMD_NEON; ++level) {
      gmm_kernels const *kt = gmm_kernels_for_level(level);
      if (only && strcmp(only, vl_get_simd_level_name(level)) != 0) continue;
      if (!kt) {
        printf("%-8s %5zu %14s %14s\n", vl_get_simd_level_name(level), D, "n/a", "n/a");
        continue;
      }
      /* the scalar level is slow: fewer repetitions */
      int r = level == VL_SIMD_SCALAR ? 1 : reps;
      double tw = time_pass(kt, 0, N, D, kp, X, s, m, out, r, &checksum);
      double tl = time_pass(kt, 1, N, D, kp, X, s, m, out, r, &checksum);
      double el = (double)N * (double)kp * (double)D;
      printf("%-8s %5zu %14.2f %14.2f\n", kt->name, D, 4 * el / tw * 1e-9, 3 * el / tl * 1e-9);
      fflush(stdout);
    }
    gmm_free_aligned(X);
    gmm_free_aligned(s);
    gmm_free_aligned(m);
    gmm_free_aligned(out);
  }
  printf("\nlse: N=%zu rows in blocks of %d, K=256, single thread, best of %d\n", N,
         LSE_BLOCK, reps);
  printf("%-8s %-8s %12s %12s %12s\n", "level", "kernel", "ns/elem", "(with copy)",
         "(copy)");
  bench_lse_f(N, reps, only, &checksum);
  bench_lse_d(N, reps, only, &checksum);
  printf("(checksum %g)\n", checksum);
  return 0;
}
