/* test_races.c: a caller's array changing during a call must not crash
 * libgmm. A second thread flips the offsets of a batch between a valid and
 * an invalid set (past the data, decreasing) while the main thread calls
 * every batch encoder many times: each call must either succeed with the
 * results of the valid offsets or fail with VL_ERR_BAD_ARG, and never read
 * out of bounds (run it under ASan or valgrind to see such reads). */
#include <pthread.h>
#include <stdatomic.h>

#include "test_util.h"
#include "vl/libgmm.h"
#include "vl/fisher.h"
#include "vl/vlad.h"

#define N 600
#define D 5
#define K 4
#define IMAGES 3

static vl_size g_offsets[IMAGES + 1];
static atomic_int g_stop;
static atomic_uint g_call; /* the main thread's call number, bumped before each call */

static vl_size const g_valid[IMAGES + 1] = {0, 200, 450, N};
/* Past the data and decreasing: read as is, these would make the encoders
 * read far beyond the N x D array. Any element-wise mix of the two sets (the
 * stores are not one atomic update) is either the valid set or decreasing
 * somewhere, so a mix that passes the checks is in bounds. */
static vl_size const g_invalid[IMAGES + 1] = {0, (vl_size)1 << 40, ((vl_size)1 << 40) + 1, 5};

static void store(vl_size const *src)
{
  for (int j = 0; j <= IMAGES; ++j)
    atomic_store_explicit((_Atomic vl_size *)&g_offsets[j], src[j], memory_order_relaxed);
}

/* For every call of the main thread (which stores the valid offsets before
 * it), waits a varying delay, then makes the offsets invalid: early, before
 * the call read them, or late, after it checked them. */
static void *flipper(void *arg)
{
  unsigned seen = 0, delay = 0;
  (void)arg;
  while (!atomic_load(&g_stop)) {
    unsigned const now = atomic_load(&g_call);
    if (now == seen) continue;
    seen = now;
    delay = (delay * 1103515245u + 12345u) >> 8;
    for (volatile unsigned spin = 0; spin < delay % 20000u; ++spin) {
    }
    store(g_invalid);
  }
  return NULL;
}

int main(void)
{
  static float x[N * D], means[K * D], covs[K * D], priors[K];
  static float enc[IMAGES * 2 * K * D], ref_fisher[IMAGES * 2 * K * D];
  static float ref_vlad[IMAGES * K * D], ref_bovw[IMAGES * K], ref_gbovw[IMAGES * K];
  int const calls = getenv("GMM_TEST_QUICK") ? 200 : 2000;
  int ok = 0, rejected = 0, c;
  pthread_t th;

  test_seed(5);
  for (size_t i = 0; i < N * D; ++i) x[i] = (float)test_normal();
  for (size_t i = 0; i < K * D; ++i) {
    means[i] = (float)test_normal();
    covs[i] = 1.0f;
  }
  for (size_t k = 0; k < K; ++k) priors[k] = 1.0f / K;

  /* reference results with valid offsets, no race */
  store(g_valid);
  CHECK(vl_fisher_encode_batch(ref_fisher, VL_TYPE_FLOAT, means, D, K, covs, priors, x,
                               g_offsets, IMAGES, VL_FISHER_FLAG_IMPROVED, NULL) == 0);
  CHECK(vl_vlad_encode_batch(ref_vlad, VL_TYPE_FLOAT, means, D, K, x, g_offsets, IMAGES, NULL,
                             0) == 0);
  CHECK(vl_bovw_encode_batch(ref_bovw, VL_TYPE_FLOAT, means, D, K, x, g_offsets, IMAGES, 0.0,
                             0) == 0);
  CHECK(vl_bovw_encode_gmm_batch(ref_gbovw, VL_TYPE_FLOAT, means, D, K, covs, priors, x,
                                 g_offsets, IMAGES, VL_BOVW_FLAG_SOFT) == 0);

  atomic_store(&g_stop, 0);
  CHECK(pthread_create(&th, NULL, flipper, NULL) == 0);
  for (c = 0; c < calls; ++c) {
    int err = 0;
    float const *ref = NULL;
    size_t len = 0;
    store(g_valid);
    atomic_fetch_add(&g_call, 1);
    switch (c % 4) {
      case 0:
        err = vl_fisher_encode_batch(enc, VL_TYPE_FLOAT, means, D, K, covs, priors, x, g_offsets,
                                     IMAGES, VL_FISHER_FLAG_IMPROVED, NULL);
        ref = ref_fisher;
        len = IMAGES * 2 * K * D;
        break;
      case 1:
        err = vl_vlad_encode_batch(enc, VL_TYPE_FLOAT, means, D, K, x, g_offsets, IMAGES, NULL, 0);
        ref = ref_vlad;
        len = IMAGES * K * D;
        break;
      case 2:
        err = vl_bovw_encode_batch(enc, VL_TYPE_FLOAT, means, D, K, x, g_offsets, IMAGES, 0.0, 0);
        ref = ref_bovw;
        len = IMAGES * K;
        break;
      default:
        err = vl_bovw_encode_gmm_batch(enc, VL_TYPE_FLOAT, means, D, K, covs, priors, x,
                                       g_offsets, IMAGES, VL_BOVW_FLAG_SOFT);
        ref = ref_gbovw;
        len = IMAGES * K;
        break;
    }
    if (err == 0) {
      /* the offsets read were the valid set (the invalid one is always rejected) */
      CHECK_MSG(memcmp(enc, ref, len * sizeof *enc) == 0, "call %d", c);
      ++ok;
    } else {
      CHECK_MSG(err == VL_ERR_BAD_ARG, "call %d: error %d (%s)", c, err,
                vl_get_last_error_message());
      ++rejected;
    }
  }
  atomic_store(&g_stop, 1);
  pthread_join(th, NULL);
  CHECK(ok > 0);
  printf("%d calls: %d succeeded, %d rejected the offsets they read\n", c, ok, rejected);
  TEST_EXIT();
}
