/* test_util.h: tiny assertion helpers for the C tests. */
#ifndef GMM_TEST_UTIL_H
#define GMM_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
      ++g_failures;                                                              \
    }                                                                            \
  } while (0)

#define CHECK_MSG(cond, ...)                                                     \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);   \
      fprintf(stderr, __VA_ARGS__);                                              \
      fputc('\n', stderr);                                                       \
      ++g_failures;                                                              \
    }                                                                            \
  } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, rtol, atol)                                            \
  do {                                                                           \
    double a_ = (double)(a), b_ = (double)(b);                                   \
    if (!(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_))) {                        \
      fprintf(stderr, "%s:%d: %s = %.17g, expected %s = %.17g\n", __FILE__,      \
              __LINE__, #a, a_, #b, b_);                                         \
      ++g_failures;                                                              \
    }                                                                            \
  } while (0)

#define TEST_EXIT()                                                              \
  do {                                                                           \
    if (g_failures) fprintf(stderr, "%d check(s) failed\n", g_failures);         \
    return g_failures ? 1 : 0;                                                   \
  } while (0)

/* Deterministic pseudo-random numbers for test data (xorshift64*). */
static unsigned long long g_test_rng = 0x9e3779b97f4a7c15ULL;
static inline void test_seed(unsigned long long s) { g_test_rng = s ? s : 1; }
static inline double test_uniform(void)
{
  g_test_rng ^= g_test_rng >> 12;
  g_test_rng ^= g_test_rng << 25;
  g_test_rng ^= g_test_rng >> 27;
  return (double)((g_test_rng * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}
static inline double test_normal(void)
{
  double u = test_uniform(), v = test_uniform();
  if (u < 1e-300) u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

#endif
