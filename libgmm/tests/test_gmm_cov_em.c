/* test_gmm_cov_em.c: the covariance types' EM machinery, every type, float
 * and double:
 *  - results bit for bit the same for 1, 2, 3 and 5 threads (EM, E-step,
 *    statistics), with more points than one chunk of the full pass
 *    (GMM_TEST_QUICK=1, as under valgrind: 1 and 3 threads);
 *  - the statistics API: second moments equal sums written out here from
 *    the E-step's posteriors (long double); statistics of two chunks,
 *    merged, then vl_gmm_mstep_from_stats give vl_gmm_em's parameters; the
 *    exact EM refuses restart splits and plans none; a degenerate M-step
 *    from statistics fails with the object unchanged;
 *  - an allocation failure at every allocation site of every call that
 *    allocates: VL_ERR_ALLOC, nothing leaked (valgrind/ASan), the object
 *    unchanged or at least usable, as documented. */
#include "cov_util.h"

extern void gmm_alloc_fail_after(long n);
extern long gmm_alloc_count(void);

typedef struct {
  double means[CK * CD], covs[CK * CD * CD], priors[CK], ll;
  int type;
} snap;

static void take(VlGMM const *g, snap *s)
{
  vl_type const t = vl_gmm_get_data_type(g);
  memset(s, 0, sizeof *s);
  to_d(t, vl_gmm_get_means(g), s->means, CK * CD);
  to_d(t, vl_gmm_get_covariances(g), s->covs, vl_gmm_get_covariances_size(g));
  to_d(t, vl_gmm_get_priors(g), s->priors, CK);
  s->ll = vl_gmm_get_loglikelihood(g);
  s->type = (int)vl_gmm_get_covariance_type(g);
}

/* ---- threads ------------------------------------------------------------------ */

/* GMM_TEST_QUICK=1 (set by .ci/valgrind.sh): 1 and 3 threads only. */
static int g_quick;

static void check_threads(vl_type t, int cov)
{
  static int const threads[] = {1, 3, 2, 5};
  int const nthreads = g_quick ? 2 : 4;
  snap ref, s;
  double llref[CN], ll[CN], *st0 = NULL;
  size_t S = 0;
  for (int j = 0; j < nthreads; ++j) {
    VlGMM *g;
    double *st;
    vl_set_num_threads((vl_size)threads[j]);
    g = labelled_gmm(t, cov, 1e-3);
    vl_gmm_set_max_num_iterations(g, 4);
    vl_gmm_em(g, data_of(t), CN);
    CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message());
    take(g, j ? &s : &ref);
    vl_gmm_estep(g, data_of(t), CN, NULL, j ? ll : llref, NULL);
    S = vl_gmm_stats_size(g);
    st = calloc(S, sizeof(double));
    vl_gmm_stats_accumulate(g, st, data_of(t), CN, NULL, NULL, 0);
    if (j) {
      CHECK_MSG(memcmp(&s, &ref, sizeof s) == 0, "%s EM with %d threads", COV_NAMES[cov],
                threads[j]);
      CHECK_MSG(memcmp(ll, llref, sizeof ll) == 0, "%s E-step with %d threads", COV_NAMES[cov],
                threads[j]);
      CHECK_MSG(memcmp(st, st0, S * sizeof(double)) == 0, "%s statistics with %d threads",
                COV_NAMES[cov], threads[j]);
      free(st);
    } else {
      st0 = st;
    }
    vl_gmm_delete(g);
  }
  free(st0);
  vl_set_num_threads(0);
}

/* ---- statistics ------------------------------------------------------------------ */

static int record(void *user, vl_size it, double ll)
{
  ((double *)user)[it] = ll;
  return 0;
}

/* The second moments of the statistics against sums over the E-step's
 * posteriors written out here, and the M-step from two merged chunks
 * against in-memory EM. */
static void check_stats(vl_type t, int cov)
{
  double const rtol = t == VL_TYPE_FLOAT ? 2e-5 : 1e-11;
  size_t const size2 = cov == VlGMMFull ? CK * CD * CD : cov == VlGMMTied ? CD * CD : CK * CD;
  VlGMM *g = labelled_gmm(t, cov, 1e-3), *e = vl_gmm_new_copy(g);
  size_t const S = vl_gmm_stats_size(g);
  double *a = calloc(S, sizeof(double)), *b = calloc(S, sizeof(double));
  double *post = malloc(CN * CK * sizeof(double)), *want = calloc(size2, sizeof(double));
  double ref[CK * CD], lls[2];
  void *q = malloc(CN * CK * esize_of(t));
  snap s1, s2;
  CHECK(S == 2 * CK + CK * CD + size2 + 2);
  vl_gmm_stats_accumulate(e, a, data_of(t), 3000, NULL, NULL, 0);
  vl_gmm_stats_accumulate(e, b, (char const *)data_of(t) + 3000 * CD * esize_of(t), CN - 3000,
                          NULL, NULL, 0);
  vl_gmm_stats_merge(e, a, b);
  CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message());
  CHECK(a[S - 1] == CN);
  /* second moments, from the posteriors of vl_gmm_estep */
  vl_gmm_estep(e, data_of(t), CN, q, NULL, NULL);
  to_d(t, q, post, CN * CK);
  to_d(t, vl_gmm_get_means(e), ref, CK * CD);
  for (int k = 0; k < CK; ++k)
    for (int r = 0; r < CD; ++r)
      for (int c = 0; c < CD; ++c) {
        long double sum = 0;
        if (cov != VlGMMFull && cov != VlGMMTied && c != r) continue;
        for (int i = 0; i < CN; ++i) {
          double const *x = CX + i * CD;
          float const *xf = CXF + i * CD;
          long double const zr = (t == VL_TYPE_FLOAT ? xf[r] : x[r]) - ref[k * CD + r];
          long double const zc = (t == VL_TYPE_FLOAT ? xf[c] : x[c]) - ref[k * CD + c];
          sum += post[i * CK + k] * zr * zc;
        }
        if (cov == VlGMMFull) want[k * CD * CD + r * CD + c] = (double)sum;
        else if (cov == VlGMMTied) want[r * CD + c] += (double)sum;
        else want[k * CD + r] = (double)sum;
      }
  CHECK_MSG(close_all(a + 2 * CK + CK * CD, want, size2, t == VL_TYPE_FLOAT ? 1e-4 : 1e-10),
            "%s second moments", COV_NAMES[cov]);
  /* the M-step from the merged statistics is in-memory EM's first M-step */
  vl_gmm_mstep_from_stats(g, a, NULL);
  CHECK_MSG(vl_get_last_error() == VL_ERR_OK, "%s", vl_get_last_error_message());
  take(g, &s1);
  vl_gmm_set_max_num_iterations(e, 1);
  vl_gmm_set_iteration_callback(e, record, lls);
  vl_gmm_em(e, data_of(t), CN);
  take(e, &s2);
  CHECK_MSG(close_all(s1.means, s2.means, CK * CD, rtol), "%s means", COV_NAMES[cov]);
  CHECK_MSG(close_all(s1.covs, s2.covs, vl_gmm_get_covariances_size(g), rtol), "%s covariances",
            COV_NAMES[cov]);
  CHECK_MSG(close_all(s1.priors, s2.priors, CK, rtol), "%s priors", COV_NAMES[cov]);
  CHECK_CLOSE(a[S - 2], lls[0], rtol, 0);
  /* the exact EM restarts nothing */
  {
    double split[4] = {1, 0, 0, 0};
    CHECK(vl_gmm_plan_restart(g, a + CK, CN, 0, split) == 0);
    CHECK(vl_gmm_stats_accumulate(g, b, data_of(t), CN, NULL, split, 1) == VL_ERR_BAD_ARG);
    CHECK(strstr(vl_get_last_error_message(), "VLFeat's EM only") != NULL);
  }
  /* statistics of one point per component: covariances 0, not positive definite */
  memset(b, 0, S * sizeof(double));
  for (int k = 0; k < CK; ++k) b[k] = b[CK + k] = 1;
  vl_gmm_set_reg_covar(g, 0);
  take(g, &s1);
  CHECK(vl_gmm_mstep_from_stats(g, b, NULL) == VL_ERR_BAD_ARG);
  CHECK(strstr(vl_get_last_error_message(), "vl_gmm_mstep_from_stats: the") != NULL);
  take(g, &s2);
  CHECK(memcmp(&s1, &s2, sizeof s1) == 0);
  vl_gmm_delete(g);
  vl_gmm_delete(e);
  free(a);
  free(b);
  free(post);
  free(want);
  free(q);
}

/* ---- allocation failures ------------------------------------------------------------ */

/* The sweeps run every call once per allocation site: on SN points (every
 * code path, a fraction of the time, which matters under valgrind). */
enum { SN = 600 };

enum { UNCHANGED = 1, USABLE = 2 };

typedef struct {
  char const *name;
  int cov;
  int after;
  void (*call)(VlGMM *g, VlGMM **out);
} acase;

static void a_set_type(VlGMM *g, VlGMM **o) { (void)o; vl_gmm_set_covariance_type(g, VlGMMFull); }
static void a_copy(VlGMM *g, VlGMM **o) { *o = vl_gmm_new_copy(g); }
static void a_em(VlGMM *g, VlGMM **o) { (void)o; vl_gmm_em(g, CX, SN); }
static void a_labels(VlGMM *g, VlGMM **o) { (void)o; vl_gmm_init_with_labels(g, CX, SN, CLAB); }
static void a_kmeans(VlGMM *g, VlGMM **o) { (void)o; vl_gmm_init_with_kmeans(g, CX, SN, NULL); }
static void a_cluster(VlGMM *g, VlGMM **o)
{
  (void)o;
  vl_gmm_set_num_repetitions(g, 2);
  vl_gmm_cluster(g, CX, SN);
}
static void a_estep(VlGMM *g, VlGMM **o)
{
  static double ll[SN];
  (void)o;
  vl_gmm_estep(g, CX, SN, NULL, ll, NULL);
}
static void a_stats(VlGMM *g, VlGMM **o)
{
  static double st[2 * CK + CK * CD + CK * CD * CD + 2];
  (void)o;
  memset(st, 0, sizeof st);
  vl_gmm_stats_accumulate(g, st, CX, SN, NULL, NULL, 0);
}
static acase const CASES[] = {
    {"vl_gmm_set_covariance_type", VlGMMDiagonal, UNCHANGED, a_set_type},
    {"vl_gmm_new_copy (full)", VlGMMFull, UNCHANGED, a_copy},
    {"vl_gmm_em (full)", VlGMMFull, USABLE, a_em},
    {"vl_gmm_em (tied)", VlGMMTied, USABLE, a_em},
    {"vl_gmm_em (spherical)", VlGMMSpherical, USABLE, a_em},
    {"vl_gmm_em (diagonal, exact)", VlGMMDiagonal, USABLE, a_em},
    {"vl_gmm_init_with_labels (full)", VlGMMFull, USABLE, a_labels},
    {"vl_gmm_init_with_labels (tied)", VlGMMTied, USABLE, a_labels},
    {"vl_gmm_init_with_kmeans (full)", VlGMMFull, USABLE, a_kmeans},
    {"vl_gmm_cluster (tied, rand, 2 repetitions)", VlGMMTied, USABLE, a_cluster},
    {"vl_gmm_estep (full)", VlGMMFull, UNCHANGED, a_estep},
    {"vl_gmm_stats_accumulate (full)", VlGMMFull, UNCHANGED, a_stats},
    {"vl_gmm_stats_accumulate (tied)", VlGMMTied, UNCHANGED, a_stats},
};

/* vl_gmm_mstep_from_stats (full): the failure is injected in the M-step only. */
static void sweep_mstep(void)
{
  static double st[2 * CK + CK * CD + CK * CD * CD + 2];
  VlGMM *g = labelled_gmm_n(VL_TYPE_DOUBLE, VlGMMFull, 1e-3, SN);
  long n, sites = 0;
  vl_gmm_stats_accumulate(g, st, CX, SN, NULL, NULL, 0);
  for (n = 1; n < 1000; ++n) {
    snap before, after;
    long used, c0;
    int err;
    take(g, &before);
    c0 = gmm_alloc_count();
    gmm_alloc_fail_after(n);
    vl_gmm_mstep_from_stats(g, st, NULL);
    err = vl_get_last_error();
    gmm_alloc_fail_after(0);
    used = gmm_alloc_count() - c0;
    if (used < n) {
      CHECK(err == VL_ERR_OK);
      break;
    }
    ++sites;
    take(g, &after);
    CHECK_MSG(err == VL_ERR_ALLOC, "mstep_from_stats: allocation %ld: error %d", n, err);
    CHECK(memcmp(&before, &after, sizeof before) == 0);
  }
  CHECK(sites > 0);
  vl_gmm_delete(g);
}

static long sweep(acase const *ac, int threads)
{
  long n, sites = 0;
  vl_set_num_threads((vl_size)threads);
  for (n = 1; n < 100000; ++n) {
    VlGMM *g = labelled_gmm_n(VL_TYPE_DOUBLE, ac->cov, 1e-3, SN), *out = NULL;
    snap before, after;
    long used, c0;
    int err;
    char msg[VL_ERR_MSG_LEN];
    vl_gmm_set_max_num_iterations(g, 3);
    take(g, &before);
    vl_rand_seed(vl_get_rand(), 3);
    c0 = gmm_alloc_count();
    gmm_alloc_fail_after(n);
    ac->call(g, &out);
    err = vl_get_last_error();
    strcpy(msg, vl_get_last_error_message());
    gmm_alloc_fail_after(0);
    used = gmm_alloc_count() - c0;
    vl_gmm_delete(out);
    if (used < n) { /* the call ran to the end without reaching failure n */
      CHECK_MSG(err == VL_ERR_OK, "%s: error %d (%s) without an injected failure", ac->name, err,
                msg);
      vl_gmm_delete(g);
      break;
    }
    ++sites;
    CHECK_MSG(err == VL_ERR_ALLOC && strstr(msg, "could not allocate"),
              "%s (%d threads): allocation %ld: error %d (%s)", ac->name, threads, n, err, msg);
    take(g, &after);
    if (ac->after & UNCHANGED)
      CHECK_MSG(memcmp(&before, &after, sizeof before) == 0, "%s: changed by failure %ld",
                ac->name, n);
    { /* usable: finite parameters, and it trains */
      int ok = 1;
      for (int j = 0; j < CK * CD; ++j) ok &= isfinite(after.means[j]);
      for (int k = 0; k < CK; ++k) ok &= isfinite(after.priors[k]) && after.priors[k] >= 0;
      CHECK_MSG(ok, "%s: non-finite parameters after failure %ld", ac->name, n);
      vl_gmm_init_with_labels(g, CX, SN, CLAB);
      CHECK(isfinite(vl_gmm_em(g, CX, SN)) && vl_get_last_error() == VL_ERR_OK);
    }
    vl_gmm_delete(g);
  }
  CHECK_MSG(sites > 0 && n < 100000, "%s: %ld sites", ac->name, sites);
  vl_set_num_threads(0);
  return sites;
}

int main(void)
{
  char const *quick = getenv("GMM_TEST_QUICK");
  g_quick = quick && *quick && strcmp(quick, "0") != 0;
  make_cov_data();
  vl_set_printf_func(NULL);
  for (int ti = 0; ti < 2; ++ti)
    for (int cov = 0; cov < 4; ++cov) {
      check_threads(TYPES[ti], cov);
      check_stats(TYPES[ti], cov);
    }
  for (size_t j = 0; j < sizeof CASES / sizeof CASES[0]; ++j) {
    long const s1 = sweep(&CASES[j], 1), s3 = sweep(&CASES[j], 3);
    printf("  %-44s %3ld / %3ld allocation sites (1 / 3 threads)\n", CASES[j].name, s1, s3);
  }
  sweep_mstep();
  TEST_EXIT();
}
