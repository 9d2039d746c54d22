/* fuzz_api.c: libFuzzer harness for libgmm's public C API.
 *
 * The fuzz input is decoded into a short program of API calls on a few
 * object slots (GMMs, k-means objects) and on the stateless functions
 * (posteriors, Fisher, VLAD, bag of words): sizes (small, zero, and huge
 * values whose byte sizes overflow size_t), data types (valid and invalid
 * vl_type codes), flags (with unknown bits), enum values, and data (NaN,
 * +-Inf, huge and denormal values, zero or negative variances, priors that
 * do not sum to 1, duplicate points, K > N, decreasing offsets).
 *
 * Every array handed to the library is a malloc block of exactly the size
 * the API contract gives it, so AddressSanitizer flags any read or write
 * past it. An array whose byte size would overflow size_t (a huge size) is
 * a 1-byte block: the library must reject the call before touching it.
 *
 * After every call the harness checks what the headers promise (and
 * abort()s, which libFuzzer reports as a crash, when a promise is broken):
 *  - the thread's last error: 0 with an empty message, or a known code with
 *    a non-empty message; the sentinel return agrees with it (NULL, NaN,
 *    0, the returned code);
 *  - invalid arguments (bad type, unknown flags or enum values, zero sizes,
 *    K > N, NaN/Inf, non-positive variances, negative priors, bad offsets)
 *    are rejected, and valid ones are accepted (unless an allocation failure
 *    was injected);
 *  - a rejected call leaves objects and (for the encoders) outputs unchanged;
 *  - outputs after a successful call: priors >= 0 summing to 1 after an
 *    M-step, covariances >= their lower bounds, posteriors in [0, 1] with
 *    rows summing to 1, k-means assignments < K and distances >= 0, L2
 *    normalised encodings of norm <= 1 (1 unless the norm was below the
 *    1e-12 floor), hard histograms counting every
 *    descriptor, empty images encoding to zeros, finite values whenever the
 *    inputs are moderate ("tame": finite, |x| <= 1e8, variances in
 *    [1e-6, 1e6]);
 *  - batch encoders equal the single-image encoders bit for bit;
 *  - copies equal their originals; getters return what setters set;
 *  - nothing is printed unless some object's verbosity was raised.
 *
 * Allocation failures are injected through the library's hidden test hook
 * gmm_alloc_fail_after (the harness links the library's objects statically);
 * leaks are caught by LeakSanitizer (every object is deleted at the end of
 * each input).
 *
 * Work per input is bounded (a budget of multiply-adds), so executions stay
 * fast whatever the input says.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl/libgmm.h"
#include "vl/fisher.h"
#include "vl/gmm.h"
#include "vl/kmeans.h"
#include "vl/libgmm.h"
#include "vl/random.h"
#include "vl/vlad.h"

/* Hidden test hook of alloc.c: make the n-th library allocation from now fail. */
void gmm_alloc_fail_after(long n) __attribute__((weak));

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- failure reporting ---------------------------------------------------------- */

static char const *g_op = "";
static int g_trace; /* FUZZ_API_TRACE=1: print every checked call and its error */

#define FAIL(...)                                                                   \
  do {                                                                              \
    fprintf(stderr, "\nfuzz_api: INVARIANT VIOLATED in %s (%s:%d): ", g_op, __FILE__, \
            __LINE__);                                                              \
    fprintf(stderr, __VA_ARGS__);                                                   \
    fprintf(stderr, "\n  last error %d: %s\n", vl_get_last_error(),                 \
            vl_get_last_error_message() ? vl_get_last_error_message() : "(null)");  \
    abort();                                                                        \
  } while (0)

#define REQUIRE(cond, ...)    \
  do {                        \
    if (!(cond)) FAIL(__VA_ARGS__); \
  } while (0)

/* ---- input reader ------------------------------------------------------------------ */

typedef struct {
  uint8_t const *p;
  size_t n;
} rd_t;

static uint8_t u8(rd_t *r)
{
  if (!r->n) return 0;
  r->n--;
  return *r->p++;
}
static uint16_t u16(rd_t *r)
{
  uint16_t a = u8(r);
  return (uint16_t)(a | (uint16_t)(u8(r) << 8));
}
static uint32_t u32(rd_t *r)
{
  uint32_t a = u16(r);
  return a | ((uint32_t)u16(r) << 16);
}
static uint64_t u64(rd_t *r)
{
  uint64_t a = u32(r);
  return a | ((uint64_t)u32(r) << 32);
}

/* splitmix64: bulk values from a few input bytes */
static uint64_t sm_next(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static double sm_unif(uint64_t *s) { return (double)(sm_next(s) >> 11) * 0x1.0p-53; }

/* ---- sizes -------------------------------------------------------------------------- */

/* Huge sizes: >= 2^62, so that any element count containing one, times 4 or
 * 8 bytes, overflows size_t. */
static size_t const k_huge[] = {
    (size_t)1 << 62, ((size_t)1 << 62) + 1, (size_t)1 << 63, ((size_t)1 << 63) + 3,
    SIZE_MAX,        SIZE_MAX - 1,          (size_t)3 << 62, ((size_t)1 << 62) + 12345};

/* Elements above this are never allocated (only huge products get here). */
#define MAX_ELEMS ((size_t)1 << 24)

static size_t mulc(size_t a, size_t b)
{
  if (a && b > SIZE_MAX / a) return SIZE_MAX;
  return a * b;
}

static int is_huge(size_t n) { return n > MAX_ELEMS; }

/* A size in [1, max], 0 now and then, a huge value now and then. */
static size_t rd_size(rd_t *r, size_t max, int allow_huge)
{
  uint8_t const b = u8(r);
  if (b >= 250 && allow_huge) return k_huge[u8(r) % COUNT(k_huge)];
  if (b >= 244) return 0;
  return 1 + (size_t)b % max;
}

/* Number of points: mostly <= 64, sometimes a few hundred (several E-step
 * blocks of 128), 0 or huge now and then. */
static size_t rd_num(rd_t *r, int allow_huge)
{
  uint8_t const b = u8(r);
  if (b >= 250 && allow_huge) return k_huge[u8(r) % COUNT(k_huge)];
  if (b >= 244) return 0;
  if (b >= 236) return 100 + (size_t)u16(r) % 500;
  return 1 + (size_t)b % 64;
}

static vl_type rd_type(rd_t *r)
{
  uint8_t const b = u8(r);
  if (b < 120) return VL_TYPE_FLOAT;
  if (b < 240) return VL_TYPE_DOUBLE;
  switch (b % 4) {
    case 0: return 0;
    case 1: return 3 + b % 8; /* VL_TYPE_INT8 .. VL_TYPE_UINT64 */
    case 2: return 0xffffffffu;
    default: return u32(r);
  }
}

static size_t esize(vl_type t) { return t == VL_TYPE_FLOAT ? 4 : t == VL_TYPE_DOUBLE ? 8 : 0; }

/* Flags: usually known bits only, sometimes anything. */
static int rd_flags(rd_t *r, int known)
{
  uint8_t const b = u8(r);
  if (b < 224) return b & known;
  return (int)u32(r);
}

/* An enum value: usually in [0, n), sometimes anything. */
static int rd_enum(rd_t *r, int n)
{
  uint8_t const b = u8(r);
  if (b < 232) return b % n;
  return (int)u32(r);
}

/* ---- special values ----------------------------------------------------------------- */

static double special(uint8_t b)
{
  static double const v[] = {NAN,      INFINITY, -INFINITY, 0.0,     -0.0,     DBL_MAX,
                             -DBL_MAX, FLT_MAX,  -FLT_MAX,  5e-324,  1.4e-45,  DBL_MIN,
                             1e-310,   1e30,     -1e30,     1e-7,    -1.0,     1e300,
                             1e-40,    1e20,     -1e20,     1.0,     0.5,      1e-300};
  return v[b % COUNT(v)];
}

/* A double for a scalar argument (bounds, sigma, thresholds). */
static double rd_scalar(rd_t *r)
{
  uint8_t const b = u8(r);
  if (b < 128) return (double)(b + 1) / 64.0;
  if (b < 160) return (double)u16(r) * 1e-4;
  return special(u8(r));
}

/* ---- arrays -------------------------------------------------------------------------- */

enum { KIND_DATA, KIND_VAR, KIND_PRIOR, KIND_WEIGHT };

typedef struct {
  void *p;       /* exact-size block, a 1-byte block (dummy) or NULL */
  size_t n;      /* elements (per the contract) */
  vl_type t;
  int dummy;     /* byte size overflows (or invalid type): the library must not read it */
  int finite;    /* every element finite */
  int tame;      /* finite and |x| <= 1e8 */
  double minv, maxv;
  int any_prior; /* some element >= 1e-6 */
  int pos_inf;   /* some element is +Inf */
} arr_t;

static double arr_get(arr_t const *a, size_t j)
{
  return a->t == VL_TYPE_FLOAT ? (double)((float const *)a->p)[j] : ((double const *)a->p)[j];
}

static void arr_set(arr_t *a, size_t j, double v)
{
  if (a->t == VL_TYPE_FLOAT) {
    if (isfinite(v) && fabs(v) > FLT_MAX) v = copysign(FLT_MAX, v);
    ((float *)a->p)[j] = (float)v;
  } else {
    ((double *)a->p)[j] = v;
  }
}

static void arr_scan(arr_t *a)
{
  a->finite = 1;
  a->minv = INFINITY;
  a->maxv = -INFINITY;
  a->any_prior = 0;
  a->pos_inf = 0;
  for (size_t j = 0; j < a->n; ++j) {
    double const v = arr_get(a, j);
    if (!isfinite(v)) {
      a->finite = 0;
      if (v > 0) a->pos_inf = 1;
      continue;
    }
    if (v < a->minv) a->minv = v;
    if (v > a->maxv) a->maxv = v;
    if (v >= 1e-6) a->any_prior = 1;
  }
  a->tame = a->finite && (a->n == 0 || (a->minv >= -1e8 && a->maxv <= 1e8));
}

static arr_t arr_empty(vl_type t)
{
  arr_t a;
  memset(&a, 0, sizeof a);
  a.t = t;
  a.finite = a.tame = 1;
  return a;
}

/* n elements of type t; cols: row length (for structured data). */
static arr_t arr_gen(rd_t *r, vl_type t, size_t n, size_t cols, int kind)
{
  arr_t a = arr_empty(t);
  size_t const es = esize(t);
  uint8_t const mode = u8(r), sc = u8(r);
  uint64_t seed = u16(r);
  static double const scales[] = {1, 1e-3, 1e3, 1e-20, 1e8, 1e20, 1e-300, 1e300};
  static double const offsets[] = {0, 1e3, -1e6, 1e15};
  double const scale = scales[sc % COUNT(scales)];
  double const offset = offsets[(sc >> 3) % COUNT(offsets)];
  a.n = n;
  if (!es || is_huge(n)) {
    a.p = malloc(1);
    a.dummy = 1;
    a.finite = a.tame = 0;
    return a;
  }
  a.p = malloc(n ? n * es : 1);
  if (cols == 0) cols = 1;
  for (size_t j = 0; j < n; ++j) {
    double u = sm_unif(&seed), v = 0;
    switch (kind) {
      case KIND_DATA:
        switch (mode % 6) {
          case 0: v = offset + scale * (2 * u - 1); break;
          case 1: { /* a few clusters along the row's first coordinate */
            size_t const row = j / cols;
            double const c = (double)(row % 3) * 10.0;
            v = offset + scale * (c + 0.1 * (2 * u - 1));
            break;
          }
          case 2: v = offset + scale * (double)(sm_next(&seed) % 3); break; /* duplicates */
          case 3: v = offset + scale; break;                                  /* constant */
          case 4: v = scale * u; break;
          default: v = (double)((int)(sm_next(&seed) % 21) - 10); break;
        }
        break;
      case KIND_VAR:
        v = mode % 4 == 3 ? 1.0 : scale * (0.5 + u);
        break;
      case KIND_PRIOR:
        v = (mode & 2) && (sm_next(&seed) & 1) ? 0.0 : (mode & 4 ? scale : 1.0) * (0.01 + u);
        break;
      case KIND_WEIGHT: { /* N x cols assignment weights */
        size_t const k = j % cols;
        if (mode % 3 == 0) {
          /* one-hot: the column picked by the row's first draw */
          uint64_t rs = seed ^ (uint64_t)(j / cols) * 0x9e3779b97f4a7c15ULL;
          v = (sm_next(&rs) % cols) == k ? 1.0 : 0.0;
        } else if (mode % 3 == 1) {
          v = u;
        } else {
          v = scale * u;
        }
        break;
      }
    }
    arr_set(&a, j, v);
  }
  if (kind == KIND_PRIOR && (mode & 1) && n) { /* normalised to sum 1 */
    double s = 0;
    for (size_t j = 0; j < n; ++j) s += arr_get(&a, j);
    if (s > 0 && isfinite(s))
      for (size_t j = 0; j < n; ++j) arr_set(&a, j, arr_get(&a, j) / s);
  }
  {
    uint8_t const b = u8(r);
    int const nspecial = b < 200 || !n ? 0 : 1 + b % 4;
    for (int s = 0; s < nspecial; ++s) {
      size_t const j = u16(r) % n;
      arr_set(&a, j, special(u8(r)));
    }
  }
  arr_scan(&a);
  return a;
}

/* Like arr_gen, but NULL when the input says so. */
static arr_t arr_gen_or_null(rd_t *r, vl_type t, size_t n, size_t cols, int kind, int null_bit)
{
  arr_t a;
  if (null_bit) {
    a = arr_empty(t);
    a.n = n;
    return a;
  }
  return arr_gen(r, t, n, cols, kind);
}

/* Trace: the first elements of an array. */
static void dump(char const *name, arr_t const *a)
{
  fprintf(stderr, "    %s (%zu%s):", name, a->n, a->dummy ? ", dummy" : a->p ? "" : ", NULL");
  for (size_t j = 0; a->p && !a->dummy && j < a->n && j < 48; ++j) fprintf(stderr, " %.9g", arr_get(a, j));
  fprintf(stderr, "\n");
}

static void arr_free(arr_t *a)
{
  free(a->p);
  a->p = NULL;
}

/* An output block of n elements of t (or a dummy), filled with a canary. */
#define CANARY 0xA5
static arr_t out_alloc(vl_type t, size_t n)
{
  arr_t a = arr_empty(t);
  size_t const es = esize(t) ? esize(t) : 8;
  a.n = n;
  if (!esize(t) || is_huge(n)) {
    a.p = malloc(1);
    a.dummy = 1;
    return a;
  }
  a.p = malloc(n ? n * es : 1);
  memset(a.p, CANARY, n ? n * es : 1);
  return a;
}

static int canary_intact(arr_t const *a)
{
  size_t const es = esize(a->t) ? esize(a->t) : 8;
  if (a->dummy || !a->p) return 1;
  for (size_t j = 0; j < a->n * es; ++j)
    if (((unsigned char const *)a->p)[j] != CANARY) return 0;
  return 1;
}

/* k-means sample weights for n points: NULL (unweighted) now and then, else
 * positive, some 0, all equal, all 0, or with one special value (NaN, +-Inf,
 * negative: invalid; -0, denormal, huge: valid). A huge n gives a 1-byte
 * dummy: the call must be rejected before the weights are read. */
typedef struct {
  double *p;
  size_t npos;  /* positive weights that stay positive once libgmm rescales them */
  int valid;    /* finite and >= 0 */
  int all_zero; /* no positive weight */
  int tame;     /* valid and every weight <= 1e8 */
} wts_t;

static wts_t wts_gen(rd_t *r, size_t n)
{
  wts_t w = {NULL, n, 1, 0, 1};
  uint8_t const mode = u8(r);
  uint64_t seed = u16(r);
  double wmax = 0;
  int e;
  if (mode < 64) return w;
  if (is_huge(n)) {
    w.p = malloc(1);
    return w;
  }
  w.p = malloc(n ? n * sizeof(double) : 1);
  for (size_t i = 0; i < n; ++i) {
    double const u = sm_unif(&seed);
    if (mode < 128) w.p[i] = 0.1 + 2 * u;
    else if (mode < 192) w.p[i] = (sm_next(&seed) & 3) == 0 ? 0.0 : (double)(1 + sm_next(&seed) % 4);
    else if (mode < 224) w.p[i] = (sm_next(&seed) & 3) == 0 ? 0.0 : 2.5;
    else if (mode < 232) w.p[i] = 0.0;
    else w.p[i] = u;
  }
  if (mode >= 232 && n) w.p[u16(r) % n] = special(u8(r));
  w.npos = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!(w.p[i] >= 0) || !isfinite(w.p[i])) w.valid = 0;
    else if (w.p[i] > wmax) wmax = w.p[i];
    if (!(w.p[i] <= 1e8)) w.tame = 0;
  }
  w.tame = w.tame && w.valid;
  (void)frexp(wmax, &e);
  for (size_t i = 0; i < n; ++i) w.npos += w.p[i] > 0 && ldexp(w.p[i], 1 - e) > 0;
  w.all_zero = wmax == 0;
  return w;
}

/* ---- global state -------------------------------------------------------------------------- */

#define NG 3
#define NK 3

typedef struct {
  int installed;
  int stop_at; /* stop when the iteration number reaches this (-1: never) */
  long calls, runs, runs_mstep;
  int bad_value; /* a NaN value was reported */
} cb_t;

static VlGMM *g_gmm[NG];
static VlKMeans *g_km[NK];
static cb_t g_gcb[NG], g_kcb[NK];
static int g_verbose;     /* some object's verbosity was raised in this input */
static long g_log_calls;  /* messages the library produced */
static double g_budget;   /* multiply-adds left in this input */
static int g_injected;    /* an allocation failure is armed for this operation */

static void log_func(void *user, char const *msg)
{
  (void)user;
  REQUIRE(msg != NULL, "log hook called with NULL");
  REQUIRE(strlen(msg) < 1024, "log message too long");
  ++g_log_calls;
  if (!g_verbose) FAIL("the library printed with every verbosity at 0: \"%s\"", msg);
}

static int callback(void *user, vl_size iteration, double value)
{
  cb_t *c = (cb_t *)user;
  ++c->calls;
  if (iteration == 0) ++c->runs;
  if (iteration == 1) ++c->runs_mstep;
  if (isnan(value)) c->bad_value = 1;
  return c->stop_at >= 0 && (long)iteration >= c->stop_at;
}

static void cb_reset_counts(cb_t *c)
{
  c->calls = c->runs = c->runs_mstep = 0;
  c->bad_value = 0;
}

static int spend(double work)
{
  if (!(work <= g_budget)) return 0;
  g_budget -= work;
  return 1;
}

/* ---- error checks ------------------------------------------------------------------ */

/* The thread's last error right after a call: consistent code and message. */
static int take_error(void)
{
  int const code = vl_get_last_error();
  char const *msg = vl_get_last_error_message();
  REQUIRE(msg != NULL, "vl_get_last_error_message returned NULL");
  if (code == VL_ERR_OK) {
    REQUIRE(msg[0] == '\0', "no error but a message: \"%s\"", msg);
  } else {
    size_t const len = strnlen(msg, VL_ERR_MSG_LEN);
    REQUIRE(len > 0, "error %d without a message", code);
    REQUIRE(len < VL_ERR_MSG_LEN, "error message not terminated");
    REQUIRE(code == VL_ERR_OVERFLOW || code == VL_ERR_ALLOC || code == VL_ERR_BAD_ARG ||
                code == VL_ERR_BAD_STATE || code == VL_ERR_INTERRUPTED,
            "unknown error code %d", code);
  }
  if (g_trace) fprintf(stderr, "  %-40s -> %d %s\n", g_op, code, msg);
  if (code == VL_ERR_ALLOC && !g_injected)
    FAIL("allocation failure without injection (sizes are small): %s", msg);
  return code;
}

/* A call that had to be rejected was, and a valid one was accepted. */
static void expect(int code, int must_fail, int must_succeed, char const *why)
{
  if (must_fail && (code == VL_ERR_OK || code == VL_ERR_INTERRUPTED))
    FAIL("invalid arguments accepted (%s)", why);
  if (must_succeed && !g_injected && code != VL_ERR_OK && code != VL_ERR_INTERRUPTED)
    FAIL("valid arguments rejected (%s)", why);
}

static int rejected(int code) { return code == VL_ERR_BAD_ARG || code == VL_ERR_OVERFLOW || code == VL_ERR_BAD_STATE; }

/* Encoders: valid arguments may still give VL_ERR_OVERFLOW, when the
 * encoding is not representable in the data type (descriptors too far from
 * the model, or unnormalised values beyond the type's range): that counts as
 * an accepted call. Returns whether it happened (a batch's rows are then
 * unspecified; a single encoding is left unchanged). */
static int unrepresentable(int code, int must_succeed) { return code == VL_ERR_OVERFLOW && must_succeed; }

/* ---- snapshots (a rejected call leaves an object unchanged) ---------------------------- */

typedef struct {
  unsigned char *bytes;
  size_t len;
} snap_t;

static void snap_add(snap_t *s, void const *p, size_t n)
{
  if (!n) return;
  s->bytes = realloc(s->bytes, s->len + n);
  memcpy(s->bytes + s->len, p, n);
  s->len += n;
}

static snap_t snap_gmm(VlGMM const *g)
{
  snap_t s = {NULL, 0};
  size_t const es = esize(vl_gmm_get_data_type(g)), K = vl_gmm_get_num_clusters(g),
               D = vl_gmm_get_dimension(g), N = vl_gmm_get_num_data(g);
  struct {
    vl_type t;
    size_t K, D, N, reps, iters;
    int verb, init, store;
    double LL, conv;
    void const *km, *post;
  } h;
  memset(&h, 0, sizeof h);
  h.t = vl_gmm_get_data_type(g);
  h.K = K;
  h.D = D;
  h.N = N;
  h.reps = vl_gmm_get_num_repetitions(g);
  h.iters = vl_gmm_get_max_num_iterations(g);
  h.verb = vl_gmm_get_verbosity(g);
  h.init = (int)vl_gmm_get_initialization(g);
  h.store = vl_gmm_get_store_posteriors(g);
  h.LL = vl_gmm_get_loglikelihood(g);
  h.conv = vl_gmm_get_convergence_threshold(g);
  h.km = vl_gmm_get_kmeans_init_object(g);
  h.post = vl_gmm_get_posteriors(g);
  snap_add(&s, &h, sizeof h);
  snap_add(&s, vl_gmm_get_means(g), K * D * es);
  snap_add(&s, vl_gmm_get_covariances(g), K * D * es);
  snap_add(&s, vl_gmm_get_priors(g), K * es);
  snap_add(&s, vl_gmm_get_covariance_lower_bounds(g), D * sizeof(double));
  if (h.post) snap_add(&s, h.post, N * K * es);
  return s;
}

static snap_t snap_km(VlKMeans const *k)
{
  snap_t s = {NULL, 0};
  size_t const es = esize(vl_kmeans_get_data_type(k)), K = vl_kmeans_get_num_centers(k),
               D = vl_kmeans_get_dimension(k);
  struct {
    vl_type t;
    int dist, algo, init, verb, rule, reason;
    size_t K, D, reps, iters, cmp, trees, done;
    double minvar, energy, tol, shift;
    void const *centers;
  } h;
  memset(&h, 0, sizeof h);
  h.t = vl_kmeans_get_data_type(k);
  h.dist = (int)vl_kmeans_get_distance(k);
  h.algo = (int)vl_kmeans_get_algorithm(k);
  h.init = (int)vl_kmeans_get_initialization(k);
  h.verb = vl_kmeans_get_verbosity(k);
  h.K = K;
  h.D = D;
  h.reps = vl_kmeans_get_num_repetitions(k);
  h.iters = vl_kmeans_get_max_num_iterations(k);
  h.cmp = vl_kmeans_get_max_num_comparisons(k);
  h.trees = vl_kmeans_get_num_trees(k);
  h.minvar = vl_kmeans_get_min_energy_variation(k);
  h.energy = vl_kmeans_get_energy(k);
  h.rule = (int)vl_kmeans_get_stopping_rule(k);
  h.reason = (int)vl_kmeans_get_stop_reason(k);
  h.done = vl_kmeans_get_num_iterations(k);
  h.tol = vl_kmeans_get_center_shift_tolerance(k);
  h.shift = vl_kmeans_get_center_shift(k);
  h.centers = vl_kmeans_get_centers(k);
  snap_add(&s, &h, sizeof h);
  if (h.centers) snap_add(&s, h.centers, K * D * es);
  return s;
}

static int snap_equal(snap_t const *a, snap_t const *b)
{
  return a->len == b->len && (a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0);
}

static void snap_free(snap_t *s)
{
  free(s->bytes);
  s->bytes = NULL;
  s->len = 0;
}

/* ---- helpers on objects ------------------------------------------------------------- */

static double gmm_val(VlGMM const *g, void const *p, size_t j)
{
  return vl_gmm_get_data_type(g) == VL_TYPE_FLOAT ? (double)((float const *)p)[j]
                                                  : ((double const *)p)[j];
}

/* Whether EM can start from the object's current parameters (gmm.h). */
static int gmm_params_valid(VlGMM const *g)
{
  size_t const K = vl_gmm_get_num_clusters(g), D = vl_gmm_get_dimension(g);
  void const *pr = vl_gmm_get_priors(g), *mu = vl_gmm_get_means(g),
             *cv = vl_gmm_get_covariances(g);
  double const *lb = vl_gmm_get_covariance_lower_bounds(g);
  int any = 0;
  for (size_t k = 0; k < K; ++k) {
    double const p = gmm_val(g, pr, k);
    if (!(p >= 0) || !isfinite(p)) return 0;
    if (p >= 1e-6) any = 1;
  }
  if (!any) return 0;
  for (size_t j = 0; j < K * D; ++j) {
    double v = gmm_val(g, cv, j);
    if (!isfinite(gmm_val(g, mu, j))) return 0;
    if (v < lb[j % D]) v = lb[j % D];
    if (!(v > 0) || !isfinite(v)) return 0;
  }
  return 1;
}

/* Moderate parameters (after bounding the covariances): finite results expected. */
static int gmm_params_tame(VlGMM const *g)
{
  size_t const K = vl_gmm_get_num_clusters(g), D = vl_gmm_get_dimension(g);
  void const *mu = vl_gmm_get_means(g), *cv = vl_gmm_get_covariances(g);
  double const *lb = vl_gmm_get_covariance_lower_bounds(g);
  for (size_t j = 0; j < K * D; ++j) {
    double v = gmm_val(g, cv, j);
    if (v < lb[j % D]) v = lb[j % D];
    if (!(v >= 1e-6 && v <= 1e6) || !(fabs(gmm_val(g, mu, j)) <= 1e8)) return 0;
  }
  return 1;
}

/* Lower bounds that keep every variance EM produces in [1e-6, 1e30] (a bound
 * of 0, or one that rounds to 0 in float, lets degenerate data give variance
 * 0; one above FLT_MAX gives +inf float variances). */
static int gmm_bounds_tame(VlGMM const *g)
{
  double const *lb = vl_gmm_get_covariance_lower_bounds(g);
  for (size_t d = 0; d < vl_gmm_get_dimension(g); ++d)
    if (!(lb[d] >= 1e-6 && lb[d] <= 1e30)) return 0;
  return 1;
}

/* Detach a k-means object from every GMM that uses it, then delete it. */
static void km_delete_slot(int s)
{
  if (!g_km[s]) return;
  for (int i = 0; i < NG; ++i)
    if (g_gmm[i] && vl_gmm_get_kmeans_init_object(g_gmm[i]) == g_km[s]) {
      vl_gmm_set_kmeans_init_object(g_gmm[i], NULL);
      REQUIRE(take_error() == 0, "detaching a k-means object failed");
    }
  vl_kmeans_delete(g_km[s]);
  REQUIRE(take_error() == 0, "vl_kmeans_delete set an error");
  g_km[s] = NULL;
  memset(&g_kcb[s], 0, sizeof g_kcb[s]);
}

static void gmm_delete_slot(int s)
{
  if (!g_gmm[s]) return;
  vl_gmm_delete(g_gmm[s]);
  REQUIRE(take_error() == 0, "vl_gmm_delete set an error");
  g_gmm[s] = NULL;
  memset(&g_gcb[s], 0, sizeof g_gcb[s]);
}

/* Sum of |x|^2 and whether every element is finite, of n elements at p. */
static double norm2(vl_type t, void const *p, size_t n, int *finite)
{
  double s = 0;
  *finite = 1;
  for (size_t j = 0; j < n; ++j) {
    double const v = t == VL_TYPE_FLOAT ? (double)((float const *)p)[j] : ((double const *)p)[j];
    if (!isfinite(v)) *finite = 0;
    s += v * v;
  }
  return s;
}

static int all_zero(vl_type t, void const *p, size_t n)
{
  for (size_t j = 0; j < n; ++j) {
    double const v = t == VL_TYPE_FLOAT ? (double)((float const *)p)[j] : ((double const *)p)[j];
    if (v != 0) return 0;
  }
  return 1;
}

static double tol_of(vl_type t) { return t == VL_TYPE_FLOAT ? 1e-3 : 1e-9; }

/* ---- GMM ---------------------------------------------------------------------------- */

static int km_trees_huge(VlKMeans *k);
static int km_sklearn_l1(VlKMeans *k);

static VlGMM *rd_gmm(rd_t *r, int *slot)
{
  *slot = u8(r) % NG;
  return g_gmm[*slot];
}

static void op_gmm_new(rd_t *r)
{
  int const s = u8(r) % NG;
  vl_type const t = rd_type(r);
  size_t const D = rd_size(r, 16, 1), K = rd_size(r, 16, 1);
  int must_fail = !esize(t) || D == 0 || K == 0 || is_huge(mulc(D, K));
  VlGMM *g;
  int code;
  g_op = "vl_gmm_new";
  gmm_delete_slot(s);
  g = vl_gmm_new(t, D, K);
  code = take_error();
  REQUIRE((g == NULL) == (code != 0), "NULL return and error disagree");
  expect(code, must_fail, !must_fail, "type/size");
  if (!g) return;
  REQUIRE(vl_gmm_get_data_type(g) == t && vl_gmm_get_dimension(g) == D &&
              vl_gmm_get_num_clusters(g) == K,
          "getters disagree with vl_gmm_new's arguments");
  REQUIRE(vl_gmm_get_posteriors(g) == NULL, "a new object has posteriors");
  {
    double const *lb = vl_gmm_get_covariance_lower_bounds(g);
    for (size_t d = 0; d < D; ++d) REQUIRE(lb[d] == 1e-4, "default lower bound %g", lb[d]);
  }
  g_gmm[s] = g;
}

static void op_gmm_copy(rd_t *r)
{
  int src, dst;
  VlGMM *g = rd_gmm(r, &src), *c;
  int code;
  dst = (src + 1 + u8(r) % (NG - 1)) % NG;
  g_op = "vl_gmm_new_copy";
  if (!g) {
    c = vl_gmm_new_copy(NULL);
    code = take_error();
    REQUIRE(c == NULL && code == VL_ERR_BAD_ARG, "copy of NULL");
    return;
  }
  gmm_delete_slot(dst);
  c = vl_gmm_new_copy(g);
  code = take_error();
  REQUIRE((c == NULL) == (code != 0), "NULL return and error disagree");
  if (!c) return;
  REQUIRE(vl_gmm_get_data_type(c) == vl_gmm_get_data_type(g) &&
              vl_gmm_get_num_clusters(c) == vl_gmm_get_num_clusters(g) &&
              vl_gmm_get_dimension(c) == vl_gmm_get_dimension(g) &&
              vl_gmm_get_num_repetitions(c) == vl_gmm_get_num_repetitions(g) &&
              vl_gmm_get_max_num_iterations(c) == vl_gmm_get_max_num_iterations(g) &&
              vl_gmm_get_initialization(c) == vl_gmm_get_initialization(g) &&
              vl_gmm_get_store_posteriors(c) == vl_gmm_get_store_posteriors(g) &&
              vl_gmm_get_verbosity(c) == vl_gmm_get_verbosity(g) &&
              vl_gmm_get_convergence_threshold(c) == vl_gmm_get_convergence_threshold(g),
          "copy settings differ");
  {
    size_t const es = esize(vl_gmm_get_data_type(g)), K = vl_gmm_get_num_clusters(g),
                 D = vl_gmm_get_dimension(g), N = vl_gmm_get_num_data(g);
    double la = vl_gmm_get_loglikelihood(g), lc = vl_gmm_get_loglikelihood(c);
    REQUIRE(memcmp(&la, &lc, sizeof la) == 0, "copy log-likelihood differs");
    REQUIRE(memcmp(vl_gmm_get_means(c), vl_gmm_get_means(g), K * D * es) == 0, "copy means");
    REQUIRE(memcmp(vl_gmm_get_covariances(c), vl_gmm_get_covariances(g), K * D * es) == 0,
            "copy covariances");
    REQUIRE(memcmp(vl_gmm_get_priors(c), vl_gmm_get_priors(g), K * es) == 0, "copy priors");
    REQUIRE(memcmp(vl_gmm_get_covariance_lower_bounds(c), vl_gmm_get_covariance_lower_bounds(g),
                   D * sizeof(double)) == 0,
            "copy bounds");
    if (vl_gmm_get_posteriors(g)) {
      REQUIRE(vl_gmm_get_posteriors(c) != NULL && vl_gmm_get_num_data(c) == N,
              "copy lost the posteriors");
      REQUIRE(memcmp(vl_gmm_get_posteriors(c), vl_gmm_get_posteriors(g), N * K * es) == 0,
              "copy posteriors differ");
    }
  }
  g_gmm[dst] = c;
  g_gcb[dst] = g_gcb[src];
  cb_reset_counts(&g_gcb[dst]);
  /* the copy shares the callback's user pointer: give it its own */
  vl_gmm_set_iteration_callback(c, g_gcb[dst].installed ? callback : NULL, &g_gcb[dst]);
  REQUIRE(take_error() == 0, "set_iteration_callback");
}

static void op_gmm_set(rd_t *r)
{
  int s;
  VlGMM *g = rd_gmm(r, &s);
  uint8_t const which = u8(r) % 15;
  int must_fail = 0, code;
  snap_t before, after;
  arr_t a = arr_empty(VL_TYPE_DOUBLE);
  vl_type t;
  size_t K, D;
  g_op = "vl_gmm_set_*";
  if (!g) {
    /* every setter and getter rejects NULL */
    vl_gmm_set_max_num_iterations(NULL, 3);
    REQUIRE(take_error() == VL_ERR_BAD_ARG, "setter accepted NULL");
    vl_gmm_set_means(NULL, NULL);
    REQUIRE(take_error() == VL_ERR_BAD_ARG, "setter accepted NULL");
    REQUIRE(vl_gmm_get_means(NULL) == NULL && take_error() == VL_ERR_BAD_ARG, "getter NULL");
    REQUIRE(isnan(vl_gmm_get_loglikelihood(NULL)) && take_error() == VL_ERR_BAD_ARG, "getter NULL");
    vl_gmm_reset(NULL);
    REQUIRE(take_error() == VL_ERR_BAD_ARG, "reset accepted NULL");
    vl_gmm_delete(NULL);
    REQUIRE(take_error() == 0, "delete(NULL) is a no-op");
    return;
  }
  t = vl_gmm_get_data_type(g);
  K = vl_gmm_get_num_clusters(g);
  D = vl_gmm_get_dimension(g);
  before = snap_gmm(g);
  switch (which) {
    case 0:
      g_op = "vl_gmm_set_means";
      a = arr_gen_or_null(r, t, K * D, D, KIND_DATA, u8(r) > 250);
      must_fail = !a.p || !a.finite;
      vl_gmm_set_means(g, a.p);
      break;
    case 1:
      g_op = "vl_gmm_set_covariances";
      a = arr_gen_or_null(r, t, K * D, D, KIND_VAR, u8(r) > 250);
      must_fail = !a.p || !a.finite || (K * D && a.minv < 0);
      vl_gmm_set_covariances(g, a.p);
      break;
    case 2:
      g_op = "vl_gmm_set_priors";
      a = arr_gen_or_null(r, t, K, 1, KIND_PRIOR, u8(r) > 250);
      must_fail = !a.p || !a.finite || a.minv < 0;
      vl_gmm_set_priors(g, a.p);
      break;
    case 3: {
      size_t const n = u8(r) % 4;
      g_op = "vl_gmm_set_num_repetitions";
      must_fail = n == 0;
      vl_gmm_set_num_repetitions(g, n);
      break;
    }
    case 4:
      g_op = "vl_gmm_set_max_num_iterations";
      vl_gmm_set_max_num_iterations(g, u8(r) % 31);
      break;
    case 5: {
      uint8_t const b = u8(r);
      int const v = b < 248 ? 0 : (int)(b % 4) - 1;
      g_op = "vl_gmm_set_verbosity";
      if (v) g_verbose = 1;
      vl_gmm_set_verbosity(g, v);
      break;
    }
    case 6: {
      int const e = rd_enum(r, 3);
      g_op = "vl_gmm_set_initialization";
      must_fail = e < 0 || e > 2;
      vl_gmm_set_initialization(g, (VlGMMInitialization)e);
      break;
    }
    case 7: {
      uint8_t const b = u8(r);
      VlKMeans *km = b % 4 == 3 ? NULL : g_km[b % NK];
      g_op = "vl_gmm_set_kmeans_init_object";
      must_fail = km && vl_kmeans_get_data_type(km) != t;
      vl_gmm_set_kmeans_init_object(g, km);
      break;
    }
    case 8:
      g_op = "vl_gmm_set_covariance_lower_bounds";
      a = arr_gen_or_null(r, VL_TYPE_DOUBLE, D, 1, KIND_VAR, u8(r) > 250);
      /* bounds must be >= 0 and fit in the GMM's data type */
      must_fail = !a.p || !a.finite || (D && a.minv < 0) ||
                  (D && a.maxv > (t == VL_TYPE_FLOAT ? (double)FLT_MAX : DBL_MAX));
      vl_gmm_set_covariance_lower_bounds(g, (double const *)a.p);
      break;
    case 9: {
      double const v = rd_scalar(r);
      g_op = "vl_gmm_set_covariance_lower_bound";
      must_fail = !(v >= 0) || !(v <= (t == VL_TYPE_FLOAT ? (double)FLT_MAX : DBL_MAX));
      vl_gmm_set_covariance_lower_bound(g, v);
      break;
    }
    case 10: {
      uint8_t const b = u8(r);
      g_op = "vl_gmm_set_iteration_callback";
      g_gcb[s].installed = b < 128;
      g_gcb[s].stop_at = b % 8 == 7 ? -1 : (int)(b % 8);
      if (b >= 192) g_gcb[s].stop_at = -1;
      vl_gmm_set_iteration_callback(g, g_gcb[s].installed ? callback : NULL, &g_gcb[s]);
      break;
    }
    case 11:
      g_op = "vl_gmm_set_store_posteriors";
      vl_gmm_set_store_posteriors(g, (int)(u8(r) % 3) - 1);
      break;
    case 12:
      g_op = "vl_gmm_reset";
      vl_gmm_reset(g);
      break;
    case 13: {
      double const v = rd_scalar(r);
      g_op = "vl_gmm_set_convergence_threshold";
      must_fail = !(v >= 0) || !isfinite(v);
      vl_gmm_set_convergence_threshold(g, v);
      break;
    }
    default:
      g_op = "vl_gmm_get_*";
      break;
  }
  code = take_error();
  expect(code, must_fail, !must_fail, "setter value");
  after = snap_gmm(g);
  if (code) REQUIRE(snap_equal(&before, &after), "a rejected setter changed the object");
  if (!code && a.p) {
    size_t const es = esize(t);
    void const *got = which == 0   ? vl_gmm_get_means(g)
                      : which == 1 ? vl_gmm_get_covariances(g)
                      : which == 2 ? vl_gmm_get_priors(g)
                                   : (void const *)vl_gmm_get_covariance_lower_bounds(g);
    size_t const bytes = which == 8 ? D * sizeof(double) : a.n * es;
    REQUIRE(memcmp(got, a.p, bytes) == 0, "getter does not return what the setter set");
  }
  snap_free(&before);
  snap_free(&after);
  arr_free(&a);
}

/* Checks of the object after a successful (or interrupted) training call. */
static void check_trained(VlGMM *g, size_t N, int tame, int had_em, cb_t const *cb,
                          int priors_normalised)
{
  size_t const K = vl_gmm_get_num_clusters(g), D = vl_gmm_get_dimension(g);
  vl_type const t = vl_gmm_get_data_type(g);
  void const *mu = vl_gmm_get_means(g), *cv = vl_gmm_get_covariances(g),
             *pr = vl_gmm_get_priors(g), *q = vl_gmm_get_posteriors(g);
  double const *lb = vl_gmm_get_covariance_lower_bounds(g);
  double sum = 0;
  REQUIRE(vl_gmm_get_num_data(g) == N, "numData %zu after training on %zu points",
          (size_t)vl_gmm_get_num_data(g), N);
  REQUIRE(vl_gmm_get_store_posteriors(g) ? q != NULL : q == NULL, "posteriors vs store flag");
  if (!tame) return;
  for (size_t k = 0; k < K; ++k) {
    double const p = gmm_val(g, pr, k);
    REQUIRE(p >= 0 && isfinite(p), "prior %zu is %g", k, p);
    sum += p;
  }
  if (priors_normalised) REQUIRE(fabs(sum - 1) <= tol_of(t) * (double)K, "priors sum to %.17g", sum);
  for (size_t j = 0; j < K * D; ++j) {
    double const m = gmm_val(g, mu, j), v = gmm_val(g, cv, j);
    REQUIRE(isfinite(m), "mean %zu is %g", j, m);
    REQUIRE(isfinite(v) && v >= 0, "covariance %zu is %g", j, v);
    if (had_em)
      REQUIRE(v >= (t == VL_TYPE_FLOAT ? (double)(float)lb[j % D] : lb[j % D]),
              "covariance %zu = %g below its bound %g", j, v, lb[j % D]);
  }
  if (had_em && q) {
    for (size_t i = 0; i < N; ++i) {
      double rs = 0;
      for (size_t k = 0; k < K; ++k) {
        double const v = gmm_val(g, q, i * K + k);
        REQUIRE(v >= 0 && v <= 1, "posterior (%zu, %zu) is %g", i, k, v);
        rs += v;
      }
      REQUIRE(fabs(rs - 1) <= tol_of(t) * (double)K, "posteriors of point %zu sum to %.17g", i, rs);
    }
  }
  if (cb && cb->installed) REQUIRE(!cb->bad_value, "the callback was given NaN");
}

/* cluster, em, init_with_rand_data, init_with_kmeans */
static void op_gmm_train(rd_t *r)
{
  int s, code;
  VlGMM *g = rd_gmm(r, &s);
  uint8_t const which = u8(r) % 4;
  size_t const N = rd_num(r, 1);
  int const null_data = u8(r) > 252;
  VlKMeans *km = NULL;
  arr_t x;
  vl_type t;
  size_t K, D, iters, reps;
  int init, must_fail, must_succeed, params_ok, params_tame, all_tame, uses_km;
  VlKMeans *ukm;
  double ret = 0, work;
  snap_t before, after;
  static char const *const names[] = {"vl_gmm_cluster", "vl_gmm_em", "vl_gmm_init_with_rand_data",
                                      "vl_gmm_init_with_kmeans"};
  g_op = names[which];
  if (!g) {
    double v = which == 0 ? vl_gmm_cluster(NULL, NULL, 0) : vl_gmm_em(NULL, NULL, 0);
    REQUIRE(isnan(v) && take_error() == VL_ERR_BAD_ARG, "NULL object accepted");
    return;
  }
  if (which == 3) {
    uint8_t const b = u8(r);
    km = b % 4 == 3 ? NULL : g_km[b % NK];
  }
  t = vl_gmm_get_data_type(g);
  K = vl_gmm_get_num_clusters(g);
  D = vl_gmm_get_dimension(g);
  iters = vl_gmm_get_max_num_iterations(g);
  reps = vl_gmm_get_num_repetitions(g);
  init = (int)vl_gmm_get_initialization(g);
  /* work: EM iterations (+ a k-means initialisation) */
  work = (double)(is_huge(N) ? 1 : N) * (double)K * (double)D;
  work *= (double)(which >= 2 ? 1 : iters + 2) * (double)(which == 0 ? reps : 1) + 40.0;
  if (!spend(work)) return;
  x = arr_gen_or_null(r, t, mulc(N, D), D, KIND_DATA, null_data);
  params_ok = gmm_params_valid(g);
  params_tame = params_ok && gmm_params_tame(g);
  /* finite results expected: moderate data, and moderate starting parameters
   * where EM starts from the object's parameters */
  all_tame = x.tame && (which != 1 || params_tame) && (which != 0 || init != VlGMMCustom || params_tame) &&
             gmm_bounds_tame(g);
  uses_km = which == 3 || (which == 0 && init == VlGMMKMeans);
  /* the k-means object the initialisation uses (NULL: the GMM's own default) */
  ukm = which == 3 && km ? km : vl_gmm_get_kmeans_init_object(g);
  {
    must_fail = !x.p || N == 0 || N < K || x.dummy || !x.finite ||
                (which == 1 && !params_ok) || (which == 0 && init == VlGMMCustom && !params_ok) ||
                (which == 3 && km && vl_kmeans_get_data_type(km) != t) ||
                (uses_km && ukm && km_sklearn_l1(ukm));
    /* a user k-means object with a huge number of trees may overflow (ANN);
     * data whose variance does not fit in the data type (a spread beyond
     * ~1.8e19 in float, ~1.3e154 in double) cannot be given a "rand"
     * initialisation (an error, not infinities) */
    int const uses_rand = which == 2 || (which == 0 && init == VlGMMRand);
    double const spread = x.finite ? x.maxv - x.minv : 0;
    int const wide = !(spread <= (t == VL_TYPE_FLOAT ? 1.8e19 : 1.3e154));
    must_succeed = !must_fail && !(uses_km && ukm && km_trees_huge(ukm)) && !(uses_rand && wide);
  }
  if (g_trace)
    fprintf(stderr, "  [%s: type %u N %zu D %zu K %zu init %d iters %zu reps %zu data %s [%g, %g]%s]\n",
            g_op, (unsigned)t, N, D, K, init, iters, reps, x.finite ? "finite" : "non-finite",
            x.minv, x.maxv, x.tame ? " tame" : "");
  if (g_trace > 1) {
    size_t const n = mulc(N, D) < 64 ? mulc(N, D) : 64;
    fprintf(stderr, "    simd %d bounds", vl_get_simd_level());
    for (size_t d = 0; d < D && d < 16; ++d) fprintf(stderr, " %g", vl_gmm_get_covariance_lower_bounds(g)[d]);
    fprintf(stderr, "\n    data");
    for (size_t j = 0; x.p && !x.dummy && j < n; ++j) fprintf(stderr, " %.9g", arr_get(&x, j));
    fprintf(stderr, "\n");
  }
  before = snap_gmm(g);
  cb_reset_counts(&g_gcb[s]);
  switch (which) {
    case 0: ret = vl_gmm_cluster(g, x.p, N); break;
    case 1: ret = vl_gmm_em(g, x.p, N); break;
    case 2: vl_gmm_init_with_rand_data(g, x.p, N); break;
    default: vl_gmm_init_with_kmeans(g, x.p, N, km); break;
  }
  code = take_error();
  expect(code, must_fail, must_succeed, "data/parameters");
  if (which <= 1) {
    if (code && code != VL_ERR_INTERRUPTED) REQUIRE(isnan(ret), "error but returned %g", ret);
    if (!code || code == VL_ERR_INTERRUPTED) {
      double const stored = vl_gmm_get_loglikelihood(g);
      REQUIRE(memcmp(&stored, &ret, sizeof ret) == 0 || (isnan(stored) && isnan(ret)),
              "returned %.17g but stored %.17g", ret, stored);
      if (all_tame) REQUIRE(!isnan(ret), "NaN log-likelihood without an error");
    }
  }
  /* (known: a k-means initialisation whose k-means fails, e.g. ANN with a
   * huge number of trees, has already reset the object) */
  if (rejected(code) && !(uses_km && ukm && km_trees_huge(ukm))) {
    after = snap_gmm(g);
    REQUIRE(snap_equal(&before, &after), "a rejected call changed the object");
    snap_free(&after);
  }
  if (code == VL_ERR_OK || code == VL_ERR_INTERRUPTED) {
    cb_t const *cb = &g_gcb[s];
    int const had_em = which <= 1;
    /* every EM run did an M-step (or there was no EM, only an initialisation
     * that sets normalised priors) */
    int normalised;
    if (which >= 2 || (which == 0 && init != VlGMMCustom))
      normalised = 1; /* rand / k-means initialisations set normalised priors */
    else if (cb->installed)
      normalised = cb->runs > 0 && cb->runs == cb->runs_mstep;
    else
      normalised = iters >= 1;
    check_trained(g, N, all_tame, had_em, cb, normalised);
  }
  snap_free(&before);
  arr_free(&x);
}

/* vl_gmm_estep on the object's parameters */
static void op_gmm_estep(rd_t *r)
{
  int s, code;
  VlGMM *g = rd_gmm(r, &s);
  size_t const N = rd_num(r, 1);
  uint8_t const outs = u8(r);
  arr_t x, q, ll, lab;
  vl_type t;
  size_t K, D;
  double ret;
  int must_fail;
  g_op = "vl_gmm_estep";
  if (!g) {
    REQUIRE(isnan(vl_gmm_estep(NULL, NULL, 0, NULL, NULL, NULL)) && take_error() == VL_ERR_BAD_ARG,
            "NULL object accepted");
    return;
  }
  t = vl_gmm_get_data_type(g);
  K = vl_gmm_get_num_clusters(g);
  D = vl_gmm_get_dimension(g);
  if (!spend((double)(is_huge(N) ? 1 : N) * (double)K * (double)D + 10)) return;
  x = arr_gen_or_null(r, t, mulc(N, D), D, KIND_DATA, u8(r) > 252);
  q = (outs & 1) ? out_alloc(t, mulc(N, K)) : arr_empty(t);
  ll = (outs & 2) ? out_alloc(VL_TYPE_DOUBLE, N) : arr_empty(VL_TYPE_DOUBLE);
  lab = (outs & 4) ? out_alloc(VL_TYPE_FLOAT, N) : arr_empty(VL_TYPE_FLOAT); /* 4-byte labels */
  must_fail = (N && (!x.p || x.dummy || !x.finite)) || !gmm_params_valid(g) || q.dummy ||
              ll.dummy || lab.dummy;
  ret = vl_gmm_estep(g, x.p, N, q.p, (double *)ll.p, (vl_uint32 *)lab.p);
  code = take_error();
  expect(code, must_fail, !must_fail, "estep arguments");
  REQUIRE(code ? isnan(ret) : !isnan(ret) || !x.tame || !gmm_params_tame(g),
          "return %g with error %d", ret, code);
  if (!code && x.tame && N && gmm_params_tame(g)) {
    double sum = 0;
    for (size_t i = 0; i < N; ++i) {
      if (q.p) {
        double rs = 0;
        for (size_t k = 0; k < K; ++k) {
          double const v = arr_get(&q, i * K + k);
          REQUIRE(v >= 0 && v <= 1, "posterior (%zu, %zu) = %g", i, k, v);
          rs += v;
        }
        REQUIRE(fabs(rs - 1) <= tol_of(t) * (double)K, "posteriors of %zu sum to %g", i, rs);
      }
      if (lab.p) REQUIRE(((vl_uint32 const *)lab.p)[i] < K, "label %zu out of range", i);
      if (ll.p) {
        double const v = ((double const *)ll.p)[i];
        REQUIRE(!isnan(v), "log-likelihood %zu is NaN", i);
        sum += v;
      }
    }
    if (ll.p && isfinite(ret)) REQUIRE(fabs(sum - ret) <= 1e-6 * (fabs(ret) + (double)N) + 1e-9,
                                       "per-point log-likelihoods sum to %.17g, total %.17g", sum, ret);
  }
  if (code) {
    REQUIRE(canary_intact(&q) && canary_intact(&ll) && canary_intact(&lab),
            "a rejected call wrote its outputs");
  }
  arr_free(&x);
  arr_free(&q);
  arr_free(&ll);
  arr_free(&lab);
}

/* vl_get_gmm_data_posteriors_f / _d */
static void op_posteriors(rd_t *r)
{
  vl_type const t = u8(r) & 1 ? VL_TYPE_DOUBLE : VL_TYPE_FLOAT;
  size_t const K = rd_size(r, 16, 1), N = rd_num(r, 1), D = rd_size(r, 16, 1);
  uint8_t const nulls = u8(r) >= 240 ? u8(r) : 0;
  arr_t post, pr, mu, cv, x;
  double ret;
  int code, must_fail, must_succeed;
  g_op = t == VL_TYPE_FLOAT ? "vl_get_gmm_data_posteriors_f" : "vl_get_gmm_data_posteriors_d";
  if (!spend((double)(is_huge(N) ? 1 : N) * (double)(is_huge(K) ? 1 : K) *
                 (double)(is_huge(D) ? 1 : D) + 10))
    return;
  post = (nulls & 1) ? arr_empty(t) : out_alloc(t, mulc(N, K));
  pr = arr_gen_or_null(r, t, K, 1, KIND_PRIOR, nulls & 2);
  mu = arr_gen_or_null(r, t, mulc(K, D), D, KIND_DATA, nulls & 4);
  cv = arr_gen_or_null(r, t, mulc(K, D), D, KIND_VAR, nulls & 8);
  x = arr_gen_or_null(r, t, mulc(N, D), D, KIND_DATA, nulls & 16);
  {
    int const nullarg = !post.p || !pr.p || !mu.p || !cv.p || (!x.p && N);
    int const dummy = post.dummy || pr.dummy || mu.dummy || cv.dummy || x.dummy;
    int const values_bad = !x.finite || !mu.finite || !cv.finite || cv.minv <= 0 || !pr.finite ||
                           pr.minv < 0 || !pr.any_prior;
    must_fail = nullarg || K == 0 || D == 0 || (N && values_bad);
    must_succeed = !must_fail && !dummy;
  }
  if (g_trace > 1) {
    fprintf(stderr, "  [%s K %zu N %zu D %zu]\n", g_op, K, N, D);
    dump("priors", &pr);
    dump("means", &mu);
    dump("covs", &cv);
    dump("data", &x);
  }
  if (t == VL_TYPE_FLOAT)
    ret = vl_get_gmm_data_posteriors_f(post.p, K, N, pr.p, mu.p, D, cv.p, x.p);
  else
    ret = vl_get_gmm_data_posteriors_d(post.p, K, N, pr.p, mu.p, D, cv.p, x.p);
  code = take_error();
  expect(code, must_fail, must_succeed, "posterior arguments");
  if (code) REQUIRE(isnan(ret), "error %d but returned %g", code, ret);
  if (!code && N && x.tame && mu.tame && cv.finite && cv.minv >= 1e-6 && cv.maxv <= 1e6) {
    REQUIRE(!isnan(ret), "NaN log-likelihood without an error");
    for (size_t i = 0; i < N; ++i) {
      double rs = 0;
      for (size_t k = 0; k < K; ++k) {
        double const v = arr_get(&post, i * K + k);
        REQUIRE(v >= 0 && v <= 1, "posterior (%zu, %zu) = %g", i, k, v);
        rs += v;
      }
      REQUIRE(fabs(rs - 1) <= tol_of(t) * (double)K, "posteriors of point %zu sum to %g", i, rs);
    }
  }
  if (code) REQUIRE(canary_intact(&post), "a rejected call wrote the posteriors");
  arr_free(&post);
  arr_free(&pr);
  arr_free(&mu);
  arr_free(&cv);
  arr_free(&x);
}

/* One split (4 doubles): valid, or garbage. */
static int gen_splits(rd_t *r, double *sp, size_t n, size_t K, size_t D)
{
  int ok = 1;
  for (size_t j = 0; j < n; ++j) {
    double *s = sp + 4 * j;
    uint8_t const b = u8(r);
    if (b < 200 && K >= 2) {
      size_t const e = u8(r) % K, f = (e + 1 + u8(r) % (K - 1)) % K;
      s[0] = (double)e;
      s[1] = (double)f;
      s[2] = (double)(u8(r) % D);
      s[3] = rd_scalar(r);
      if (isnan(s[3])) ok = 0;
    } else {
      for (int c = 0; c < 4; ++c) s[c] = (u8(r) & 1) ? special(u8(r)) : (double)(u8(r) % 8) - 1;
      ok = ok && s[0] >= 0 && s[0] < (double)K && s[1] >= 0 && s[1] < (double)K && s[2] >= 0 &&
           s[2] < (double)D && s[0] == floor(s[0]) && s[1] == floor(s[1]) &&
           s[2] == floor(s[2]) && s[0] != s[1] && !isnan(s[3]);
    }
  }
  return ok;
}

/* The statistics API: size, accumulate, merge, mstep_from_stats, plan_restart. */
static void op_gmm_stats(rd_t *r)
{
  int s, code;
  VlGMM *g = rd_gmm(r, &s);
  uint8_t const which = u8(r) % 5;
  vl_type t;
  size_t K, D, sz;
  g_op = "vl_gmm_stats_*";
  if (!g) {
    double buf[4] = {0};
    REQUIRE(vl_gmm_stats_size(NULL) == 0 && take_error() == VL_ERR_BAD_ARG, "NULL object");
    REQUIRE(vl_gmm_stats_accumulate(NULL, buf, NULL, 0, NULL, NULL, 0) == VL_ERR_BAD_ARG &&
                take_error() == VL_ERR_BAD_ARG,
            "NULL object");
    REQUIRE(vl_gmm_plan_restart(NULL, buf, 1, 0, buf) == 0 && take_error() == VL_ERR_BAD_ARG,
            "NULL object");
    return;
  }
  t = vl_gmm_get_data_type(g);
  K = vl_gmm_get_num_clusters(g);
  D = vl_gmm_get_dimension(g);
  g_op = "vl_gmm_stats_size";
  sz = vl_gmm_stats_size(g);
  REQUIRE(take_error() == 0 && sz == 2 * K + 2 * K * D + 2, "stats size %zu", sz);
  switch (which) {
    case 0:
    case 1: { /* accumulate (then, for 1, an M-step from the result) */
      size_t const N = rd_num(r, 1);
      uint8_t const b = u8(r);
      size_t const nsp = b < 160 ? 0 : b < 250 ? 1 + b % 4 : k_huge[b % COUNT(k_huge)];
      double *stats = calloc(sz, sizeof(double));
      double *sp = NULL;
      arr_t x, ref;
      int splits_ok = 1, must_fail, must_succeed, ret;
      snap_t before, after;
      g_op = "vl_gmm_stats_accumulate";
      if (!spend((double)(is_huge(N) ? 1 : N) * (double)K * (double)D * 2 + 10)) {
        free(stats);
        return;
      }
      x = arr_gen_or_null(r, t, mulc(N, D), D, KIND_DATA, u8(r) > 252);
      ref = arr_gen_or_null(r, t, K * D, D, KIND_DATA, u8(r) & 1);
      if (nsp && !is_huge(nsp)) {
        sp = malloc(nsp * 4 * sizeof(double));
        splits_ok = gen_splits(r, sp, nsp, K, D);
      } else if (nsp) {
        sp = malloc(1); /* huge count: must not be read */
        splits_ok = 0;
      }
      must_fail = (N && (!x.p || x.dummy || !x.finite)) || (ref.p && !ref.finite) ||
                  !gmm_params_valid(g) || (N && nsp && !splits_ok);
      must_succeed = !must_fail && !is_huge(nsp);
      before = snap_gmm(g);
      ret = vl_gmm_stats_accumulate(g, stats, x.p, N, ref.p, sp, nsp);
      code = take_error();
      REQUIRE(ret == code, "returned %d, last error %d", ret, code);
      expect(code, must_fail, must_succeed, "accumulate arguments");
      after = snap_gmm(g);
      REQUIRE(snap_equal(&before, &after), "accumulate changed the object");
      snap_free(&before);
      snap_free(&after);
      if (!code) {
        REQUIRE(stats[sz - 1] == (double)N, "point count %g after %zu points", stats[sz - 1], N);
        if (x.tame && (!ref.p || ref.tame) && gmm_params_tame(g)) {
          for (size_t j = 0; j < sz; ++j) REQUIRE(isfinite(stats[j]), "stats[%zu] = %g", j, stats[j]);
          for (size_t k = 0; k < 2 * K; ++k) REQUIRE(stats[k] >= 0, "mass %zu = %g", k, stats[k]);
        }
      }
      if (which == 1 && !code) {
        int tame = x.tame && (!ref.p || ref.tame) && gmm_params_tame(g);
        for (size_t j = 0; j < sz; ++j)
          if (!isfinite(stats[j])) tame = 0;
        g_op = "vl_gmm_mstep_from_stats";
        ret = vl_gmm_mstep_from_stats(g, stats, ref.p);
        code = take_error();
        REQUIRE(ret == code, "returned %d, last error %d", ret, code);
        expect(code, 0, tame, "statistics from accumulate");
        if (!code && N && tame) {
          double const *lb = vl_gmm_get_covariance_lower_bounds(g);
          double sum = 0;
          for (size_t k = 0; k < K; ++k) sum += gmm_val(g, vl_gmm_get_priors(g), k);
          REQUIRE(fabs(sum - 1) <= tol_of(t) * (double)K, "priors sum to %.17g", sum);
          for (size_t j = 0; j < K * D; ++j) {
            double const v = gmm_val(g, vl_gmm_get_covariances(g), j);
            REQUIRE(isfinite(gmm_val(g, vl_gmm_get_means(g), j)), "mean %zu not finite", j);
            REQUIRE(isfinite(v) && v >= (t == VL_TYPE_FLOAT ? (double)(float)lb[j % D] : lb[j % D]),
                    "covariance %zu = %g (bound %g)", j, v, lb[j % D]);
          }
        }
      }
      free(stats);
      free(sp);
      arr_free(&x);
      arr_free(&ref);
      break;
    }
    case 2: { /* merge */
      double *a = malloc(sz * sizeof(double)), *b = malloc(sz * sizeof(double)),
             *c = malloc(sz * sizeof(double));
      int ret;
      uint64_t seed = u16(r);
      g_op = "vl_gmm_stats_merge";
      for (size_t j = 0; j < sz; ++j) {
        a[j] = sm_unif(&seed);
        b[j] = (j % 7 == 3 && (seed & 1)) ? special(u8(r)) : sm_unif(&seed);
        c[j] = a[j];
      }
      ret = vl_gmm_stats_merge(g, a, b);
      code = take_error();
      REQUIRE(ret == 0 && code == 0, "merge failed");
      for (size_t j = 0; j < sz; ++j) {
        double const e = c[j] + b[j];
        REQUIRE(memcmp(&e, &a[j], sizeof e) == 0 || (isnan(e) && isnan(a[j])), "merge[%zu]", j);
      }
      ret = vl_gmm_stats_merge(g, NULL, b);
      REQUIRE(ret == VL_ERR_BAD_ARG && take_error() == VL_ERR_BAD_ARG, "merge NULL");
      free(a);
      free(b);
      free(c);
      break;
    }
    case 3: { /* M-step from arbitrary statistics */
      double *st = malloc(sz * sizeof(double));
      arr_t ref;
      int ret, must_fail, finite = 1, neg = 0;
      snap_t before, after;
      uint64_t seed = u16(r);
      uint8_t const b = u8(r);
      g_op = "vl_gmm_mstep_from_stats";
      for (size_t j = 0; j < sz; ++j) {
        st[j] = (b & 1) ? 10 * sm_unif(&seed) : (double)(sm_next(&seed) % 5);
        if (b & 2 && sm_next(&seed) % 8 == 0) st[j] = special(u8(r));
        if (!isfinite(st[j])) finite = 0;
        if (j < 2 * K && st[j] < 0) neg = 1;
      }
      ref = arr_gen_or_null(r, t, K * D, D, KIND_DATA, u8(r) & 1);
      must_fail = !finite || neg || (ref.p && !ref.finite);
      before = snap_gmm(g);
      ret = vl_gmm_mstep_from_stats(g, st, ref.p);
      code = take_error();
      REQUIRE(ret == code, "returned %d, last error %d", ret, code);
      expect(code, must_fail, !must_fail, "statistics");
      if (code) {
        after = snap_gmm(g);
        REQUIRE(snap_equal(&before, &after), "a rejected M-step changed the object");
        snap_free(&after);
      }
      snap_free(&before);
      ret = vl_gmm_mstep_from_stats(g, NULL, NULL);
      REQUIRE(ret == VL_ERR_BAD_ARG && take_error() == VL_ERR_BAD_ARG, "NULL stats accepted");
      free(st);
      arr_free(&ref);
      break;
    }
    default: { /* plan_restart */
      arr_t mass = arr_gen(r, VL_TYPE_DOUBLE, K, 1, KIND_VAR);
      size_t const N = (u8(r) & 1) ? rd_num(r, 1) : (size_t)u64(r);
      size_t const start = (u8(r) & 1) ? (size_t)u8(r) % (K + 2) : (size_t)u64(r);
      double split[4] = {-1, -1, -1, -1};
      size_t ret;
      g_op = "vl_gmm_plan_restart";
      ret = vl_gmm_plan_restart(g, (double const *)mass.p, N, start, split);
      code = take_error();
      REQUIRE(code == 0, "plan_restart failed on valid arguments");
      REQUIRE(ret <= K, "returned %zu > K", ret);
      if (ret) {
        REQUIRE(ret - 1 >= start, "returned %zu before start %zu", ret, start);
        REQUIRE(split[0] == (double)(ret - 1), "split[0] = %g for return %zu", split[0], ret);
        REQUIRE(split[1] >= 0 && split[1] < (double)K && split[1] != split[0], "split mode %g", split[1]);
        REQUIRE(split[2] >= 0 && split[2] < (double)D, "split dimension %g", split[2]);
      }
      ret = vl_gmm_plan_restart(g, NULL, N, start, split);
      REQUIRE(ret == 0 && take_error() == VL_ERR_BAD_ARG, "NULL mass accepted");
      arr_free(&mass);
      break;
    }
  }
}

/* ---- k-means ------------------------------------------------------------------------ */

static VlKMeans *rd_km(rd_t *r, int *slot)
{
  *slot = u8(r) % NK;
  return g_km[*slot];
}

static void op_km_new(rd_t *r)
{
  int const s = u8(r) % NK;
  vl_type const t = rd_type(r);
  int const dist = rd_enum(r, 2);
  int const must_fail = !esize(t) || (dist != VlDistanceL1 && dist != VlDistanceL2);
  VlKMeans *k;
  int code;
  g_op = "vl_kmeans_new";
  km_delete_slot(s);
  k = vl_kmeans_new(t, (VlVectorComparisonType)dist);
  code = take_error();
  REQUIRE((k == NULL) == (code != 0), "NULL return and error disagree");
  expect(code, must_fail, !must_fail, "type/distance");
  if (!k) return;
  REQUIRE(vl_kmeans_get_data_type(k) == t && (int)vl_kmeans_get_distance(k) == dist,
          "getters disagree with vl_kmeans_new");
  REQUIRE(vl_kmeans_get_centers(k) == NULL && vl_kmeans_get_num_centers(k) == 0, "new centers");
  g_km[s] = k;
}

static void op_km_copy(rd_t *r)
{
  int src, dst, code;
  VlKMeans *k = rd_km(r, &src), *c;
  snap_t a, b;
  dst = (src + 1 + u8(r) % (NK - 1)) % NK;
  g_op = "vl_kmeans_new_copy";
  if (!k) {
    REQUIRE(vl_kmeans_new_copy(NULL) == NULL && take_error() == VL_ERR_BAD_ARG, "copy of NULL");
    return;
  }
  km_delete_slot(dst);
  c = vl_kmeans_new_copy(k);
  code = take_error();
  REQUIRE((c == NULL) == (code != 0), "NULL return and error disagree");
  if (!c) return;
  a = snap_km(k);
  b = snap_km(c);
  /* same header except the centers pointer; same center values */
  REQUIRE(a.len == b.len, "copy differs in size");
  {
    size_t const es = esize(vl_kmeans_get_data_type(k));
    size_t const n = vl_kmeans_get_num_centers(k) * vl_kmeans_get_dimension(k) * es;
    REQUIRE((vl_kmeans_get_centers(k) == NULL) == (vl_kmeans_get_centers(c) == NULL), "centers");
    if (n && vl_kmeans_get_centers(k))
      REQUIRE(memcmp(vl_kmeans_get_centers(k), vl_kmeans_get_centers(c), n) == 0, "copy centers");
    REQUIRE(vl_kmeans_get_algorithm(k) == vl_kmeans_get_algorithm(c) &&
                vl_kmeans_get_initialization(k) == vl_kmeans_get_initialization(c) &&
                vl_kmeans_get_num_repetitions(k) == vl_kmeans_get_num_repetitions(c) &&
                vl_kmeans_get_max_num_iterations(k) == vl_kmeans_get_max_num_iterations(c) &&
                vl_kmeans_get_num_trees(k) == vl_kmeans_get_num_trees(c) &&
                vl_kmeans_get_max_num_comparisons(k) == vl_kmeans_get_max_num_comparisons(c),
            "copy settings differ");
  }
  snap_free(&a);
  snap_free(&b);
  g_km[dst] = c;
  g_kcb[dst] = g_kcb[src];
  cb_reset_counts(&g_kcb[dst]);
  vl_kmeans_set_iteration_callback(c, g_kcb[dst].installed ? callback : NULL, &g_kcb[dst]);
  REQUIRE(take_error() == 0, "set_iteration_callback");
}

static void op_km_set(rd_t *r)
{
  int s, code, must_fail = 0;
  VlKMeans *k = rd_km(r, &s);
  uint8_t const which = u8(r) % 13;
  snap_t before, after;
  g_op = "vl_kmeans_set_*";
  if (!k) {
    vl_kmeans_set_num_trees(NULL, 2);
    REQUIRE(take_error() == VL_ERR_BAD_ARG, "setter accepted NULL");
    REQUIRE(vl_kmeans_get_centers(NULL) == NULL && take_error() == VL_ERR_BAD_ARG, "getter");
    REQUIRE(isnan(vl_kmeans_get_energy(NULL)) && take_error() == VL_ERR_BAD_ARG, "getter");
    vl_kmeans_reset(NULL);
    REQUIRE(take_error() == VL_ERR_BAD_ARG, "reset(NULL)");
    vl_kmeans_delete(NULL);
    REQUIRE(take_error() == 0, "delete(NULL) is a no-op");
    return;
  }
  before = snap_km(k);
  switch (which) {
    case 0: {
      int const e = rd_enum(r, 3);
      g_op = "vl_kmeans_set_algorithm";
      must_fail = e < 0 || e > 2;
      vl_kmeans_set_algorithm(k, (VlKMeansAlgorithm)e);
      break;
    }
    case 1: {
      int const e = rd_enum(r, 2);
      g_op = "vl_kmeans_set_initialization";
      must_fail = e < 0 || e > 1;
      vl_kmeans_set_initialization(k, (VlKMeansInitialization)e);
      break;
    }
    case 2: {
      size_t const n = u8(r) % 4;
      g_op = "vl_kmeans_set_num_repetitions";
      must_fail = n == 0;
      vl_kmeans_set_num_repetitions(k, n);
      break;
    }
    case 3:
      g_op = "vl_kmeans_set_max_num_iterations";
      vl_kmeans_set_max_num_iterations(k, u8(r) % 31);
      break;
    case 4: {
      double const v = rd_scalar(r);
      g_op = "vl_kmeans_set_min_energy_variation";
      must_fail = !(v >= 0) || !isfinite(v);
      vl_kmeans_set_min_energy_variation(k, v);
      break;
    }
    case 5: {
      uint8_t const b = u8(r);
      int const v = b < 248 ? 0 : (int)(b % 4) - 1;
      g_op = "vl_kmeans_set_verbosity";
      if (v) g_verbose = 1;
      vl_kmeans_set_verbosity(k, v);
      break;
    }
    case 6: {
      uint8_t const b = u8(r);
      g_op = "vl_kmeans_set_max_num_comparisons";
      vl_kmeans_set_max_num_comparisons(k, b < 200 ? b : b < 250 ? 0 : (size_t)u64(r));
      break;
    }
    case 7: {
      uint8_t const b = u8(r);
      size_t const n = b < 250 ? b % 9 : k_huge[b % COUNT(k_huge)];
      g_op = "vl_kmeans_set_num_trees";
      must_fail = n == 0;
      vl_kmeans_set_num_trees(k, n);
      break;
    }
    case 8: {
      uint8_t const b = u8(r);
      g_op = "vl_kmeans_set_iteration_callback";
      g_kcb[s].installed = b < 128;
      g_kcb[s].stop_at = b % 8 == 7 || b >= 192 ? -1 : (int)(b % 8);
      vl_kmeans_set_iteration_callback(k, g_kcb[s].installed ? callback : NULL, &g_kcb[s]);
      break;
    }
    case 9:
      g_op = "vl_kmeans_reset";
      vl_kmeans_reset(k);
      break;
    case 10: {
      int const e = rd_enum(r, 2);
      g_op = "vl_kmeans_set_stopping_rule";
      must_fail = e < 0 || e > 1;
      vl_kmeans_set_stopping_rule(k, (VlKMeansStoppingRule)e);
      break;
    }
    case 11: {
      double const v = rd_scalar(r);
      g_op = "vl_kmeans_set_center_shift_tolerance";
      must_fail = !(v >= 0) || !isfinite(v);
      vl_kmeans_set_center_shift_tolerance(k, v);
      break;
    }
    default:
      g_op = "vl_kmeans_get_*";
      break;
  }
  code = take_error();
  expect(code, must_fail, !must_fail, "setter value");
  after = snap_km(k);
  if (code) REQUIRE(snap_equal(&before, &after), "a rejected setter changed the object");
  snap_free(&before);
  snap_free(&after);
}

/* After a successful cluster / init / refine / set: the object holds K x D centers. */
static void check_centers(VlKMeans *k, size_t D, size_t K, int tame)
{
  void const *c = vl_kmeans_get_centers(k);
  vl_type const t = vl_kmeans_get_data_type(k);
  REQUIRE(c != NULL, "no centers after success");
  REQUIRE(vl_kmeans_get_num_centers(k) == K && vl_kmeans_get_dimension(k) == D,
          "%zu x %zu centers, expected %zu x %zu", (size_t)vl_kmeans_get_num_centers(k),
          (size_t)vl_kmeans_get_dimension(k), K, D);
  if (tame) {
    int finite;
    norm2(t, c, K * D, &finite);
    REQUIRE(finite, "centers not finite");
  }
}

static double km_work(VlKMeans *k, size_t N, size_t D, size_t K, int iterate)
{
  double w = (double)(is_huge(N) ? 1 : N) * (double)(is_huge(D) ? 1 : D) *
             (double)(is_huge(K) ? 1 : K);
  if (iterate) {
    double it = (double)vl_kmeans_get_max_num_iterations(k) + 2;
    w *= it * (double)vl_kmeans_get_num_repetitions(k);
    if (vl_kmeans_get_algorithm(k) == VlKMeansANN) w *= (double)vl_kmeans_get_num_trees(k) + 1;
    if (vl_kmeans_get_algorithm(k) == VlKMeansElkan) w += it * (double)K * (double)K * (double)D;
  }
  return w + 10;
}

/* Moderate centers (|c| <= 1e8): finite distances expected on tame data. */
static int km_centers_tame(VlKMeans *k)
{
  void const *c = vl_kmeans_get_centers(k);
  size_t const n = vl_kmeans_get_num_centers(k) * vl_kmeans_get_dimension(k);
  vl_type const t = vl_kmeans_get_data_type(k);
  if (!c) return 0;
  for (size_t j = 0; j < n; ++j) {
    double const v = t == VL_TYPE_FLOAT ? (double)((float const *)c)[j] : ((double const *)c)[j];
    if (!(fabs(v) <= 1e8)) return 0;
  }
  return 1;
}

static int km_trees_huge(VlKMeans *k) { return vl_kmeans_get_num_trees(k) > 1000; }

/* scikit-learn's stopping rule on an L1 object: training is BAD_ARG */
static int km_sklearn_l1(VlKMeans *k)
{
  return vl_kmeans_get_stopping_rule(k) == VlKMeansStopSklearn &&
         vl_kmeans_get_distance(k) == VlDistanceL1;
}

/* cluster, init_centers_with_rand_data, init_centers_plus_plus, set_centers */
static void op_km_fit(rd_t *r)
{
  int s, code, must_fail, must_succeed;
  VlKMeans *k = rd_km(r, &s);
  uint8_t const which = u8(r) % 4;
  size_t const D = rd_size(r, 16, 1), N = rd_num(r, 1), K = rd_size(r, 16, 1);
  static char const *const names[] = {"vl_kmeans_cluster", "vl_kmeans_init_centers_with_rand_data",
                                      "vl_kmeans_init_centers_plus_plus", "vl_kmeans_set_centers"};
  static char const *const wnames[] = {"vl_kmeans_cluster_weighted",
                                       "vl_kmeans_init_centers_with_rand_data_weighted",
                                       "vl_kmeans_init_centers_plus_plus_weighted"};
  vl_type t;
  arr_t x;
  wts_t w = {NULL, 0, 1, 0, 1};
  int weighted = 0, wret = 0;
  double ret = 0;
  snap_t before, after;
  g_op = names[which];
  if (!k) {
    REQUIRE(isnan(vl_kmeans_cluster(NULL, NULL, 1, 1, 1)) && take_error() == VL_ERR_BAD_ARG,
            "NULL object accepted");
    return;
  }
  t = vl_kmeans_get_data_type(k);
  if (!spend(km_work(k, which == 3 ? K : N, D, K, which == 0))) return;
  if (which == 3) {
    x = arr_gen_or_null(r, t, mulc(K, D), D, KIND_DATA, u8(r) > 252);
    must_fail = D == 0 || K == 0 || !x.p || x.dummy || !x.finite;
    must_succeed = !must_fail;
  } else {
    x = arr_gen_or_null(r, t, mulc(N, D), D, KIND_DATA, u8(r) > 252);
    weighted = u8(r) & 1;
    if (weighted) {
      g_op = wnames[which];
      w = wts_gen(r, N);
    }
    must_fail = D == 0 || K == 0 || K > N || !x.p || x.dummy || !x.finite ||
                (w.p && (!w.valid || w.all_zero || K > w.npos)) ||
                (which == 0 && km_sklearn_l1(k));
    must_succeed = !must_fail && !(which == 0 && km_trees_huge(k) &&
                                   vl_kmeans_get_algorithm(k) == VlKMeansANN);
  }
  before = snap_km(k);
  cb_reset_counts(&g_kcb[s]);
  if (which == 0 && N <= 4096 && u8(r) > 200) { /* with the final assignments */
    vl_uint32 *a = malloc(N * sizeof *a + 1);
    g_op = "vl_kmeans_cluster_with_assignments";
    ret = vl_kmeans_cluster_with_assignments(k, x.p, D, N, K, w.p, a);
    code = vl_get_last_error();
    if (!code || code == VL_ERR_INTERRUPTED)
      for (size_t i = 0; i < N; ++i) REQUIRE(a[i] < K, "assignment %zu is %u", i, (unsigned)a[i]);
    free(a);
  } else if (weighted) {
    switch (which) {
      case 0: ret = vl_kmeans_cluster_weighted(k, x.p, D, N, K, w.p); break;
      case 1: wret = vl_kmeans_init_centers_with_rand_data_weighted(k, x.p, D, N, K, w.p); break;
      default: wret = vl_kmeans_init_centers_plus_plus_weighted(k, x.p, D, N, K, w.p); break;
    }
  } else {
    switch (which) {
      case 0: ret = vl_kmeans_cluster(k, x.p, D, N, K); break;
      case 1: vl_kmeans_init_centers_with_rand_data(k, x.p, D, N, K); break;
      case 2: vl_kmeans_init_centers_plus_plus(k, x.p, D, N, K); break;
      default: vl_kmeans_set_centers(k, x.p, D, K); break;
    }
  }
  code = take_error();
  expect(code, must_fail, must_succeed, "k-means arguments");
  if (weighted && which) REQUIRE(wret == code, "returned %d, last error %d", wret, code);
  if (which == 0) {
    if (code && code != VL_ERR_INTERRUPTED) REQUIRE(isnan(ret), "error but returned %g", ret);
    if (!code || code == VL_ERR_INTERRUPTED) {
      double const e = vl_kmeans_get_energy(k);
      REQUIRE(memcmp(&e, &ret, sizeof e) == 0, "returned %.17g, stored energy %.17g", ret, e);
      if (x.tame && w.tame) REQUIRE(ret >= 0 && isfinite(ret), "energy %g", ret);
    }
  }
  if (rejected(code)) {
    after = snap_km(k);
    REQUIRE(snap_equal(&before, &after), "a rejected call changed the object");
    snap_free(&after);
  }
  if (!code || code == VL_ERR_INTERRUPTED) {
    check_centers(k, D, K, x.tame);
    if (which == 3)
      REQUIRE(memcmp(vl_kmeans_get_centers(k), x.p, K * D * esize(t)) == 0, "set_centers copy");
  }
  snap_free(&before);
  arr_free(&x);
  free(w.p);
}

static void op_km_refine(rd_t *r)
{
  int s, code, must_fail, must_succeed, ctame;
  VlKMeans *k = rd_km(r, &s);
  size_t const N = rd_num(r, 1);
  size_t D, K;
  vl_type t;
  arr_t x;
  wts_t w = {NULL, 0, 1, 0, 1};
  double ret;
  snap_t before, after;
  g_op = "vl_kmeans_refine_centers";
  if (!k) {
    REQUIRE(isnan(vl_kmeans_refine_centers(NULL, NULL, 1)) && take_error() == VL_ERR_BAD_ARG,
            "NULL object accepted");
    return;
  }
  t = vl_kmeans_get_data_type(k);
  D = vl_kmeans_get_dimension(k);
  K = vl_kmeans_get_num_centers(k);
  if (!vl_kmeans_get_centers(k)) D = 1 + u8(r) % 8;
  if (!spend(km_work(k, N, D, K ? K : 1, 1))) return;
  x = arr_gen_or_null(r, t, mulc(N, D), D, KIND_DATA, u8(r) > 252);
  if (u8(r) & 1) {
    g_op = "vl_kmeans_refine_centers_weighted";
    w = wts_gen(r, N);
  }
  must_fail = !vl_kmeans_get_centers(k) || K > N || !x.p || x.dummy || !x.finite ||
              (w.p && (!w.valid || w.all_zero || K > w.npos)) || km_sklearn_l1(k);
  must_succeed = !must_fail && !(km_trees_huge(k) && vl_kmeans_get_algorithm(k) == VlKMeansANN);
  ctame = km_centers_tame(k);
  before = snap_km(k);
  cb_reset_counts(&g_kcb[s]);
  ret = w.p ? vl_kmeans_refine_centers_weighted(k, x.p, N, w.p) : vl_kmeans_refine_centers(k, x.p, N);
  code = take_error();
  expect(code, must_fail, must_succeed, "refine arguments");
  if (!vl_kmeans_get_centers(k) || !K) REQUIRE(code != 0, "refine without centers");
  if (code && code != VL_ERR_INTERRUPTED) REQUIRE(isnan(ret), "error but returned %g", ret);
  if (rejected(code)) {
    after = snap_km(k);
    REQUIRE(snap_equal(&before, &after), "a rejected call changed the object");
    snap_free(&after);
  }
  if (!code || code == VL_ERR_INTERRUPTED) {
    check_centers(k, D, K, x.tame && ctame);
    if (x.tame && ctame && w.tame) REQUIRE(ret >= 0 && isfinite(ret), "energy %g", ret);
  }
  snap_free(&before);
  arr_free(&x);
  free(w.p);
}

/* quantize (exact), quantize_ann, the statistics API (weighted or not), quantize_energy */
static void op_km_quantize(rd_t *r)
{
  int s, code, must_fail, must_succeed;
  VlKMeans *k = rd_km(r, &s);
  uint8_t const which = u8(r) % 4;
  size_t const N = rd_num(r, 1);
  uint8_t const opts = u8(r);
  int const update = opts & 4 ? (int)(opts >> 3) : 0;
  size_t D, K;
  vl_type t;
  arr_t x, assign, dist;
  wts_t w = {NULL, 0, 1, 0, 1};
  g_op = which == 0   ? "vl_kmeans_quantize"
         : which == 1 ? "vl_kmeans_quantize_ann"
         : which == 2 ? "vl_kmeans_stats_*"
                      : "vl_kmeans_quantize_energy";
  if (!k) {
    vl_kmeans_quantize(NULL, NULL, NULL, NULL, 0);
    REQUIRE(take_error() == VL_ERR_BAD_ARG, "NULL object accepted");
    return;
  }
  t = vl_kmeans_get_data_type(k);
  D = vl_kmeans_get_dimension(k);
  K = vl_kmeans_get_num_centers(k);
  if (!vl_kmeans_get_centers(k)) D = 1 + u8(r) % 8;
  if (!spend(km_work(k, N, D, K ? K : 1, 0) * (double)(vl_kmeans_get_num_trees(k) > 100 ? 1 : vl_kmeans_get_num_trees(k) + 1)))
    return;
  x = arr_gen_or_null(r, t, mulc(N, D), D, KIND_DATA, u8(r) > 252);
  if (which >= 2 && (u8(r) & 1)) w = wts_gen(r, N);
  if (which == 3) {
    /* assignments and the (weighted) energy; outputs optional */
    double e;
    snap_t before = snap_km(k), after;
    assign = (opts & 1) ? arr_empty(VL_TYPE_FLOAT) : out_alloc(VL_TYPE_FLOAT, N); /* uint32 */
    dist = (opts & 2) ? arr_empty(t) : out_alloc(t, N);
    must_fail = !vl_kmeans_get_centers(k) ||
                (N && (!x.p || x.dummy || !x.finite || (w.p && !w.valid)));
    must_succeed = !must_fail && !assign.dummy && !dist.dummy;
    e = vl_kmeans_quantize_energy(k, (vl_uint32 *)assign.p, dist.p, x.p, N, w.p);
    code = take_error();
    expect(code, must_fail, must_succeed, "quantize_energy arguments");
    REQUIRE(code ? isnan(e) : e >= 0, "energy %g with code %d", e, code);
    after = snap_km(k);
    REQUIRE(snap_equal(&before, &after), "quantize_energy changed the object");
    snap_free(&before);
    snap_free(&after);
    if (code) REQUIRE(canary_intact(&assign) && canary_intact(&dist), "rejected call wrote outputs");
    if (!code && N) {
      int const tame = x.tame && km_centers_tame(k) && w.tame;
      if (tame) REQUIRE(isfinite(e), "energy %g on tame input", e);
      if (dist.p && tame) {
        double sum = 0;
        for (size_t i = 0; i < N; ++i) sum += (w.p ? w.p[i] : 1.0) * arr_get(&dist, i);
        REQUIRE(fabs(e - sum) <= 1e-12 * sum, "energy %.17g, sum of distances %.17g", e, sum);
      }
      for (size_t i = 0; assign.p && i < N; ++i)
        REQUIRE(((vl_uint32 const *)assign.p)[i] < K, "assignment %zu >= K", i);
    }
    arr_free(&x);
    arr_free(&assign);
    arr_free(&dist);
    free(w.p);
    return;
  }
  if (which == 2) {
    /* Lloyd by statistics (L2 only) */
    size_t sz;
    double *st;
    int ret, ctame;
    snap_t before, after;
    int const valid_obj = vl_kmeans_get_centers(k) && vl_kmeans_get_distance(k) == VlDistanceL2;
    g_op = "vl_kmeans_stats_size";
    sz = vl_kmeans_stats_size(k);
    code = take_error();
    REQUIRE(valid_obj ? code == 0 && sz == K * (D + 1) + 2 : code != 0 && sz == 0,
            "stats size %zu (code %d)", sz, code);
    if (!valid_obj) {
      arr_free(&x);
      free(w.p);
      return;
    }
    st = calloc(sz, sizeof(double));
    ctame = km_centers_tame(k);
    g_op = w.p ? "vl_kmeans_stats_accumulate_weighted" : "vl_kmeans_stats_accumulate";
    before = snap_km(k);
    ret = w.p ? vl_kmeans_stats_accumulate_weighted(k, st, x.p, N, w.p)
              : vl_kmeans_stats_accumulate(k, st, x.p, N);
    code = take_error();
    REQUIRE(ret == code, "returned %d, last error %d", ret, code);
    must_fail = N && (!x.p || x.dummy || !x.finite || (w.p && !w.valid));
    expect(code, must_fail, !must_fail, "accumulate");
    after = snap_km(k);
    REQUIRE(snap_equal(&before, &after), "accumulate changed the object");
    snap_free(&after);
    if (code) {
      for (size_t j = 0; j < sz; ++j) REQUIRE(st[j] == 0, "a rejected accumulate wrote stats");
    } else {
      double cnt = 0, total = 0;
      for (size_t j = 0; j < K; ++j) cnt += st[j];
      for (size_t i = 0; i < N; ++i) total += w.p ? w.p[i] : 1.0;
      REQUIRE((w.p ? !w.tame || fabs(cnt - total) <= 1e-12 * total : cnt == (double)N) &&
                  st[sz - 1] == (double)N,
              "counts %g (weights %g), N %g for %zu points", cnt, total, st[sz - 1], N);
      g_op = "vl_kmeans_update_from_stats";
      ret = vl_kmeans_update_from_stats(k, st);
      code = take_error();
      REQUIRE(ret == code, "returned %d, last error %d", ret, code);
      if (x.tame && ctame && w.tame) {
        expect(code, 0, 1, "statistics from accumulate");
        check_centers(k, D, K, 1);
      }
    }
    snap_free(&before);
    g_op = "vl_kmeans_stats_merge";
    REQUIRE(vl_kmeans_stats_merge(k, st, NULL) == VL_ERR_BAD_ARG && take_error() == VL_ERR_BAD_ARG,
            "merge NULL");
    free(st);
    free(w.p);
    arr_free(&x);
    return;
  }
  assign = (opts & 1) ? arr_empty(VL_TYPE_FLOAT) : out_alloc(VL_TYPE_FLOAT, N); /* uint32 */
  dist = (opts & 2) ? arr_empty(t) : out_alloc(t, N);
  if (update && assign.p && dist.p && !assign.dummy && !dist.dummy) {
    /* update mode reads the current assignments and distances: valid ones */
    uint64_t seed = u16(r);
    for (size_t i = 0; i < N; ++i) {
      ((vl_uint32 *)assign.p)[i] = K ? (vl_uint32)(sm_next(&seed) % K) : 0;
      arr_set(&dist, i, (sm_next(&seed) & 7) == 0 ? INFINITY : 100 * sm_unif(&seed));
    }
  }
  must_fail = !vl_kmeans_get_centers(k) || (N && (!assign.p || !x.p || x.dummy || !x.finite));
  must_succeed = !must_fail && !assign.dummy && !dist.dummy && !(which == 1 && km_trees_huge(k));
  if (which == 0)
    vl_kmeans_quantize(k, (vl_uint32 *)assign.p, dist.p, x.p, N);
  else
    vl_kmeans_quantize_ann(k, (vl_uint32 *)assign.p, dist.p, x.p, N, update);
  code = take_error();
  expect(code, must_fail, must_succeed, "quantize arguments");
  if (code && !update) REQUIRE(canary_intact(&assign) && canary_intact(&dist), "rejected call wrote outputs");
  if (!code && N && assign.p) {
    int const tame = x.tame && km_centers_tame(k);
    for (size_t i = 0; i < N; ++i) {
      vl_uint32 const a = ((vl_uint32 const *)assign.p)[i];
      REQUIRE(a < K, "assignment %zu = %u >= K = %zu", i, (unsigned)a, K);
      if (dist.p) {
        double const d = arr_get(&dist, i);
        REQUIRE(d >= 0, "distance %zu = %g", i, d);
        if (tame && !update) REQUIRE(isfinite(d), "distance %zu = %g on tame data", i, d);
      }
    }
    /* exact quantization finds the nearest center (up to rounding) */
    if (which == 0 && tame && dist.p) {
      void const *c = vl_kmeans_get_centers(k);
      int const l1 = vl_kmeans_get_distance(k) == VlDistanceL1;
      for (size_t i = 0; i < N; ++i) {
        double best = INFINITY, scale = 0;
        for (size_t kk = 0; kk < K; ++kk) {
          double dd = 0;
          for (size_t d = 0; d < D; ++d) {
            double const xv = arr_get(&x, i * D + d);
            double const cv = t == VL_TYPE_FLOAT ? (double)((float const *)c)[kk * D + d]
                                                 : ((double const *)c)[kk * D + d];
            dd += l1 ? fabs(xv - cv) : (xv - cv) * (xv - cv);
            scale += l1 ? fabs(xv) + fabs(cv) : (fabs(xv) + fabs(cv)) * (fabs(xv) + fabs(cv));
          }
          if (dd < best) best = dd;
        }
        REQUIRE(arr_get(&dist, i) <= best + 1e-4 * scale + 1e-30,
                "point %zu: distance %.17g to its center, nearest %.17g", i, arr_get(&dist, i),
                best);
      }
    }
  }
  arr_free(&x);
  arr_free(&assign);
  arr_free(&dist);
}

/* ---- encoders ------------------------------------------------------------------------ */

typedef struct {
  vl_type t;
  size_t D, K;
  arr_t mu, cv, pr;
  int ok;   /* parameters valid */
  int tame; /* moderate parameters */
} gmmargs_t;

static gmmargs_t gen_gmm_args(rd_t *r, int need_gmm)
{
  gmmargs_t g;
  uint8_t const nulls = u8(r) >= 244 ? u8(r) : 0;
  g.t = rd_type(r);
  g.D = rd_size(r, 16, 1);
  g.K = rd_size(r, 16, 1);
  g.mu = arr_gen_or_null(r, g.t, mulc(g.K, g.D), g.D, KIND_DATA, nulls & 1);
  if (need_gmm) {
    g.cv = arr_gen_or_null(r, g.t, mulc(g.K, g.D), g.D, KIND_VAR, nulls & 2);
    g.pr = arr_gen_or_null(r, g.t, g.K, 1, KIND_PRIOR, nulls & 4);
  } else {
    g.cv = arr_empty(g.t);
    g.pr = arr_empty(g.t);
  }
  g.ok = esize(g.t) && g.D && g.K && g.mu.p && !g.mu.dummy && g.mu.finite;
  if (need_gmm)
    g.ok = g.ok && g.cv.p && g.pr.p && !g.cv.dummy && !g.pr.dummy && g.cv.finite &&
           g.cv.minv > 0 && g.pr.finite && g.pr.minv >= 0;
  g.tame = g.ok && g.mu.tame &&
           (!need_gmm || (g.cv.minv >= 1e-6 && g.cv.maxv <= 1e6 && g.pr.tame));
  return g;
}

static void free_gmm_args(gmmargs_t *g)
{
  arr_free(&g->mu);
  arr_free(&g->cv);
  arr_free(&g->pr);
}

typedef struct {
  vl_size *off; /* numImages + 1 entries */
  size_t n;     /* images */
  int ok;       /* offsets[0] == 0 and non-decreasing */
  size_t total; /* offsets[n] */
} offs_t;

static offs_t gen_offsets(rd_t *r)
{
  offs_t o;
  uint8_t const b = u8(r);
  o.n = b % 6;
  o.off = malloc((o.n + 1) * sizeof *o.off);
  o.off[0] = 0;
  for (size_t j = 0; j < o.n; ++j) {
    uint8_t const c = u8(r);
    o.off[j + 1] = o.off[j] + (c < 200 ? c % 24 : c < 240 ? 0 : 120 + c);
  }
  if (b >= 200) { /* break them */
    uint8_t const how = u8(r);
    switch (how % 4) {
      case 0: o.off[0] = 1 + how % 3; break;
      case 1:
        if (o.n >= 1) o.off[1 + how % o.n] = o.off[1 + how % o.n] / 2 + (how & 1 ? 0 : SIZE_MAX / 2);
        break;
      case 2: o.off[o.n] = k_huge[how % COUNT(k_huge)]; break;
      default:
        if (o.n >= 2) { /* decreasing */
          size_t const j = 1 + how % (o.n - 1);
          vl_size const tmp = o.off[j];
          o.off[j] = o.off[j + 1] + 1;
          (void)tmp;
        }
        break;
    }
  }
  o.ok = o.off[0] == 0;
  for (size_t j = 0; j < o.n; ++j)
    if (o.off[j + 1] < o.off[j]) o.ok = 0;
  o.total = o.off[o.n];
  return o;
}

/* An exact copy of rows [a, b) of x (D columns). */
static arr_t slice(arr_t const *x, size_t a, size_t b, size_t D)
{
  arr_t s = *x;
  size_t const es = esize(x->t);
  s.n = (b - a) * D;
  s.p = malloc(s.n ? s.n * es : 1);
  if (s.n) memcpy(s.p, (char const *)x->p + a * D * es, s.n * es);
  return s;
}

/* The descriptor sets of an encoding call: one image of rd_num(r, 1)
   descriptors, or a batch from gen_offsets(). Charges the fuzzing budget
   for N*K*D*factor work; when it is spent, frees *o and *g and returns 0. */
static int gen_sets(rd_t *r, int batch, double factor, gmmargs_t *g, offs_t *o)
{
  if (batch) {
    *o = gen_offsets(r);
  } else {
    o->n = 1;
    o->off = malloc(2 * sizeof *o->off);
    o->off[0] = 0;
    o->off[1] = rd_num(r, 1);
    o->ok = 1;
    o->total = o->off[1];
  }
  if (!spend((double)(is_huge(o->total) ? 1 : o->total) * (double)(is_huge(g->K) ? 1 : g->K) *
                 (double)(is_huge(g->D) ? 1 : g->D) * factor + 10)) {
    free(o->off);
    free_gmm_args(g);
    return 0;
  }
  return 1;
}

/* Fisher: single image and batch; the batch against the single function. */
static void op_fisher(rd_t *r)
{
  int const batch = u8(r) & 1;
  gmmargs_t g = gen_gmm_args(r, 1);
  int const flags = rd_flags(r, VL_FISHER_FLAG_SQUARE_ROOT | VL_FISHER_FLAG_NORMALIZED | VL_FISHER_FLAG_FAST);
  int const flags_ok = !(flags & ~7);
  size_t const es = esize(g.t);
  size_t const row = mulc(2, mulc(g.K, g.D));
  offs_t o;
  arr_t x, enc, terms = arr_empty(VL_TYPE_DOUBLE);
  int code, must_fail, must_succeed, over, null_enc = u8(r) > 250;
  g_op = batch ? "vl_fisher_encode_batch" : "vl_fisher_encode";
  if (!gen_sets(r, batch, batch ? 2 : 1, &g, &o)) return;
  x = arr_gen_or_null(r, g.t, mulc(o.total, g.D), g.D, KIND_DATA, u8(r) > 252);
  enc = null_enc ? arr_empty(g.t) : out_alloc(g.t, mulc(o.n, row));
  if (batch && (u8(r) & 1)) terms = out_alloc(VL_TYPE_DOUBLE, o.n); /* vl_size = 8 bytes */
  {
    int const data_ok = o.ok && (o.total == 0 || (x.p && !x.dummy && x.finite));
    must_fail = !flags_ok || !g.ok || !data_ok || (null_enc && (o.n || !batch));
    if (!esize(g.t) || !g.D || !g.K || !flags_ok || !o.ok) must_fail = 1;
    must_succeed = !must_fail && !enc.dummy && !terms.dummy && !x.dummy;
  }
  if (batch) {
    int const ret = vl_fisher_encode_batch(enc.p, g.t, g.mu.p, g.D, g.K, g.cv.p, g.pr.p, x.p,
                                           o.off, o.n, flags, (vl_size *)terms.p);
    code = take_error();
    REQUIRE(ret == code, "returned %d, last error %d", ret, code);
  } else {
    vl_size const ret = vl_fisher_encode(enc.p, g.t, g.mu.p, g.D, g.K, g.cv.p, g.pr.p, x.p,
                                         o.total, flags);
    code = take_error();
    if (code) REQUIRE(ret == 0, "error but returned %zu", (size_t)ret);
    if (!code) {
      REQUIRE(ret <= o.total * g.K, "%zu terms for %zu points", (size_t)ret, (size_t)o.total);
      if (flags & VL_FISHER_FLAG_FAST) REQUIRE(ret <= o.total, "FAST: %zu terms", (size_t)ret);
    }
  }
  over = unrepresentable(code, must_succeed);
  expect(over ? VL_ERR_OK : code, must_fail, must_succeed, "Fisher arguments");
  if (code && rejected(code) && !(over && batch))
    REQUIRE(canary_intact(&enc) && canary_intact(&terms), "a rejected call wrote its output");
  if (!code && enc.p) {
    for (size_t j = 0; j < o.n; ++j) {
      void const *e = (char const *)enc.p + j * row * es;
      size_t const nj = o.off[j + 1] - o.off[j];
      int finite;
      double const n2 = norm2(g.t, e, row, &finite);
      if (nj == 0 || !g.pr.any_prior) REQUIRE(all_zero(g.t, e, row), "image %zu: empty set, non-zero encoding", j);
      if (g.tame && x.tame) {
        REQUIRE(finite, "image %zu: non-finite encoding", j);
        if ((flags & VL_FISHER_FLAG_NORMALIZED) && n2 > 0)
          REQUIRE(sqrt(n2) <= 1 + tol_of(g.t) * 10, "image %zu: norm %.17g", j, sqrt(n2));
      }
      if (batch) { /* equal to the single-image function, bit for bit */
        arr_t xs = slice(&x, o.off[j], o.off[j + 1], g.D);
        void *one = malloc(row * es);
        vl_size const nt = vl_fisher_encode(one, g.t, g.mu.p, g.D, g.K, g.cv.p, g.pr.p, xs.p, nj, flags);
        code = take_error();
        REQUIRE(code == 0 || g_injected, "single image %zu failed where the batch succeeded", j);
        if (!code) {
          REQUIRE(memcmp(one, e, row * es) == 0, "batch row %zu differs from vl_fisher_encode", j);
          if (terms.p) REQUIRE(((vl_size const *)terms.p)[j] == nt, "numTerms[%zu] = %zu, single %zu",
                               j, (size_t)((vl_size const *)terms.p)[j], (size_t)nt);
        }
        free(one);
        arr_free(&xs);
      }
    }
  }
  arr_free(&x);
  arr_free(&enc);
  arr_free(&terms);
  free(o.off);
  free_gmm_args(&g);
}

/* VLAD: single image (explicit weights) and batch (weights or nearest center). */
static void op_vlad(rd_t *r)
{
  int const batch = u8(r) & 1;
  gmmargs_t g = gen_gmm_args(r, 0);
  int const all = VL_VLAD_FLAG_NORMALIZE_COMPONENTS | VL_VLAD_FLAG_SQUARE_ROOT |
                  VL_VLAD_FLAG_UNNORMALIZED | VL_VLAD_FLAG_NORMALIZE_MASS;
  int const flags = rd_flags(r, all);
  int const flags_ok = !(flags & ~all);
  int const use_w = !batch || (u8(r) & 1);
  int const null_w = use_w && u8(r) > 250;
  size_t const es = esize(g.t), row = mulc(g.K, g.D);
  offs_t o;
  arr_t x, w, enc;
  int code, must_fail, must_succeed, over, null_enc = u8(r) > 250;
  g_op = batch ? "vl_vlad_encode_batch" : "vl_vlad_encode";
  if (!gen_sets(r, batch, batch ? 2 : 1, &g, &o)) return;
  x = arr_gen_or_null(r, g.t, mulc(o.total, g.D), g.D, KIND_DATA, u8(r) > 252);
  w = use_w && !null_w ? arr_gen(r, g.t, mulc(o.total, g.K), g.K, KIND_WEIGHT) : arr_empty(g.t);
  enc = null_enc ? arr_empty(g.t) : out_alloc(g.t, mulc(o.n, row));
  {
    int const data_ok = o.ok && (o.total == 0 || (x.p && !x.dummy && x.finite));
    int const w_ok = !w.p || (!w.dummy && !w.pos_inf);
    must_fail = !flags_ok || !g.ok || !data_ok || !w_ok || (null_enc && o.n) ||
                (!batch && !w.p && o.total);
    must_succeed = !must_fail && !enc.dummy && !x.dummy && !w.dummy;
  }
  if (batch) {
    int const ret = vl_vlad_encode_batch(enc.p, g.t, g.mu.p, g.D, g.K, x.p, o.off, o.n, w.p, flags);
    code = take_error();
    REQUIRE(ret == code, "returned %d, last error %d", ret, code);
  } else {
    vl_vlad_encode(enc.p, g.t, g.mu.p, g.D, g.K, x.p, o.total, w.p, flags);
    code = take_error();
  }
  over = unrepresentable(code, must_succeed);
  expect(over ? VL_ERR_OK : code, must_fail, must_succeed, "VLAD arguments");
  if (code && !(over && batch))
    REQUIRE(canary_intact(&enc), "a rejected call wrote its output (documented: unchanged)");
  if (!code && enc.p) {
    for (size_t j = 0; j < o.n; ++j) {
      void const *e = (char const *)enc.p + j * row * es;
      size_t const nj = o.off[j + 1] - o.off[j];
      int finite;
      double const n2 = norm2(g.t, e, row, &finite);
      if (nj == 0) REQUIRE(all_zero(g.t, e, row), "image %zu: empty set, non-zero encoding", j);
      if (g.tame && x.tame && (!w.p || w.tame)) {
        REQUIRE(finite, "image %zu: non-finite encoding", j);
        if (!(flags & VL_VLAD_FLAG_UNNORMALIZED) && n2 > 0)
          REQUIRE(sqrt(n2) <= 1 + tol_of(g.t) * 10, "image %zu: norm %.17g", j, sqrt(n2));
      }
      if (batch) {
        arr_t xs = slice(&x, o.off[j], o.off[j + 1], g.D);
        arr_t ws = w.p ? slice(&w, o.off[j], o.off[j + 1], g.K) : arr_empty(g.t);
        void *one = malloc(row * es);
        vl_size const off1[2] = {0, nj};
        if (w.p) {
          vl_vlad_encode(one, g.t, g.mu.p, g.D, g.K, xs.p, nj, ws.p, flags);
          code = take_error();
        } else { /* a batch of one (the single-image path of the batch function) */
          code = vl_vlad_encode_batch(one, g.t, g.mu.p, g.D, g.K, xs.p, off1, 1, NULL, flags);
          REQUIRE(code == take_error(), "return and last error differ");
        }
        REQUIRE(code == 0 || g_injected, "image %zu alone failed where the batch succeeded", j);
        if (!code) REQUIRE(memcmp(one, e, row * es) == 0, "batch row %zu differs from the single image", j);
        free(one);
        arr_free(&xs);
        arr_free(&ws);
      }
    }
  }
  arr_free(&x);
  arr_free(&w);
  arr_free(&enc);
  free(o.off);
  free_gmm_args(&g);
}

/* Bag of words: codebook (single, batch) and GMM (batch). */
static void op_bovw(rd_t *r)
{
  uint8_t const which = u8(r) % 3; /* 0 single, 1 batch, 2 gmm batch */
  gmmargs_t g = gen_gmm_args(r, which == 2);
  int const all = VL_BOVW_FLAG_SOFT | VL_BOVW_FLAG_FREQUENCIES | VL_BOVW_FLAG_SQUARE_ROOT |
                  VL_BOVW_FLAG_NORMALIZED;
  int const flags = rd_flags(r, all);
  int const flags_ok = !(flags & ~all);
  double const sigma = rd_scalar(r);
  int const sigma_ok = !(flags & VL_BOVW_FLAG_SOFT) || which == 2 || (sigma > 0 && isfinite(sigma));
  size_t const es = esize(g.t), row = g.K;
  offs_t o;
  arr_t x, enc;
  int code, must_fail, must_succeed, over, null_enc = u8(r) > 250;
  g_op = which == 0 ? "vl_bovw_encode" : which == 1 ? "vl_bovw_encode_batch" : "vl_bovw_encode_gmm_batch";
  if (!gen_sets(r, which != 0, 2, &g, &o)) return;
  x = arr_gen_or_null(r, g.t, mulc(o.total, g.D), g.D, KIND_DATA, u8(r) > 252);
  enc = null_enc ? arr_empty(g.t) : out_alloc(g.t, mulc(o.n, row));
  {
    int const data_ok = o.ok && (o.total == 0 || (x.p && !x.dummy && x.finite));
    must_fail = !flags_ok || !g.ok || !data_ok || !sigma_ok || (null_enc && o.n);
    must_succeed = !must_fail && !enc.dummy && !x.dummy;
  }
  if (which == 0)
    code = vl_bovw_encode(enc.p, g.t, g.mu.p, g.D, g.K, x.p, o.total, sigma, flags);
  else if (which == 1)
    code = vl_bovw_encode_batch(enc.p, g.t, g.mu.p, g.D, g.K, x.p, o.off, o.n, sigma, flags);
  else
    code = vl_bovw_encode_gmm_batch(enc.p, g.t, g.mu.p, g.D, g.K, g.cv.p, g.pr.p, x.p, o.off,
                                    o.n, flags);
  REQUIRE(code == take_error(), "return and last error differ");
  over = unrepresentable(code, must_succeed);
  expect(over ? VL_ERR_OK : code, must_fail, must_succeed, "bag-of-words arguments");
  if (rejected(code) && !(over && which != 0))
    REQUIRE(canary_intact(&enc), "a rejected call wrote its output");
  if (!code && enc.p) {
    int const soft = (flags & VL_BOVW_FLAG_SOFT) != 0;
    int const post = flags & (VL_BOVW_FLAG_FREQUENCIES | VL_BOVW_FLAG_SQUARE_ROOT | VL_BOVW_FLAG_NORMALIZED);
    for (size_t j = 0; j < o.n; ++j) {
      void const *e = (char const *)enc.p + j * row * es;
      size_t const nj = o.off[j + 1] - o.off[j];
      double sum = 0;
      int finite;
      double const n2 = norm2(g.t, e, row, &finite);
      int const votes = which != 2 || g.pr.any_prior;
      for (size_t k = 0; k < row; ++k) {
        double const v = g.t == VL_TYPE_FLOAT ? (double)((float const *)e)[k] : ((double const *)e)[k];
        if (g.tame && x.tame) REQUIRE(v >= 0, "image %zu bin %zu = %g", j, k, v);
        sum += v;
      }
      if (nj == 0 || !votes) REQUIRE(all_zero(g.t, e, row), "image %zu: no votes, non-zero histogram", j);
      if (g.tame && x.tame && nj && votes) {
        REQUIRE(finite, "image %zu: non-finite histogram", j);
        if (!post && !soft) REQUIRE(sum == (double)nj, "image %zu: hard histogram sums to %.17g, %zu descriptors", j, sum, nj);
        if (!post && soft) REQUIRE(fabs(sum - (double)nj) <= tol_of(g.t) * (double)nj * (double)row, "soft histogram sums to %.17g, %zu descriptors", sum, nj);
        if ((flags & VL_BOVW_FLAG_FREQUENCIES) && !(flags & (VL_BOVW_FLAG_SQUARE_ROOT | VL_BOVW_FLAG_NORMALIZED)))
          REQUIRE(fabs(sum - 1) <= tol_of(g.t) * (double)row, "frequencies sum to %.17g", sum);
        if (flags & VL_BOVW_FLAG_NORMALIZED)
          REQUIRE(sqrt(n2) <= 1 + tol_of(g.t) * 10, "image %zu: norm %.17g", j, sqrt(n2));
      }
      if (which) {
        arr_t xs = slice(&x, o.off[j], o.off[j + 1], g.D);
        void *one = malloc(row * es);
        vl_size const off1[2] = {0, nj};
        if (which == 1)
          code = vl_bovw_encode(one, g.t, g.mu.p, g.D, g.K, xs.p, nj, sigma, flags);
        else
          code = vl_bovw_encode_gmm_batch(one, g.t, g.mu.p, g.D, g.K, g.cv.p, g.pr.p, xs.p, off1, 1, flags);
        REQUIRE(code == take_error(), "return and last error differ");
        REQUIRE(code == 0 || g_injected, "image %zu alone failed where the batch succeeded", j);
        if (!code) REQUIRE(memcmp(one, e, row * es) == 0, "batch row %zu differs from the single image", j);
        free(one);
        arr_free(&xs);
      }
    }
  }
  arr_free(&x);
  arr_free(&enc);
  free(o.off);
  free_gmm_args(&g);
}

/* ---- misc -------------------------------------------------------------------------------- */

static void op_simd(rd_t *r)
{
  uint8_t const b = u8(r);
  int const max = vl_get_simd_max_level();
  g_op = "vl_set_simd_level";
  REQUIRE(take_error() == 0 && max >= 0 && max <= VL_SIMD_NEON, "max level %d", max);
  if (b < 200) {
    int const level = b % 4; /* scalar and the x86 levels */
    int const ret = vl_set_simd_level(level);
    int const code = take_error();
    REQUIRE(ret == code, "return and last error differ");
    /* x86: every level up to the best; aarch64 (best NEON): only scalar */
    if (max == VL_SIMD_NEON ? level == VL_SIMD_SCALAR : level <= max)
      REQUIRE(ret == 0 && vl_get_simd_level() == level, "level %d refused", level);
    else REQUIRE(ret == VL_ERR_BAD_ARG, "unavailable level %d accepted", level);
  } else if (b < 230) {
    int const level = (int)u32(r);
    int const ret = vl_set_simd_level(level);
    REQUIRE(ret == take_error(), "return and last error differ");
    if (level < 0 || level > max) REQUIRE(ret == VL_ERR_BAD_ARG, "level %d accepted", level);
    REQUIRE(vl_get_simd_level_name(level) != NULL || take_error() == VL_ERR_BAD_ARG, "name");
  } else {
    g_op = "vl_set_simd_enabled";
    vl_set_simd_enabled(b & 1);
    REQUIRE(take_error() == 0, "vl_set_simd_enabled");
    REQUIRE((vl_get_simd_level() == 0) == !vl_get_simd_enabled(), "enabled vs level");
  }
}

/* random.h: seeding (init, seed, seed by array), draws, permutations. */
static void op_rand(rd_t *r)
{
  VlRand rng, *g = (u8(r) & 7) == 7 ? NULL : &rng;
  uint8_t const which = u8(r) % 5;
  int code;
  memset(&rng, 0, sizeof rng);
  rng.mti = (u8(r) & 1) ? (vl_uindex)u64(r) : VL_RAND_MT_N + 1; /* a public field: anything */
  g_op = "vl_rand_*";
  switch (which) {
    case 0:
      g_op = "vl_rand_init";
      vl_rand_init(g);
      code = take_error();
      REQUIRE(g ? code == 0 : code == VL_ERR_BAD_ARG, "vl_rand_init");
      break;
    case 1:
      g_op = "vl_rand_seed";
      vl_rand_seed(g, u32(r));
      code = take_error();
      REQUIRE(g ? code == 0 : code == VL_ERR_BAD_ARG, "vl_rand_seed");
      break;
    case 2: {
      uint8_t const b = u8(r);
      size_t const n = b < 200 ? (size_t)u16(r) % 700 : b < 250 ? 0 : k_huge[b % COUNT(k_huge)];
      int const null_key = (b & 3) == 3 && b >= 200;
      vl_uint32 *key = null_key ? NULL : is_huge(n) ? malloc(1) : malloc(n ? n * 4 : 1);
      uint64_t seed = u16(r);
      for (size_t j = 0; key && !is_huge(n) && j < n; ++j) key[j] = (vl_uint32)sm_next(&seed);
      g_op = "vl_rand_seed_by_array";
      vl_rand_seed_by_array(g, key, n);
      code = take_error();
      if (!g || (!key && n) || is_huge(n)) REQUIRE(code != 0, "invalid arguments accepted");
      else REQUIRE(code == 0, "valid arguments rejected");
      free(key);
      break;
    }
    case 3: {
      vl_uindex const range = (u8(r) & 1) ? (vl_uindex)u8(r) : (vl_uindex)u64(r);
      double d;
      g_op = "vl_rand draws";
      (void)vl_rand_uint32(g);
      REQUIRE(take_error() == (g ? 0 : VL_ERR_BAD_ARG), "uint32");
      (void)vl_rand_uint64(g);
      REQUIRE(take_error() == (g ? 0 : VL_ERR_BAD_ARG), "uint64");
      REQUIRE(vl_rand_int63(g) >= 0 && take_error() == (g ? 0 : VL_ERR_BAD_ARG), "int63");
      REQUIRE(vl_rand_int31(g) >= 0 && take_error() == (g ? 0 : VL_ERR_BAD_ARG), "int31");
      d = vl_rand_real1(g);
      REQUIRE(g ? d >= 0 && d <= 1 && take_error() == 0 : isnan(d) && take_error() == VL_ERR_BAD_ARG, "real1");
      d = vl_rand_real2(g);
      REQUIRE(g ? d >= 0 && d < 1 && take_error() == 0 : isnan(d) && take_error() == VL_ERR_BAD_ARG, "real2");
      d = vl_rand_real3(g);
      REQUIRE(g ? d > 0 && d < 1 && take_error() == 0 : isnan(d) && take_error() == VL_ERR_BAD_ARG, "real3");
      d = vl_rand_res53(g);
      REQUIRE(g ? d >= 0 && d < 1 && take_error() == 0 : isnan(d) && take_error() == VL_ERR_BAD_ARG, "res53");
      {
        vl_uindex const v = vl_rand_uindex(g, range);
        code = take_error();
        if (!g || range == 0) REQUIRE(code == VL_ERR_BAD_ARG && v == 0, "uindex invalid");
        else REQUIRE(code == 0 && v < range, "uindex %zu of %zu", (size_t)v, (size_t)range);
      }
      break;
    }
    default: {
      uint8_t const b = u8(r);
      size_t const n = b < 240 ? b % 70 : k_huge[b % COUNT(k_huge)];
      vl_index *a = is_huge(n) ? malloc(1) : malloc(n ? n * sizeof *a : 1);
      unsigned char *seen;
      g_op = "vl_rand_permute_indexes";
      for (size_t j = 0; !is_huge(n) && j < n; ++j) a[j] = (vl_index)j;
      vl_rand_permute_indexes(g, a, n);
      code = take_error();
      if (!g || is_huge(n)) {
        REQUIRE(code != 0, "invalid arguments accepted");
      } else {
        REQUIRE(code == 0, "valid arguments rejected");
        seen = calloc(n ? n : 1, 1);
        for (size_t j = 0; j < n; ++j) {
          REQUIRE(a[j] >= 0 && (size_t)a[j] < n && !seen[a[j]], "not a permutation");
          seen[a[j]] = 1;
        }
        free(seen);
      }
      free(a);
      break;
    }
  }
}

typedef void (*op_fn)(rd_t *);

static op_fn const k_ops[] = {
    op_gmm_new,   op_gmm_set,  op_gmm_set,   op_gmm_train, op_gmm_train, op_gmm_copy,
    op_gmm_estep, op_posteriors, op_gmm_stats, op_km_new,  op_km_set,    op_km_fit,
    op_km_fit,    op_km_refine, op_km_quantize, op_km_copy, op_fisher,   op_vlad,
    op_bovw,      op_simd,     op_rand,
};

/* ---- entry points ------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  g_trace = getenv("FUZZ_API_TRACE") ? atoi(getenv("FUZZ_API_TRACE")) : 0;
  vl_set_num_threads(1);
  vl_set_printf_func(NULL);
  vl_set_log_func(log_func, NULL);
  return 0;
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  rd_t r = {data, size};
  int nops = 0;
  g_verbose = 0;
  g_log_calls = 0;
  g_budget = 4e6;
  g_injected = 0;
  memset(g_gcb, 0, sizeof g_gcb);
  memset(g_kcb, 0, sizeof g_kcb);
  {
    int const max = vl_get_simd_max_level();
    uint8_t const b = u8(&r);
    vl_set_simd_level(b % (max + 1));
    vl_rand_seed(vl_get_rand(), u32(&r));
    vl_get_last_error();
  }
  while (r.n && nops++ < 48) {
    uint8_t const op = u8(&r);
    if (op >= 248 && gmm_alloc_fail_after) {
      /* inject an allocation failure into the next operation */
      long const n = 1 + u8(&r) % 24;
      uint8_t const next = u8(&r);
      g_injected = 1;
      gmm_alloc_fail_after(n);
      k_ops[next % COUNT(k_ops)](&r);
      gmm_alloc_fail_after(0);
      g_injected = 0;
      continue;
    }
    k_ops[op % COUNT(k_ops)](&r);
  }
  g_op = "cleanup";
  for (int s = 0; s < NG; ++s) gmm_delete_slot(s);
  for (int s = 0; s < NK; ++s) km_delete_slot(s);
  return 0;
}
