/* test_encoders.c: VLAD, bag of visual words and Fisher encoders: closed
 * forms, flags and norms, empty sets, batch == single bit for bit for 1 and
 * 2 threads, brute-force references, argument errors (output untouched). */
#include "test_util.h"
#include "util/internal.h"
#include "vl/libgmm.h"
#include "vl/fisher.h"
#include "vl/gmm.h"
#include "vl/vlad.h"

#define EXPECT_ERROR(code)                                                        \
  do {                                                                            \
    CHECK_MSG(vl_get_last_error() == (code), "got error %d (%s)",                 \
              vl_get_last_error(), vl_get_last_error_message());                  \
    CHECK(strlen(vl_get_last_error_message()) > 0);                               \
  } while (0)

#define EXPECT_OK() CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message())

#define SENTINEL 12345.0

/* Fisher: a single image of >= 2 x 4096 points is summed by the statistics
 * pass in several slabs (fixed by N); the batch worker sums each image with
 * the same slab split and order, so even such images must match bit for bit. */
#define FISHER_SLAB_ROWS 8192
#define FISHER_LARGE_IMAGE_BITWISE 1

static void fill(double *a, size_t n, double v)
{
  for (size_t i = 0; i < n; ++i) a[i] = v;
}

static int all_equal(double const *a, size_t n, double v)
{
  for (size_t i = 0; i < n; ++i)
    if (a[i] != v) return 0;
  return 1;
}

static int all_finite_d(double const *a, size_t n)
{
  for (size_t i = 0; i < n; ++i)
    if (!isfinite(a[i])) return 0;
  return 1;
}

static double norm2(double const *a, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += a[i] * a[i];
  return sqrt(s);
}

static double *rand_array(size_t n, double scale, double offset)
{
  double *a = malloc(n * sizeof *a);
  for (size_t i = 0; i < n; ++i) a[i] = scale * test_normal() + offset;
  return a;
}

/* Nearest center by brute force (squared L2, first minimum wins). */
static size_t nearest(double const *x, double const *c, size_t D, size_t K)
{
  size_t best = 0;
  double bd = INFINITY;
  for (size_t k = 0; k < K; ++k) {
    double s = 0;
    for (size_t d = 0; d < D; ++d) s += (x[d] - c[k * D + d]) * (x[d] - c[k * D + d]);
    if (s < bd) {
      bd = s;
      best = k;
    }
  }
  return best;
}

/* ---- VLAD ------------------------------------------------------------------ */

static void test_vlad_closed_form(void)
{
  /* K = 1, D = 1: x = 1, 2, 4 with weights 1, 1, 0.5 (and ignored entries). */
  double const x[5] = {1, 2, 4, 100, -100};
  double const a[5] = {1, 1, 0.5, 0, -3};
  double mu = 0.5, e = SENTINEL;
  /* mass 2.5, S = 5 */
  vl_vlad_encode(&e, VL_TYPE_DOUBLE, &mu, 1, 1, x, 5, a, VL_VLAD_FLAG_UNNORMALIZED);
  EXPECT_OK();
  CHECK_CLOSE(e, 5 - 2.5 * 0.5, 1e-15, 0);
  vl_vlad_encode(&e, VL_TYPE_DOUBLE, &mu, 1, 1, x, 5, a,
                 VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_NORMALIZE_MASS);
  CHECK_CLOSE(e, 5 / 2.5 - 0.5, 1e-15, 0);
  vl_vlad_encode(&e, VL_TYPE_DOUBLE, &mu, 1, 1, x, 5, a,
                 VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_SQUARE_ROOT);
  CHECK_CLOSE(e, sqrt(3.75), 1e-15, 0);
  vl_vlad_encode(&e, VL_TYPE_DOUBLE, &mu, 1, 1, x, 5, a, 0);
  CHECK(e == 1.0);
  mu = 3; /* v = 5 - 7.5 = -2.5 */
  vl_vlad_encode(&e, VL_TYPE_DOUBLE, &mu, 1, 1, x, 5, a,
                 VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_SQUARE_ROOT);
  CHECK_CLOSE(e, -sqrt(2.5), 1e-15, 0);
  vl_vlad_encode(&e, VL_TYPE_DOUBLE, &mu, 1, 1, x, 5, a, 0);
  CHECK(e == -1.0);
  {
    float xf[3] = {1, 2, 4}, af[3] = {1, 1, 0.5f}, muf = 0.5f, ef = 0;
    vl_vlad_encode(&ef, VL_TYPE_FLOAT, &muf, 1, 1, xf, 3, af, VL_VLAD_FLAG_UNNORMALIZED);
    EXPECT_OK();
    CHECK(ef == 3.75f);
  }

  /* K = 2, D = 2 by hand: points (1,0), (0,2) -> center (0,0); (3,3) -> (1,1). */
  {
    double const X[6] = {1, 0, 0, 2, 3, 3}, M[4] = {0, 0, 1, 1};
    double const A[6] = {1, 0, 1, 0, 0, 1};
    double E[4];
    double const s13 = sqrt(13.0);
    vl_vlad_encode(E, VL_TYPE_DOUBLE, M, 2, 2, X, 3, A, VL_VLAD_FLAG_UNNORMALIZED);
    CHECK(E[0] == 1 && E[1] == 2 && E[2] == 2 && E[3] == 2);
    vl_vlad_encode(E, VL_TYPE_DOUBLE, M, 2, 2, X, 3, A, 0);
    CHECK_CLOSE(E[0], 1 / s13, 1e-15, 0);
    CHECK_CLOSE(E[1], 2 / s13, 1e-15, 0);
    CHECK_CLOSE(E[3], 2 / s13, 1e-15, 0);
    vl_vlad_encode(E, VL_TYPE_DOUBLE, M, 2, 2, X, 3, A, VL_VLAD_FLAG_NORMALIZE_COMPONENTS);
    CHECK_CLOSE(E[0], 1 / sqrt(5.0) / sqrt(2.0), 1e-15, 0);
    CHECK_CLOSE(E[1], 2 / sqrt(5.0) / sqrt(2.0), 1e-15, 0);
    CHECK_CLOSE(E[2], 0.5, 1e-15, 0);
    CHECK_CLOSE(E[3], 0.5, 1e-15, 0);
    /* mass normalisation: component 0 mean (0.5, 1) */
    vl_vlad_encode(E, VL_TYPE_DOUBLE, M, 2, 2, X, 3, A,
                   VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_NORMALIZE_MASS);
    CHECK(E[0] == 0.5 && E[1] == 1 && E[2] == 2 && E[3] == 2);
  }
}

/* All 16 flag combinations, one empty component, float and double. */
static void test_vlad_flags(void)
{
  enum { N = 300, D = 5, K = 4, EMPTY = 2 };
  double *x = rand_array(N * D, 2, 1), *mu = rand_array(K * D, 1, 0);
  double *a = calloc(N * K, sizeof *a);
  double enc[K * D];
  float xf[N * D], muf[K * D], af[N * K], encf[K * D];
  for (size_t i = 0; i < N; ++i) {
    size_t k = nearest(x + i * D, mu, D, K);
    if (k == EMPTY) k = 0;
    a[i * K + k] = 0.5 + test_uniform();
    {
      size_t k2 = (k + 1) % K;
      if (k2 == EMPTY) k2 = (k2 + 1) % K;
      a[i * K + k2] = i % 3 ? (i % 3 == 1 ? -1 : 0.25) : NAN; /* soft, negative, NaN */
    }
  }
  for (size_t j = 0; j < N * D; ++j) xf[j] = (float)x[j];
  for (size_t j = 0; j < K * D; ++j) muf[j] = (float)mu[j];
  for (size_t j = 0; j < N * K; ++j) af[j] = (float)a[j];

  for (int flags = 0; flags < 16; ++flags) {
    double nrm;
    vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, flags);
    EXPECT_OK();
    vl_vlad_encode(encf, VL_TYPE_FLOAT, muf, D, K, xf, N, af, flags);
    EXPECT_OK();
    CHECK(all_finite_d(enc, K * D));
    CHECK(all_equal(enc + EMPTY * D, D, 0.0));
    for (size_t j = 0; j < K * D; ++j) {
      CHECK(isfinite(encf[j]));
      CHECK_CLOSE(encf[j], enc[j], 1e-5, 1e-6 * (flags & VL_VLAD_FLAG_UNNORMALIZED ? 100 : 1));
    }
    nrm = norm2(enc, K * D);
    if (!(flags & VL_VLAD_FLAG_UNNORMALIZED)) CHECK_CLOSE(nrm, 1.0, 1e-14, 0);
    if (flags & VL_VLAD_FLAG_NORMALIZE_COMPONENTS) {
      /* three non-empty components: each 1 (unnormalised) or 1/sqrt(3) */
      double const want = flags & VL_VLAD_FLAG_UNNORMALIZED ? 1.0 : 1.0 / sqrt(3.0);
      for (size_t k = 0; k < K; ++k)
        if (k != EMPTY) CHECK_CLOSE(norm2(enc + k * D, D), want, 1e-14, 0);
    }
    if (flags & VL_VLAD_FLAG_SQUARE_ROOT) {
      /* signed square root of the flag-less value (up to a positive scale) */
      double ref[K * D], r;
      vl_vlad_encode(ref, VL_TYPE_DOUBLE, mu, D, K, x, N, a,
                     VL_VLAD_FLAG_UNNORMALIZED | (flags & VL_VLAD_FLAG_NORMALIZE_MASS));
      r = enc[0] / (ref[0] >= 0 ? sqrt(ref[0]) : -sqrt(-ref[0]));
      CHECK(r > 0);
      if (!(flags & VL_VLAD_FLAG_NORMALIZE_COMPONENTS))
        for (size_t j = 0; j < K * D; ++j)
          CHECK_CLOSE(enc[j], r * (ref[j] >= 0 ? sqrt(ref[j]) : -sqrt(-ref[j])), 1e-13, 1e-15);
    }
  }

  /* NaN and negative weights are ignored: same bits as with zeros there. */
  {
    double *a0 = malloc(N * K * sizeof *a0), e0[K * D];
    for (size_t j = 0; j < N * K; ++j) a0[j] = a[j] > 0 ? a[j] : 0;
    for (int flags = 0; flags < 16; flags += 5) {
      vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, flags);
      vl_vlad_encode(e0, VL_TYPE_DOUBLE, mu, D, K, x, N, a0, flags);
      CHECK(memcmp(enc, e0, sizeof enc) == 0);
    }
    free(a0);
  }

  /* N = 0: zeros with every flag (data and assignments may be NULL). */
  for (int flags = 0; flags < 16; ++flags) {
    fill(enc, K * D, SENTINEL);
    vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, NULL, 0, NULL, flags);
    EXPECT_OK();
    CHECK(all_equal(enc, K * D, 0.0));
    for (size_t j = 0; j < K * D; ++j) encf[j] = 1.f;
    vl_vlad_encode(encf, VL_TYPE_FLOAT, muf, D, K, xf, 0, af, flags);
    for (size_t j = 0; j < K * D; ++j) CHECK(encf[j] == 0.f);
  }
  /* all weights <= 0: zeros too */
  {
    double *z = calloc(N * K, sizeof *z);
    vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, z, 0);
    CHECK(all_equal(enc, K * D, 0.0));
    free(z);
  }
  free(x);
  free(mu);
  free(a);
}

/* Batch == single (bit for bit), explicit and hard assignments, 1 and 2 threads. */
static void test_vlad_batch(void)
{
  enum { NI = 7, D = 6, K = 5 };
  vl_size const sizes[NI] = {37, 0, 1, 5000, 300, 129, 2};
  vl_size offsets[NI + 1] = {0};
  size_t NT;
  double *x, *mu, *a, *onehot, *single, *batch, *batch2;
  float *xf, *muf, *af, *singlef, *batchf;
  for (size_t j = 0; j < NI; ++j) offsets[j + 1] = offsets[j] + sizes[j];
  NT = offsets[NI];
  x = rand_array(NT * D, 3, 1);
  mu = rand_array(K * D, 2, 0);
  a = malloc(NT * K * sizeof *a);
  onehot = calloc(NT * K, sizeof *onehot);
  for (size_t j = 0; j < NT * K; ++j) a[j] = j % 7 == 3 ? -0.5 : (j % 11 == 4 ? NAN : test_uniform());
  for (size_t i = 0; i < NT; ++i) onehot[i * K + nearest(x + i * D, mu, D, K)] = 1;
  single = malloc(NI * K * D * sizeof *single);
  batch = malloc(NI * K * D * sizeof *batch);
  batch2 = malloc(NI * K * D * sizeof *batch2);
  xf = malloc(NT * D * sizeof *xf);
  af = malloc(NT * K * sizeof *af);
  muf = malloc(K * D * sizeof *muf);
  singlef = malloc(NI * K * D * sizeof *singlef);
  batchf = malloc(NI * K * D * sizeof *batchf);
  for (size_t j = 0; j < NT * D; ++j) xf[j] = (float)x[j];
  for (size_t j = 0; j < NT * K; ++j) af[j] = (float)a[j];
  for (size_t j = 0; j < K * D; ++j) muf[j] = (float)mu[j];

  for (vl_size threads = 1; threads <= 2; ++threads) {
    vl_set_num_threads(threads);
    for (int flags = 0; flags < 16; flags += 3) {
      for (int w = 0; w < 2; ++w) {
        double const *A = w ? onehot : a;
        for (size_t j = 0; j < NI; ++j)
          vl_vlad_encode(single + j * K * D, VL_TYPE_DOUBLE, mu, D, K, x + offsets[j] * D,
                         sizes[j], A + offsets[j] * K, flags);
        fill(batch, NI * K * D, SENTINEL);
        CHECK(vl_vlad_encode_batch(batch, VL_TYPE_DOUBLE, mu, D, K, x, offsets, NI, A, flags) ==
              VL_ERR_OK);
        CHECK_MSG(memcmp(single, batch, NI * K * D * sizeof *batch) == 0,
                  "threads %zu flags %d weights %d", (size_t)threads, flags, w);
        CHECK(all_equal(batch + K * D, K * D, 0.0)); /* the empty image */
        /* one image through the batch entry point */
        {
          vl_size const one[2] = {0, sizes[3]};
          CHECK(vl_vlad_encode_batch(batch2, VL_TYPE_DOUBLE, mu, D, K, x + offsets[3] * D, one,
                                     1, A + offsets[3] * K, flags) == VL_ERR_OK);
          CHECK(memcmp(batch2, single + 3 * K * D, K * D * sizeof *batch2) == 0);
        }
      }
      /* hard assignment (NULL) == explicit brute-force one-hot rows */
      fill(batch2, NI * K * D, SENTINEL);
      CHECK(vl_vlad_encode_batch(batch2, VL_TYPE_DOUBLE, mu, D, K, x, offsets, NI, NULL, flags) ==
            VL_ERR_OK);
      CHECK_MSG(memcmp(single, batch2, NI * K * D * sizeof *batch2) == 0, "hard, flags %d", flags);
      /* float */
      for (size_t j = 0; j < NI; ++j)
        vl_vlad_encode(singlef + j * K * D, VL_TYPE_FLOAT, muf, D, K, xf + offsets[j] * D,
                       sizes[j], af + offsets[j] * K, flags);
      CHECK(vl_vlad_encode_batch(batchf, VL_TYPE_FLOAT, muf, D, K, xf, offsets, NI, af, flags) ==
            VL_ERR_OK);
      CHECK(memcmp(singlef, batchf, NI * K * D * sizeof *batchf) == 0);
    }
  }
  /* The single-image path does not depend on the thread count (5000 rows: 2 slabs). */
  {
    double e1[K * D], e2[K * D];
    vl_set_num_threads(1);
    vl_vlad_encode(e1, VL_TYPE_DOUBLE, mu, D, K, x + offsets[3] * D, sizes[3], a + offsets[3] * K, 0);
    vl_set_num_threads(2);
    vl_vlad_encode(e2, VL_TYPE_DOUBLE, mu, D, K, x + offsets[3] * D, sizes[3], a + offsets[3] * K, 0);
    CHECK(memcmp(e1, e2, sizeof e1) == 0);
  }
  /* zero images */
  CHECK(vl_vlad_encode_batch(NULL, VL_TYPE_DOUBLE, mu, D, K, NULL, offsets, 0, NULL, 0) ==
        VL_ERR_OK);
  vl_set_num_threads(0);

  free(x); free(mu); free(a); free(onehot); free(single); free(batch); free(batch2);
  free(xf); free(af); free(muf); free(singlef); free(batchf);
}

static void test_vlad_errors(void)
{
  enum { N = 4, D = 2, K = 2 };
  double x[N * D] = {0, 1, 2, 3, 4, 5, 6, 7}, mu[K * D] = {0, 0, 5, 5};
  double a[N * K] = {1, 0, 1, 0, 0, 1, 0, 1}, enc[2 * K * D];
  vl_size offsets[3] = {0, 3, 4}, bad_off[3] = {0, 3, 2}, bad0[3] = {1, 3, 4};

#define VLAD_EXPECT_FAIL(call, code)                                                  \
  do {                                                                                \
    fill(enc, 2 * K * D, SENTINEL);                                                   \
    call;                                                                             \
    EXPECT_ERROR(code);                                                               \
    CHECK(all_equal(enc, 2 * K * D, SENTINEL));                                       \
  } while (0)

  VLAD_EXPECT_FAIL(vl_vlad_encode(NULL, VL_TYPE_DOUBLE, mu, D, K, x, N, a, 0), VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, 7, mu, D, K, x, N, a, 0), VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, NULL, D, K, x, N, a, 0), VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, NULL, N, a, 0), VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, NULL, 0), VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, 0, K, x, N, a, 0), VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, 0, x, N, a, 0), VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, 16), VL_ERR_BAD_ARG);
  CHECK(strstr(vl_get_last_error_message(), "vl_vlad_encode") != NULL);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, -1), VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, SIZE_MAX / 2 + 1, a, 0),
                   VL_ERR_OVERFLOW);
  x[3] = NAN;
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, 0), VL_ERR_BAD_ARG);
  x[3] = -INFINITY;
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, 0), VL_ERR_BAD_ARG);
  x[3] = 3;
  mu[1] = INFINITY;
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, 0), VL_ERR_BAD_ARG);
  mu[1] = 0;
  a[2] = INFINITY;
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, 0), VL_ERR_BAD_ARG);
  a[2] = -INFINITY; /* ignored, like any entry <= 0 */
  vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, 0);
  EXPECT_OK();
  a[2] = 1;

  VLAD_EXPECT_FAIL(vl_vlad_encode_batch(NULL, VL_TYPE_DOUBLE, mu, D, K, x, offsets, 2, a, 0),
                   VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode_batch(enc, VL_TYPE_DOUBLE, mu, D, K, x, NULL, 2, a, 0),
                   VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode_batch(enc, VL_TYPE_DOUBLE, mu, D, K, x, bad_off, 2, a, 0),
                   VL_ERR_BAD_ARG);
  CHECK(strstr(vl_get_last_error_message(), "decrease") != NULL);
  VLAD_EXPECT_FAIL(vl_vlad_encode_batch(enc, VL_TYPE_DOUBLE, mu, D, K, x, bad0, 2, a, 0),
                   VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode_batch(enc, VL_TYPE_DOUBLE, mu, D, K, x, offsets, 2, a, 0x20),
                   VL_ERR_BAD_ARG);
  VLAD_EXPECT_FAIL(vl_vlad_encode_batch(enc, VL_TYPE_DOUBLE, mu, D, K, NULL, offsets, 2, NULL, 0),
                   VL_ERR_BAD_ARG);
  x[7] = NAN;
  VLAD_EXPECT_FAIL(vl_vlad_encode_batch(enc, VL_TYPE_DOUBLE, mu, D, K, x, offsets, 2, NULL, 0),
                   VL_ERR_BAD_ARG);
  x[7] = 7;
  /* allocation failure: error, output untouched */
  gmm_alloc_fail_after(1);
  VLAD_EXPECT_FAIL(vl_vlad_encode_batch(enc, VL_TYPE_DOUBLE, mu, D, K, x, offsets, 2, NULL, 0),
                   VL_ERR_ALLOC);
  gmm_alloc_fail_after(1);
  VLAD_EXPECT_FAIL(vl_vlad_encode(enc, VL_TYPE_DOUBLE, mu, D, K, x, N, a, 0), VL_ERR_ALLOC);
  gmm_alloc_fail_after(0);
  /* and it works again */
  CHECK(vl_vlad_encode_batch(enc, VL_TYPE_DOUBLE, mu, D, K, x, offsets, 2, NULL, 0) == VL_ERR_OK);
  EXPECT_OK();
#undef VLAD_EXPECT_FAIL
}

/* ---- bag of visual words ------------------------------------------------------ */

static void test_bovw(void)
{
  enum { N = 700, D = 4, K = 6, NI = 5 };
  vl_size const sizes[NI] = {300, 0, 1, 250, 149};
  vl_size offsets[NI + 1] = {0};
  double *x = rand_array(N * D, 2, 0), *c = rand_array(K * D, 1.5, 0);
  double h[K], ref[K], hb[NI * K], hs[NI * K];
  double const sigma = 0.8;
  for (size_t j = 0; j < NI; ++j) offsets[j + 1] = offsets[j] + sizes[j];
  CHECK(offsets[NI] == N);

  /* hard counts == brute force */
  memset(ref, 0, sizeof ref);
  for (size_t i = 0; i < N; ++i) ref[nearest(x + i * D, c, D, K)] += 1;
  CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, x, N, 0, 0) == VL_ERR_OK);
  for (size_t k = 0; k < K; ++k) CHECK(h[k] == ref[k]);
  /* flags: frequencies, square root, normalised, in that order */
  CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, x, N, 0, VL_BOVW_FLAG_FREQUENCIES) == 0);
  for (size_t k = 0; k < K; ++k) CHECK_CLOSE(h[k], ref[k] / N, 1e-15, 0);
  CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, x, N, 0, VL_BOVW_FLAG_SQUARE_ROOT) == 0);
  for (size_t k = 0; k < K; ++k) CHECK_CLOSE(h[k], sqrt(ref[k]), 1e-15, 0);
  CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, x, N, 0, VL_BOVW_FLAG_NORMALIZED) == 0);
  CHECK_CLOSE(norm2(h, K), 1, 1e-15, 0);
  for (size_t k = 0; k < K; ++k) CHECK_CLOSE(h[k], ref[k] / norm2(ref, K), 1e-15, 0);
  CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, x, N, 0,
                       VL_BOVW_FLAG_FREQUENCIES | VL_BOVW_FLAG_SQUARE_ROOT |
                           VL_BOVW_FLAG_NORMALIZED) == 0);
  {
    double s[K];
    for (size_t k = 0; k < K; ++k) s[k] = sqrt(ref[k] / N);
    for (size_t k = 0; k < K; ++k) CHECK_CLOSE(h[k], s[k] / norm2(s, K), 1e-15, 0);
  }

  /* soft kernel codebook == brute force; the weights of each descriptor sum to 1 */
  memset(ref, 0, sizeof ref);
  for (size_t i = 0; i < N; ++i) {
    double w[K], sum = 0;
    for (size_t k = 0; k < K; ++k) {
      double s = 0;
      for (size_t d = 0; d < D; ++d) s += pow(x[i * D + d] - c[k * D + d], 2);
      w[k] = exp(-s / (2 * sigma * sigma));
      sum += w[k];
    }
    for (size_t k = 0; k < K; ++k) ref[k] += w[k] / sum;
  }
  CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, x, N, sigma, VL_BOVW_FLAG_SOFT) == 0);
  {
    double tot = 0;
    for (size_t k = 0; k < K; ++k) {
      CHECK_CLOSE(h[k], ref[k], 1e-10, 0);
      tot += h[k];
    }
    CHECK_CLOSE(tot, N, 1e-12, 0);
  }
  /* tiny sigma: no 0/0, the soft histogram tends to the hard one */
  CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, x, N, 1e-200, VL_BOVW_FLAG_SOFT) == 0);
  CHECK(all_finite_d(h, K));
  CHECK(vl_bovw_encode(ref, VL_TYPE_DOUBLE, c, D, K, x, N, 0, 0) == 0);
  for (size_t k = 0; k < K; ++k) CHECK(h[k] == ref[k]);
  /* far-away data: every exp(-d/2s^2) underflows, the stable form does not */
  {
    double far[2 * D];
    for (size_t j = 0; j < 2 * D; ++j) far[j] = 1e3 + (double)j;
    CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, far, 2, 0.1, VL_BOVW_FLAG_SOFT) == 0);
    CHECK(all_finite_d(h, K));
    CHECK_CLOSE(h[0] + h[1] + h[2] + h[3] + h[4] + h[5], 2, 1e-14, 0);
  }

  /* empty image: zeros with every flag */
  for (int flags = 0; flags < 16; ++flags) {
    fill(h, K, SENTINEL);
    CHECK(vl_bovw_encode(h, VL_TYPE_DOUBLE, c, D, K, NULL, 0, 1.0, flags) == VL_ERR_OK);
    CHECK(all_equal(h, K, 0.0));
  }

  /* batch == single bit for bit, 1 and 2 threads, float and double */
  {
    float *xf = malloc(N * D * sizeof *xf), cf[K * D], hf[NI * K], hsf[NI * K];
    for (size_t j = 0; j < N * D; ++j) xf[j] = (float)x[j];
    for (size_t j = 0; j < K * D; ++j) cf[j] = (float)c[j];
    for (vl_size t = 1; t <= 2; ++t) {
      vl_set_num_threads(t);
      for (int flags = 0; flags < 16; ++flags) {
        for (size_t j = 0; j < NI; ++j) {
          CHECK(vl_bovw_encode(hs + j * K, VL_TYPE_DOUBLE, c, D, K, x + offsets[j] * D, sizes[j],
                               sigma, flags) == 0);
          CHECK(vl_bovw_encode(hsf + j * K, VL_TYPE_FLOAT, cf, D, K, xf + offsets[j] * D,
                               sizes[j], sigma, flags) == 0);
        }
        CHECK(vl_bovw_encode_batch(hb, VL_TYPE_DOUBLE, c, D, K, x, offsets, NI, sigma, flags) == 0);
        CHECK(memcmp(hb, hs, sizeof hb) == 0);
        CHECK(vl_bovw_encode_batch(hf, VL_TYPE_FLOAT, cf, D, K, xf, offsets, NI, sigma, flags) == 0);
        CHECK(memcmp(hf, hsf, sizeof hf) == 0);
        for (size_t j = 0; j < NI * K; ++j) CHECK_CLOSE(hf[j], hb[j], 1e-5, 1e-6);
      }
    }
    vl_set_num_threads(0);
    free(xf);
  }

  /* GMM posteriors: soft sums to N, hard == argmax of the stateless E-step */
  {
    double cov[K * D], pri[K], *post = malloc(N * K * sizeof *post);
    double hard_ref[K] = {0};
    for (size_t j = 0; j < K * D; ++j) cov[j] = 0.5 + test_uniform();
    for (size_t k = 0; k < K; ++k) pri[k] = (1.0 + (double)k) / (K * (K + 1) / 2.0);
    vl_get_gmm_data_posteriors_d(post, K, N, pri, c, D, cov, x);
    for (size_t i = 0; i < N; ++i) {
      size_t b = 0;
      for (size_t k = 1; k < K; ++k)
        if (post[i * K + k] > post[i * K + b]) b = k;
      hard_ref[b] += 1;
    }
    {
      vl_size const one[2] = {0, N};
      double tot = 0;
      CHECK(vl_bovw_encode_gmm_batch(h, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, one, 1,
                                     VL_BOVW_FLAG_SOFT) == 0);
      for (size_t k = 0; k < K; ++k) {
        double col = 0;
        for (size_t i = 0; i < N; ++i) col += post[i * K + k];
        CHECK_CLOSE(h[k], col, 1e-12, 0);
        tot += h[k];
      }
      CHECK_CLOSE(tot, N, 1e-12, 0);
      CHECK(vl_bovw_encode_gmm_batch(h, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, one, 1, 0) == 0);
      for (size_t k = 0; k < K; ++k) CHECK(h[k] == hard_ref[k]);
      CHECK(vl_bovw_encode_gmm_batch(h, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, one, 1,
                                     VL_BOVW_FLAG_FREQUENCIES | VL_BOVW_FLAG_SOFT) == 0);
      CHECK_CLOSE(h[0] + h[1] + h[2] + h[3] + h[4] + h[5], 1, 1e-12, 0);
    }
    for (vl_size t = 1; t <= 2; ++t) {
      vl_set_num_threads(t);
      for (int flags = 0; flags < 16; ++flags) {
        for (size_t j = 0; j < NI; ++j) {
          vl_size const o[2] = {0, sizes[j]};
          CHECK(vl_bovw_encode_gmm_batch(hs + j * K, VL_TYPE_DOUBLE, c, D, K, cov, pri,
                                         x + offsets[j] * D, o, 1, flags) == 0);
        }
        CHECK(vl_bovw_encode_gmm_batch(hb, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, offsets, NI,
                                       flags) == 0);
        CHECK(memcmp(hb, hs, sizeof hb) == 0);
        CHECK(all_equal(hb + K, K, 0.0));
      }
    }
    vl_set_num_threads(0);
    /* no prior reaches 1e-6: nothing is counted */
    {
      double zp[K] = {0};
      vl_size const one[2] = {0, N};
      CHECK(vl_bovw_encode_gmm_batch(h, VL_TYPE_DOUBLE, c, D, K, cov, zp, x, one, 1,
                                     VL_BOVW_FLAG_NORMALIZED | VL_BOVW_FLAG_SOFT) == 0);
      CHECK(all_equal(h, K, 0.0));
    }

    /* errors: code set, output untouched */
#define BOVW_EXPECT_FAIL(call, code)                                                  \
  do {                                                                                \
    fill(hb, NI * K, SENTINEL);                                                       \
    CHECK((call) == (code));                                                          \
    EXPECT_ERROR(code);                                                               \
    CHECK(all_equal(hb, NI * K, SENTINEL));                                           \
  } while (0)
    {
      vl_size bad_off[NI + 1];
      memcpy(bad_off, offsets, sizeof offsets);
      bad_off[3] = bad_off[2] - 1;
      BOVW_EXPECT_FAIL(vl_bovw_encode(NULL, VL_TYPE_DOUBLE, c, D, K, x, N, 0, 0), VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, VL_TYPE_DOUBLE, NULL, D, K, x, N, 0, 0), VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, VL_TYPE_DOUBLE, c, D, K, NULL, N, 0, 0), VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, 0, c, D, K, x, N, 0, 0), VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, VL_TYPE_DOUBLE, c, 0, K, x, N, 0, 0), VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, VL_TYPE_DOUBLE, c, D, 0, x, N, 0, 0), VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, VL_TYPE_DOUBLE, c, D, K, x, N, 1, 16), VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, VL_TYPE_DOUBLE, c, D, K, x, N, 0, VL_BOVW_FLAG_SOFT),
                       VL_ERR_BAD_ARG);
      CHECK(strstr(vl_get_last_error_message(), "sigma") != NULL);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, VL_TYPE_DOUBLE, c, D, K, x, N, -1, VL_BOVW_FLAG_SOFT),
                       VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode(hb, VL_TYPE_DOUBLE, c, D, K, x, N, NAN, VL_BOVW_FLAG_SOFT),
                       VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode_batch(hb, VL_TYPE_DOUBLE, c, D, K, x, bad_off, NI, 1, 0),
                       VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode_batch(hb, VL_TYPE_DOUBLE, c, D, K, x, NULL, NI, 1, 0),
                       VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode_gmm_batch(hb, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, bad_off,
                                                NI, 0),
                       VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode_gmm_batch(hb, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, offsets,
                                                NI, 0x10),
                       VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode_gmm_batch(hb, VL_TYPE_DOUBLE, c, D, K, NULL, pri, x, offsets,
                                                NI, 0),
                       VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode_gmm_batch(NULL, VL_TYPE_DOUBLE, c, D, K, cov, pri, x,
                                                offsets, NI, 0),
                       VL_ERR_BAD_ARG);
      cov[3] = 0;
      BOVW_EXPECT_FAIL(vl_bovw_encode_gmm_batch(hb, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, offsets,
                                                NI, 0),
                       VL_ERR_BAD_ARG);
      cov[3] = 1;
      pri[1] = -0.1;
      BOVW_EXPECT_FAIL(vl_bovw_encode_gmm_batch(hb, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, offsets,
                                                NI, 0),
                       VL_ERR_BAD_ARG);
      pri[1] = 0.1;
      x[5] = NAN;
      BOVW_EXPECT_FAIL(vl_bovw_encode_batch(hb, VL_TYPE_DOUBLE, c, D, K, x, offsets, NI, 1, 0),
                       VL_ERR_BAD_ARG);
      BOVW_EXPECT_FAIL(vl_bovw_encode_gmm_batch(hb, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, offsets,
                                                NI, 0),
                       VL_ERR_BAD_ARG);
      x[5] = 0;
      c[2] = INFINITY;
      BOVW_EXPECT_FAIL(vl_bovw_encode_batch(hb, VL_TYPE_DOUBLE, c, D, K, x, offsets, NI, 1, 0),
                       VL_ERR_BAD_ARG);
      c[2] = 0;
      gmm_alloc_fail_after(2);
      BOVW_EXPECT_FAIL(vl_bovw_encode_batch(hb, VL_TYPE_DOUBLE, c, D, K, x, offsets, NI, 1, 0),
                       VL_ERR_ALLOC);
      gmm_alloc_fail_after(3);
      BOVW_EXPECT_FAIL(vl_bovw_encode_gmm_batch(hb, VL_TYPE_DOUBLE, c, D, K, cov, pri, x, offsets,
                                                NI, 0),
                       VL_ERR_ALLOC);
      gmm_alloc_fail_after(0);
      /* sigma is ignored without SOFT; zero images are fine */
      CHECK(vl_bovw_encode_batch(hb, VL_TYPE_DOUBLE, c, D, K, x, offsets, NI, NAN, 0) == 0);
      CHECK(vl_bovw_encode_batch(NULL, VL_TYPE_DOUBLE, c, D, K, NULL, offsets, 0, 1, 0) == 0);
      EXPECT_OK();
    }
#undef BOVW_EXPECT_FAIL
    free(post);
  }
  free(x);
  free(c);
}

/* ---- Fisher ---------------------------------------------------------------- */

static void test_fisher(void)
{
  /* closed form (spec section 3): K = 1, D = 3 */
  {
    double const x[3] = {1, 2, -1}, mu[3] = {0, 1, 0}, s2[3] = {4, 1, 0.25}, pi = 1;
    double e[6], want[6] = {0.5, 1, -2, -0.75 / sqrt(2.0), 0, 3 / sqrt(2.0)};
    vl_size n = vl_fisher_encode(e, VL_TYPE_DOUBLE, mu, 3, 1, s2, &pi, x, 1, 0);
    EXPECT_OK();
    CHECK(n == 1);
    for (int j = 0; j < 6; ++j) CHECK_CLOSE(e[j], want[j], 1e-15, 1e-15);
    CHECK_CLOSE(e[3], -0.530, 0, 5e-4);
    CHECK_CLOSE(e[5], 2.121, 0, 5e-4);
  }
  /* batch == single, N = 0, flags */
  {
    enum { NI = 5, D = 3, K = 4 };
    vl_size const sizes[NI] = {50, 0, 1, 9000, 77};
    vl_size offsets[NI + 1] = {0}, terms[NI], tsingle[NI];
    size_t NT;
    double *x, mu[K * D], cov[K * D], pri[K], *eb, *es;
    for (size_t j = 0; j < NI; ++j) offsets[j + 1] = offsets[j] + sizes[j];
    NT = offsets[NI];
    x = rand_array(NT * D, 2, 0);
    for (size_t j = 0; j < K * D; ++j) {
      mu[j] = 1.5 * test_normal();
      cov[j] = 0.5 + test_uniform();
    }
    for (size_t k = 0; k < K; ++k) pri[k] = 0.25;
    eb = malloc(NI * 2 * K * D * sizeof *eb);
    es = malloc(NI * 2 * K * D * sizeof *es);
    for (vl_size t = 1; t <= 2; ++t) {
      vl_set_num_threads(t);
      for (int flags = 0; flags < 8; ++flags) {
        for (size_t j = 0; j < NI; ++j)
          tsingle[j] = vl_fisher_encode(es + j * 2 * K * D, VL_TYPE_DOUBLE, mu, D, K, cov, pri,
                                        x + offsets[j] * D, sizes[j], flags);
        CHECK(vl_fisher_encode_batch(eb, VL_TYPE_DOUBLE, mu, D, K, cov, pri, x, offsets, NI,
                                     flags, terms) == VL_ERR_OK);
        for (size_t j = 0; j < NI; ++j) {
          CHECK(terms[j] == tsingle[j]);
          if (sizes[j] < FISHER_SLAB_ROWS || FISHER_LARGE_IMAGE_BITWISE)
            CHECK_MSG(memcmp(eb + j * 2 * K * D, es + j * 2 * K * D, 2 * K * D * sizeof *eb) == 0,
                      "fisher batch != single: image %zu (%zu points), flags %d, %zu threads", j,
                      (size_t)sizes[j], flags, (size_t)t);
          else
            for (size_t q = 0; q < 2 * K * D; ++q)
              CHECK_CLOSE(eb[j * 2 * K * D + q], es[j * 2 * K * D + q], 1e-12, 1e-15);
        }
        CHECK(all_equal(eb + 2 * K * D, 2 * K * D, 0.0));
        CHECK(terms[1] == 0);
      }
    }
    vl_set_num_threads(0);
    /* N = 0: zeros with every flag, 0 terms */
    for (int flags = 0; flags < 8; ++flags) {
      fill(es, 2 * K * D, SENTINEL);
      CHECK(vl_fisher_encode(es, VL_TYPE_DOUBLE, mu, D, K, cov, pri, NULL, 0, flags) == 0);
      EXPECT_OK();
      CHECK(all_equal(es, 2 * K * D, 0.0));
    }
    /* unknown flag: error, output untouched */
    fill(es, 2 * K * D, SENTINEL);
    CHECK(vl_fisher_encode(es, VL_TYPE_DOUBLE, mu, D, K, cov, pri, x, 10, 8) == 0);
    EXPECT_ERROR(VL_ERR_BAD_ARG);
    CHECK(all_equal(es, 2 * K * D, SENTINEL));
    fill(eb, 2 * K * D, SENTINEL);
    CHECK(vl_fisher_encode_batch(eb, VL_TYPE_DOUBLE, mu, D, K, cov, pri, x, offsets, NI, 0x40,
                                 NULL) == VL_ERR_BAD_ARG);
    CHECK(all_equal(eb, 2 * K * D, SENTINEL));
    free(x);
    free(eb);
    free(es);
  }
}

int main(void)
{
  test_seed(11);
  test_vlad_closed_form();
  test_vlad_flags();
  test_vlad_batch();
  test_vlad_errors();
  test_bovw();
  test_fisher();
  TEST_EXIT();
}
