// consumer.cpp: a C++17 program that uses libgmm only through its installed
// public headers and shared library (the headers carry extern "C").
//
//   consumer_cpp [EXPECTED_LIBDIR [EXPECTED_VERSION]]
//
// Same arguments and exit status as consumer.c.
#include <vl/libgmm.h>
#include <vl/fisher.h>
#include <vl/gmm.h>
#include <vl/kmeans.h>
#include <vl/vlad.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr vl_size D = 4, K = 3, PER = 120, N = K * PER;

int failures = 0;

void expect(bool ok, char const *what, int line)
{
  if (!ok) {
    std::fprintf(stderr, "consumer.cpp:%d: FAILED: %s (last error %d: %s)\n", line, what,
                 vl_get_last_error(), vl_get_last_error_message());
    ++failures;
  }
}
#define EXPECT(cond) expect((cond), #cond, __LINE__)

// RAII ownership of the opaque objects.
struct GmmDeleter {
  void operator()(VlGMM *g) const noexcept { vl_gmm_delete(g); }
};
struct KMeansDeleter {
  void operator()(VlKMeans *k) const noexcept { vl_kmeans_delete(k); }
};
using GmmPtr = std::unique_ptr<VlGMM, GmmDeleter>;
using KMeansPtr = std::unique_ptr<VlKMeans, KMeansDeleter>;

double sqdist(double const *a, double const *b)
{
  double s = 0;
  for (vl_size d = 0; d < D; ++d) s += (a[d] - b[d]) * (a[d] - b[d]);
  return s;
}

void check_loaded_from(std::string const &libdir)
{
  std::ifstream maps("/proc/self/maps");
  if (!maps) {
    std::printf("consumer.cpp: no /proc/self/maps, load path not checked here\n");
    return;
  }
  std::string line, first;
  bool bad = false;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos || line.find("/libgmm.so", slash) == std::string::npos)
      continue;
    std::string path = line.substr(slash);
    if (first.empty()) {
      first = path;
      std::printf("consumer.cpp: libgmm mapped from %s\n", path.c_str());
    }
    if (path.rfind(libdir + "/libgmm.so.", 0) != 0) bad = true;
  }
  EXPECT(!first.empty());
  if (bad) {
    std::fprintf(stderr, "consumer.cpp: FAILED: libgmm mapped from %s, expected %s/libgmm.so.*\n",
                 first.c_str(), libdir.c_str());
    ++failures;
  }
}

}  // namespace

int main(int argc, char **argv)
{
  if (argc > 1 && std::string(argv[1]) != "-") check_loaded_from(argv[1]);

  // Versions: header, library, build system.
  EXPECT(std::string(vl_get_version_string()) == LIBGMM_VERSION_STRING);
  EXPECT(std::to_string(LIBGMM_VERSION_MAJOR) + "." + std::to_string(LIBGMM_VERSION_MINOR) + "." +
             std::to_string(LIBGMM_VERSION_PATCH) ==
         LIBGMM_VERSION_STRING);
  EXPECT(vl_get_abi_version() == LIBGMM_ABI_VERSION);
  if (argc > 2) EXPECT(std::string(vl_get_version_string()) == argv[2]);

  // Error path: a bad data type gives NULL and VL_ERR_BAD_ARG.
  EXPECT(vl_gmm_new(VL_TYPE_UINT8, D, K) == nullptr);
  EXPECT(vl_get_last_error() == VL_ERR_BAD_ARG);
  EXPECT(std::strlen(vl_get_last_error_message()) > 0);
  EXPECT(vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceChi2) == nullptr);
  EXPECT(vl_get_last_error() == VL_ERR_BAD_ARG);

  // Data: three blobs in D dimensions, double precision.
  std::array<std::array<double, D>, K> truth{{{-5, 0, 5, 0}, {0, 5, 0, -5}, {5, -5, 0, 5}}};
  std::mt19937_64 gen(12345);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> data(N * D);
  for (vl_size c = 0; c < K; ++c)
    for (vl_size i = 0; i < PER; ++i)
      for (vl_size d = 0; d < D; ++d) data[(c * PER + i) * D + d] = truth[c][d] + noise(gen);

  // GMM (k-means initialisation, several repetitions), means near the truth.
  GmmPtr gmm(vl_gmm_new(VL_TYPE_DOUBLE, D, K));
  EXPECT(gmm != nullptr);
  if (!gmm) return 1;
  vl_gmm_set_initialization(gmm.get(), VlGMMKMeans);
  vl_gmm_set_num_repetitions(gmm.get(), 2);
  vl_rand_seed(vl_get_rand(), 3);
  double ll = vl_gmm_cluster(gmm.get(), data.data(), N);
  EXPECT(ll == ll && vl_get_last_error() == VL_ERR_OK);
  auto means = static_cast<double const *>(vl_gmm_get_means(gmm.get()));
  auto covs = static_cast<double const *>(vl_gmm_get_covariances(gmm.get()));
  auto priors = static_cast<double const *>(vl_gmm_get_priors(gmm.get()));
  auto post = static_cast<double const *>(vl_gmm_get_posteriors(gmm.get()));
  EXPECT(means && covs && priors && post);
  if (!means || !covs || !priors || !post) return 1;
  std::array<bool, K> used{};
  for (vl_size c = 0; c < K; ++c) {
    vl_size best = 0;
    for (vl_size k = 1; k < K; ++k)
      if (sqdist(means + k * D, truth[c].data()) < sqdist(means + best * D, truth[c].data()))
        best = k;
    EXPECT(sqdist(means + best * D, truth[c].data()) < 0.25);
    EXPECT(!used[best]);
    used[best] = true;
  }
  // Posteriors: N x K, rows sum to 1.
  vl_size bad_rows = 0;
  for (vl_size i = 0; i < N; ++i) {
    double s = 0;
    for (vl_size k = 0; k < K; ++k) s += post[i * K + k];
    bad_rows += !(s > 1 - 1e-9 && s < 1 + 1e-9);
  }
  EXPECT(bad_rows == 0);
  // The same without stored posteriors: identical means.
  {
    GmmPtr lean(vl_gmm_new(VL_TYPE_DOUBLE, D, K));
    vl_gmm_set_initialization(lean.get(), VlGMMKMeans);
    vl_gmm_set_num_repetitions(lean.get(), 2);
    vl_gmm_set_store_posteriors(lean.get(), VL_FALSE);
    vl_rand_seed(vl_get_rand(), 3);
    EXPECT(vl_gmm_cluster(lean.get(), data.data(), N) == ll);
    EXPECT(vl_gmm_get_posteriors(lean.get()) == nullptr);
    EXPECT(std::memcmp(vl_gmm_get_means(lean.get()), means, K * D * sizeof(double)) == 0);
  }

  // Fisher vector: improved => unit L2 norm.
  std::vector<double> fv(2 * K * D);
  vl_size terms = vl_fisher_encode(fv.data(), VL_TYPE_DOUBLE, means, D, K, covs, priors,
                                   data.data(), N, VL_FISHER_FLAG_IMPROVED);
  EXPECT(terms > 0 && vl_get_last_error() == VL_ERR_OK);
  double n2 = 0;
  for (double v : fv) n2 += v * v;
  EXPECT(n2 > 1 - 1e-12 && n2 < 1 + 1e-12);

  // VLAD with hard assignments from the batch encoder: unit norm too.
  std::vector<double> vlad(K * D);
  vl_size const offsets[2] = {0, N};
  EXPECT(vl_vlad_encode_batch(vlad.data(), VL_TYPE_DOUBLE, means, D, K, data.data(), offsets, 1,
                              nullptr, 0) == VL_ERR_OK);
  n2 = 0;
  for (double v : vlad) n2 += v * v;
  EXPECT(n2 > 1 - 1e-12 && n2 < 1 + 1e-12);

  // k-means and quantization (exact, and the VLFeat upper-case ANN name).
  KMeansPtr km(vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2));
  EXPECT(km != nullptr);
  if (!km) return 1;
  vl_kmeans_set_algorithm(km.get(), VlKMeansLloyd);
  vl_kmeans_set_initialization(km.get(), VlKMeansPlusPlus);
  vl_kmeans_set_num_repetitions(km.get(), 3);
  vl_rand_seed(vl_get_rand(), 11);
  double energy = vl_kmeans_cluster(km.get(), data.data(), D, N, K);
  EXPECT(energy == energy && energy > 0);
  std::vector<vl_uint32> exact(N), ann(N);
  std::vector<double> dist(N);
  vl_kmeans_quantize(km.get(), exact.data(), dist.data(), data.data(), N);
  EXPECT(vl_get_last_error() == VL_ERR_OK);
  vl_kmeans_quantize_ANN(km.get(), ann.data(), nullptr, data.data(), N, VL_FALSE);
  EXPECT(vl_get_last_error() == VL_ERR_OK);
  std::array<vl_uint32, K> label{};
  vl_size strays = 0;
  for (vl_size c = 0; c < K; ++c) {
    label[c] = exact[c * PER];
    for (vl_size i = 0; i < PER; ++i) strays += exact[c * PER + i] != label[c];
  }
  EXPECT(strays == 0);
  EXPECT(label[0] != label[1] && label[1] != label[2] && label[0] != label[2]);
  vl_size agree = 0;
  for (vl_size i = 0; i < N; ++i) agree += ann[i] == exact[i];
  EXPECT(agree >= N * 9 / 10);

  if (failures) {
    std::fprintf(stderr, "consumer.cpp: %d check(s) failed\n", failures);
    return 1;
  }
  std::printf("consumer.cpp: OK (libgmm %s, ABI %d)\n", vl_get_version_string(),
              vl_get_abi_version());
  return 0;
}
