/* test_threads.c: libgmm's thread pool (core/sched.c).
 *
 *   test_threads          the scheduler's contract, bit-identical results of
 *                         every entry point for 1, 2, 3 and 8 threads, many
 *                         caller threads at once, fork() during and after use
 *                         (GMM_TEST_QUICK: 1500 points, fork after use only;
 *                         no fork() on Windows)
 *   test_threads nothread every thread creation fails: the same results, on
 *                         the calling thread alone, and no error
 *
 * Every result is compared bit for bit with the one-thread result of the
 * same process. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_* (Linux) */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#if !defined(_WIN32)
#  include <sys/wait.h>
#  include <unistd.h>
#endif

#include "test_util.h"
#include "core/sched.h"
#include "util/thread.h"
#include "vl/libgmm.h"

/* ---- the scheduler's contract ---------------------------------------------------------- */

typedef struct {
  atomic_int *count;
  int bound;
  atomic_int bad_worker;
} count_job;

static void count_item(void *ctx, size_t item, int worker)
{
  count_job *j = ctx;
  atomic_fetch_add(&j->count[item], 1);
  if (worker < 0 || worker >= j->bound) atomic_store(&j->bad_worker, 1);
}

static void test_contract(void)
{
  static size_t const ns[] = {0, 1, 2, 3, 7, 64, 1000, 5000};
  static int const nts[] = {1, 2, 3, 8};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; ++a)
    for (size_t b = 0; b < sizeof nts / sizeof nts[0]; ++b) {
      size_t const n = ns[a];
      count_job j;
      j.count = calloc(n ? n : 1, sizeof *j.count);
      j.bound = gmm_workers(n, nts[b]);
      atomic_init(&j.bad_worker, 0);
      gmm_run(n, nts[b], count_item, &j);
      for (size_t i = 0; i < n; ++i) CHECK_MSG(j.count[i] == 1, "n %zu threads %d item %zu ran %d times", n, nts[b], i, (int)j.count[i]);
      CHECK(!atomic_load(&j.bad_worker));
      free(j.count);
    }
}

/* ---- a workload touching every parallel entry point ---------------------------------- */

#define NMAX 6000
#define D 13
#define K 24
#define IMAGES 5

typedef struct {
  unsigned char *bytes;
  size_t len, cap;
} digest;

static void put(digest *g, void const *p, size_t n)
{
  if (g->len + n > g->cap) {
    g->cap = 2 * (g->len + n);
    g->bytes = realloc(g->bytes, g->cap);
  }
  memcpy(g->bytes + g->len, p, n);
  g->len += n;
}

static float g_x[NMAX * D];
static size_t N = NMAX; /* GMM_TEST_QUICK (valgrind): 1500 */

static void make_data(void)
{
  test_seed(77);
  for (size_t i = 0; i < N; ++i) {
    size_t const c = (size_t)(test_uniform() * 7);
    for (size_t d = 0; d < D; ++d) g_x[i * D + d] = (float)(3.0 * (double)((c * 7 + d) % 5) + test_normal());
  }
}

/* Everything computed with `threads` threads, appended to g. */
static void workload(int threads, digest *g)
{
  vl_size const offsets[IMAGES + 1] = {0, N / 60, N * 17 / 60, N * 17 / 60, N * 2 / 3, N};
  size_t const nstats = 2 * K + 2 * K * D + 2;
  float *post = malloc(N * K * sizeof *post), *enc = malloc(IMAGES * 2 * K * D * sizeof *enc);
  float *dist = malloc(N * sizeof *dist);
  double *ll = malloc(N * sizeof *ll), *stats = calloc(nstats, sizeof *stats);
  vl_uint32 *labels = malloc(N * sizeof *labels);
  VlGMM *gmm = vl_gmm_new(VL_TYPE_FLOAT, D, K);
  double v;

  vl_set_num_threads((vl_size)threads);
  /* EM from k-means++ (rand) and from k-means (ANN) initialisations */
  vl_rand_seed(vl_get_rand(), 5);
  vl_gmm_set_max_num_iterations(gmm, 20);
  v = vl_gmm_cluster(gmm, g_x, N);
  put(g, &v, sizeof v);
  put(g, vl_gmm_get_means(gmm), K * D * sizeof(float));
  put(g, vl_gmm_get_covariances(gmm), K * D * sizeof(float));
  put(g, vl_gmm_get_posteriors(gmm), (size_t)N * K * sizeof(float));
  {
    VlGMM *g2 = vl_gmm_new(VL_TYPE_FLOAT, D, K);
    vl_gmm_set_initialization(g2, VlGMMKMeans);
    vl_gmm_set_max_num_iterations(g2, 5);
    v = vl_gmm_cluster(g2, g_x, N);
    put(g, &v, sizeof v);
    put(g, vl_gmm_get_means(g2), K * D * sizeof(float));
    vl_gmm_delete(g2);
  }
  /* E-steps: the object's, the stateless one, the statistics API */
  v = vl_gmm_estep(gmm, g_x, N, post, ll, labels);
  put(g, &v, sizeof v);
  put(g, post, (size_t)N * K * sizeof(float));
  put(g, ll, N * sizeof(double));
  put(g, labels, N * sizeof(vl_uint32));
  v = vl_get_gmm_data_posteriors_f(post, K, N, vl_gmm_get_priors(gmm), vl_gmm_get_means(gmm), D,
                                   vl_gmm_get_covariances(gmm), g_x);
  put(g, &v, sizeof v);
  put(g, post, (size_t)N * K * sizeof(float));
  CHECK(vl_gmm_stats_accumulate(gmm, stats, g_x, N, NULL, NULL, 0) == 0);
  put(g, stats, nstats * sizeof(double));
  /* encoders, single and batch */
  put(g, &(vl_size){vl_fisher_encode(enc, VL_TYPE_FLOAT, vl_gmm_get_means(gmm), D, K,
                                     vl_gmm_get_covariances(gmm), vl_gmm_get_priors(gmm), g_x, N,
                                     VL_FISHER_FLAG_IMPROVED)}, sizeof(vl_size));
  put(g, enc, 2 * K * D * sizeof(float));
  CHECK(vl_fisher_encode_batch(enc, VL_TYPE_FLOAT, vl_gmm_get_means(gmm), D, K,
                               vl_gmm_get_covariances(gmm), vl_gmm_get_priors(gmm), g_x, offsets,
                               IMAGES, VL_FISHER_FLAG_IMPROVED, NULL) == 0);
  put(g, enc, IMAGES * 2 * K * D * sizeof(float));
  vl_vlad_encode(enc, VL_TYPE_FLOAT, vl_gmm_get_means(gmm), D, K, g_x, N, post, 0);
  put(g, enc, K * D * sizeof(float));
  CHECK(vl_vlad_encode_batch(enc, VL_TYPE_FLOAT, vl_gmm_get_means(gmm), D, K, g_x, offsets, IMAGES,
                             NULL, 0) == 0);
  put(g, enc, IMAGES * K * D * sizeof(float));
  CHECK(vl_bovw_encode(enc, VL_TYPE_FLOAT, vl_gmm_get_means(gmm), D, K, g_x, N, 2.0,
                       VL_BOVW_FLAG_SOFT) == 0);
  put(g, enc, K * sizeof(float));
  CHECK(vl_bovw_encode_batch(enc, VL_TYPE_FLOAT, vl_gmm_get_means(gmm), D, K, g_x, offsets,
                             IMAGES, 0.0, 0) == 0);
  put(g, enc, IMAGES * K * sizeof(float));
  CHECK(vl_bovw_encode_gmm_batch(enc, VL_TYPE_FLOAT, vl_gmm_get_means(gmm), D, K,
                                 vl_gmm_get_covariances(gmm), vl_gmm_get_priors(gmm), g_x,
                                 offsets, IMAGES, VL_BOVW_FLAG_SOFT) == 0);
  put(g, enc, IMAGES * K * sizeof(float));
  /* k-means: Lloyd, Elkan, ANN, L1; quantization */
  for (int alg = 0; alg < 4; ++alg) {
    VlKMeans *km = vl_kmeans_new(VL_TYPE_FLOAT, alg == 3 ? VlDistanceL1 : VlDistanceL2);
    vl_kmeans_set_algorithm(km, alg == 3 ? VlKMeansLloyd : (VlKMeansAlgorithm)alg);
    vl_kmeans_set_initialization(km, VlKMeansPlusPlus);
    vl_kmeans_set_max_num_iterations(km, 15);
    vl_rand_seed(vl_get_rand(), 9);
    v = vl_kmeans_cluster(km, g_x, D, N, K);
    put(g, &v, sizeof v);
    put(g, vl_kmeans_get_centers(km), K * D * sizeof(float));
    vl_kmeans_quantize(km, labels, dist, g_x, N);
    put(g, labels, N * sizeof(vl_uint32));
    put(g, dist, N * sizeof(float));
    vl_kmeans_quantize_ann(km, labels, dist, g_x, N, 0);
    put(g, labels, N * sizeof(vl_uint32));
    vl_kmeans_delete(km);
  }
  CHECK_MSG(vl_get_last_error() == 0, "%s", vl_get_last_error_message());
  vl_gmm_delete(gmm);
  free(post);
  free(enc);
  free(dist);
  free(ll);
  free(stats);
  free(labels);
}

static digest g_ref;

static int same_as_ref(digest const *g) { return g->len == g_ref.len && !memcmp(g->bytes, g_ref.bytes, g->len); }

static void test_thread_counts(void)
{
  static int const nts[] = {2, 3, 8, 1};
  for (size_t b = 0; b < sizeof nts / sizeof nts[0]; ++b) {
    digest g = {0};
    workload(nts[b], &g);
    CHECK_MSG(same_as_ref(&g), "%d threads: results differ from 1 thread", nts[b]);
    free(g.bytes);
  }
}

/* ---- many caller threads at once --------------------------------------------------------- */

static atomic_int g_mismatch;

static void *caller(void *arg)
{
  digest g = {0};
  (void)arg;
  workload(2, &g);
  if (!same_as_ref(&g)) atomic_store(&g_mismatch, 1);
  free(g.bytes);
  return NULL;
}

static void test_callers(void)
{
  pthread_t th[6];
  atomic_store(&g_mismatch, 0);
  for (int i = 0; i < 6; ++i) CHECK(pthread_create(&th[i], NULL, caller, NULL) == 0);
  for (int i = 0; i < 6; ++i) pthread_join(th[i], NULL);
  CHECK_MSG(!atomic_load(&g_mismatch), "a caller thread got other results");
}

/* ---- fork ---------------------------------------------------------------------------------- */

/* ---- moving a woken worker off the caller's processor (Linux) ------------------------- */

#if defined(__linux__)
#include <dirent.h>
#include <sched.h>
#include <sys/types.h>
#include <time.h>

/* gmm_thread_leave_cpu moves the calling thread to another processor and
 * leaves its allowed set as it was; with a single allowed processor it does
 * nothing. Run on a thread of its own (its affinity is changed). */
static void *leave_cpu_thread(void *arg)
{
  cpu_set_t before, after, one;
  int const cpu = gmm_current_cpu();
  (void)arg;
  CHECK(cpu >= 0);
  CHECK(sched_getaffinity(0, sizeof before, &before) == 0);
  gmm_thread_leave_cpu(cpu);
  CHECK(sched_getaffinity(0, sizeof after, &after) == 0);
  CHECK_MSG(CPU_EQUAL(&before, &after), "the allowed set changed");
  if (CPU_COUNT(&before) >= 2) CHECK_MSG(gmm_current_cpu() != cpu, "still on processor %d", cpu);
  CPU_ZERO(&one);
  CPU_SET(gmm_current_cpu(), &one);
  CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
  gmm_thread_leave_cpu(gmm_current_cpu());
  CHECK(sched_getaffinity(0, sizeof after, &after) == 0);
  CHECK_MSG(CPU_EQUAL(&one, &after), "a single allowed processor was changed");
  return NULL;
}

/* The number of threads of the process (the pool's workers included) whose
 * allowed set differs from `want` (*seen: the threads read), or -1. */
static int threads_not_allowed(cpu_set_t const *want, int *seen)
{
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int bad = 0;
  *seen = 0;
  if (!d) return -1;
  while ((e = readdir(d))) {
    cpu_set_t set;
    pid_t const tid = (pid_t)atoi(e->d_name);
    if (tid <= 0 || sched_getaffinity(tid, sizeof set, &set) != 0) continue;
    bad += !CPU_EQUAL(&set, want);
    ++*seen;
  }
  closedir(d);
  return bad;
}

/* Every thread allowed on the same processors as the main thread. A worker
 * that woke late may be moving right now (its set narrowed for an instant):
 * the sets must all be back within a second. */
static void check_all_threads_allowed(cpu_set_t const *want)
{
  int bad = -1, seen = 0;
  for (int tries = 0; tries < 100 && bad != 0; ++tries) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    if (tries) nanosleep(&ts, NULL);
    bad = threads_not_allowed(want, &seen);
  }
  CHECK_MSG(bad == 0, "%d of %d threads: allowed set changed", bad, seen);
  CHECK(seen >= 2);
}

static void test_leave_cpu(void)
{
  pthread_t th;
  cpu_set_t mine;
  static atomic_int count[64];
  count_job j;
  CHECK(pthread_create(&th, NULL, leave_cpu_thread, NULL) == 0);
  pthread_join(th, NULL);
  /* the pool's workers asleep, then woken (and maybe moved) by a loop */
  CHECK(sched_getaffinity(0, sizeof mine, &mine) == 0);
  for (int round = 0; round < 5; ++round) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    for (int i = 0; i < 64; ++i) atomic_store(&count[i], 0);
    j.count = count;
    j.bound = 2;
    atomic_init(&j.bad_worker, 0);
    gmm_run(64, 2, count_item, &j);
    for (int i = 0; i < 64; ++i) CHECK(atomic_load(&count[i]) == 1);
  }
  check_all_threads_allowed(&mine);
}
#else
static void test_leave_cpu(void) { printf("leave_cpu: Linux only\n"); }
#endif

#if defined(_WIN32)
static void test_fork(void) { printf("fork: none on Windows\n"); }
#else

static atomic_int g_stop;

static void *busy(void *arg)
{
  (void)arg;
  while (!atomic_load(&g_stop)) {
    digest g = {0};
    workload(2, &g);
    free(g.bytes);
  }
  return NULL;
}

/* fork() now; the child computes the workload with `threads` threads and
 * exits 0 if it matches (a hang is killed by the alarm). */
static void fork_and_check(int threads, char const *when)
{
  pid_t pid = fork();
  int status = 0;
  if (pid == 0) {
    digest g = {0};
    alarm(120);
    workload(threads, &g);
    _exit(same_as_ref(&g) ? 0 : 3);
  }
  CHECK(pid > 0);
  if (pid <= 0) return;
  waitpid(pid, &status, 0);
  CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child (%s, %d threads): %s %d", when,
            threads, WIFEXITED(status) ? "exit" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void test_fork(void)
{
  pthread_t th;
  fork_and_check(2, "after 2-thread use");
  fork_and_check(1, "after 2-thread use");
  /* Another thread inside libgmm while this one forks. Not under
   * GMM_TEST_QUICK (valgrind): memcheck reports, as leaks of the child, the
   * blocks of that thread (which does not exist in the child) and fails the
   * child; ASan and TSan run this part. */
  if (getenv("GMM_TEST_QUICK")) return;
  atomic_store(&g_stop, 0);
  CHECK(pthread_create(&th, NULL, busy, NULL) == 0);
  for (int i = 0; i < 3; ++i) fork_and_check(2, "while another thread computes");
  atomic_store(&g_stop, 1);
  pthread_join(th, NULL);
}
#endif

int main(int argc, char **argv)
{
  int const nothread = argc > 1 && !strcmp(argv[1], "nothread");
  if (getenv("GMM_TEST_QUICK")) N = 1500;
  make_data();
  if (nothread) gmm_thread_fail_next(1 << 30);
  test_contract();
  workload(1, &g_ref);
  if (nothread) {
    digest g = {0};
    workload(8, &g);
    CHECK_MSG(same_as_ref(&g), "8 threads requested, none could start: results differ");
    CHECK(gmm_pool_workers() == 0);
    free(g.bytes);
    free(g_ref.bytes);
    TEST_EXIT();
  }
  test_thread_counts();
  CHECK(gmm_pool_workers() >= 7);
  test_callers();
  test_leave_cpu();
  test_fork();
  free(g_ref.bytes);
  TEST_EXIT();
}
