/* bench_kernels.c: single-thread throughput of the E-step / k-means tile
 * kernels (wdist_f, l2dist_f) at every available SIMD level.
 *
 * The N points are processed in blocks of 256 (as the E-step does) against
 * K = 256 components, D = 64 and 128. Flop counts per (point, component, d):
 * wdist 4 (x*s - m, then z*z + acc: two FMAs), l2dist 3 (sub + FMA).
 *
 * Usage: bench_kernels [N] [repetitions] [level]
 *   defaults: N = 100000, 5 repetitions (best time wins), every level;
 *   level: one of scalar, sse2, avx2, avx512 to time only that one.
 * Not a test: built, but not registered with ctest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "simd/kernels.h"
#include "vl/libgmm.h"

#define BLOCK 256

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

int main(int argc, char **argv)
{
  size_t N = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  char const *only = argc > 3 ? argv[3] : NULL;
  size_t const K = 256, kp = gmm_kpad(K);
  static size_t const Ds[] = {64, 128};
  double checksum = 0;

  if (N == 0 || reps < 1) {
    fprintf(stderr, "usage: %s [N>0] [repetitions>0] [scalar|sse2|avx2|avx512]\n", argv[0]);
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
    for (int level = VL_SIMD_SCALAR; level <= VL_SIMD_AVX512; ++level) {
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
      printf("%-8s %5zu %14.1f %14.1f\n", kt->name, D, 4 * el / tw * 1e-9, 3 * el / tl * 1e-9);
      fflush(stdout);
    }
    gmm_free_aligned(X);
    gmm_free_aligned(s);
    gmm_free_aligned(m);
    gmm_free_aligned(out);
  }
  printf("(checksum %g)\n", checksum);
  return 0;
}
