"""Out-of-core training (pyvl/_training/): GaussianMixture and KMeans on a
memmap, lists of chunks, re-iterables and callables give the in-memory
result for the same initialisation (restarts of empty components included);
the sampling initialisation; bounded memory on a memmap much larger than a
chunk; errors and Ctrl-C."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from helpers import VLFEAT, assert_allclose_scaled, mixture_data, sigint_at_log
from sklearn.exceptions import ConvergenceWarning

import pyvl
from pyvl._training import data as _chunked

#: VLFeat's GMM (diagonal, VLFeat's EM with its restarts), which these tests check;
#: tests/test_gaussian_mixture_sklearn.py checks scikit-learn's EM on chunks and Dask.
N, D, K = 3000, 6, 5


def data(dtype=np.float64, n=N, seed=0):
    return mixture_data(n, D, K, dtype, seed=seed, spread=4.0)


def far_init(X):
    """Component 0 starts far from all data: it empties and is restarted."""
    m0 = X[:K].astype(np.float64)
    m0[0] = 1e3
    return dict(means_init=m0, weights_init=np.full(K, 1.0 / K),
                precisions_init=np.ones((K, D)))


def split(X, size):
    return [X[i : i + size] for i in range(0, len(X), size)]


def fit_quiet(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


RTOL = {np.float32: 1e-5, np.float64: 1e-9}


# ---- GaussianMixture: chunked == in-memory ----------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [3, 100, 1000, N])
def test_gmm_chunked_equals_in_memory_with_restarts(dtype, chunk):
    X = data(dtype)
    kw = dict(far_init(X), tol=0.0, max_iter=30)
    ref = fit_quiet(pyvl.GaussianMixture(K, **kw, **VLFEAT), X)
    assert ref.means_[0, 0] < 100  # component 0 was restarted
    # one libgmm thread: on 3-point chunks, OpenMP's per-call cost would dominate
    got = fit_quiet(pyvl.GaussianMixture(K, chunk_size=chunk, n_threads=1, **kw, **VLFEAT), [X])
    for name in ("weights_", "means_", "covariances_"):
        assert getattr(got, name).dtype == dtype
        assert_allclose_scaled(getattr(got, name), getattr(ref, name), RTOL[dtype])
    assert got.n_iter_ == ref.n_iter_ == 30 and not got.converged_
    assert got.lower_bound_ == pytest.approx(ref.lower_bound_, rel=RTOL[dtype])
    assert_allclose_scaled(got.lower_bounds_, ref.lower_bounds_, RTOL[dtype])
    assert got.n_features_in_ == D


def test_gmm_chunked_convergence_test_is_in_memory_tol():
    X = data()
    kw = dict(far_init(X), tol=1e-4, max_iter=500)
    ref = pyvl.GaussianMixture(K, **kw, **VLFEAT).fit(X)
    got = pyvl.GaussianMixture(K, chunk_size=700, **kw, **VLFEAT).fit([X])
    assert ref.converged_ and got.converged_
    assert got.n_iter_ == ref.n_iter_ < 500
    assert_allclose_scaled(got.means_, ref.means_, 1e-9)


def memmap_of(X, tmp_path, name="x.dat"):
    path = tmp_path / name
    X.tofile(path)
    return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)


class Reiterable:
    def __init__(self, X, size):
        self.X, self.size = X, size

    def __iter__(self):
        return iter(split(self.X, self.size))


def test_every_kind_of_source_gives_the_same_model(tmp_path):
    X = data(np.float32)
    kw = dict(far_init(X), tol=0.0, max_iter=15)
    ref = fit_quiet(pyvl.GaussianMixture(K, chunk_size=256, **kw, **VLFEAT), [X])
    sources = {
        "memmap": memmap_of(X, tmp_path),
        "tuple": tuple(split(X, 1024)),  # pieces of 4 chunks
        "reiterable": Reiterable(X, 512),
        "callable": lambda: iter(split(X, 256)),
    }
    for name, source in sources.items():
        got = fit_quiet(pyvl.GaussianMixture(K, chunk_size=256, **kw, **VLFEAT), source)
        # the same 256-row chunks: the same sums, bit for bit
        np.testing.assert_array_equal(got.means_, ref.means_, err_msg=name)
        np.testing.assert_array_equal(got.covariances_, ref.covariances_, err_msg=name)
        assert got.means_.dtype == np.float32


def test_memmap_chunking_and_dtype_conversion(tmp_path):
    X = data(np.float64)
    mm = memmap_of(X, tmp_path)
    kw = dict(far_init(X), tol=0.0, max_iter=10)
    ref = fit_quiet(pyvl.GaussianMixture(K, dtype=np.float32, **kw, **VLFEAT), X.astype(np.float32))
    got = fit_quiet(pyvl.GaussianMixture(K, dtype=np.float32, chunk_size=333, **kw, **VLFEAT), mm)
    assert got.means_.dtype == np.float32
    assert_allclose_scaled(got.means_, ref.means_, 1e-5)
    # default chunking (about 32 MiB per chunk: all of this memmap at once)
    got = fit_quiet(pyvl.GaussianMixture(K, **kw, **VLFEAT), mm)
    assert got.means_.dtype == np.float64
    ref = fit_quiet(pyvl.GaussianMixture(K, **kw, **VLFEAT), X)
    assert_allclose_scaled(got.means_, ref.means_, 1e-12)


def test_generators_are_refused_with_advice():
    X = data()
    with pytest.raises(TypeError, match="callable returning a fresh iterator"):
        pyvl.GaussianMixture(K, **VLFEAT).fit(c for c in split(X, 100))


def test_fitted_estimator_is_an_ordinary_one():
    X = data()
    got = pyvl.GaussianMixture(K, random_state=0, chunk_size=400, **VLFEAT).fit(split(X, 1000))
    ref = pyvl.GaussianMixture(K, random_state=0, **VLFEAT).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
                 "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_"):
        assert hasattr(got, name)
        assert type(getattr(got, name)) is type(getattr(ref, name))
    np.testing.assert_array_equal(got.predict(X), ref.predict(X))
    assert got.score(X) == pytest.approx(ref.score(X), rel=1e-9)
    labels = pyvl.GaussianMixture(K, random_state=0, **VLFEAT).fit_predict(split(X, 1000))
    np.testing.assert_array_equal(labels, ref.predict(X))


# ---- the sampling initialisation ------------------------------------------------------


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_sample_covering_the_data_gives_the_in_memory_initialisation(init_params):
    X = data()
    kw = dict(init_params=init_params, random_state=3, n_init=2, n_threads=1)
    ref = pyvl.GaussianMixture(K, **kw, **VLFEAT).fit(X)
    got = pyvl.GaussianMixture(K, chunk_size=128, **kw, **VLFEAT).fit([X])
    assert got.n_iter_ == ref.n_iter_
    assert_allclose_scaled(got.means_, ref.means_, 1e-9)
    assert_allclose_scaled(got.weights_, ref.weights_, 1e-9)


def test_sampled_initialisation_on_larger_data():
    X = data(n=30000)
    kw = dict(random_state=0, tol=1e-6, max_iter=300, n_init=4, n_threads=1)
    got = pyvl.GaussianMixture(K, init_sample_size=2000, chunk_size=4096, **kw, **VLFEAT).fit([X])
    ref = pyvl.GaussianMixture(K, **kw, **VLFEAT).fit(X)
    assert got.converged_
    assert got.lower_bound_ > ref.lower_bound_ - 0.01  # as good as initialising on all data
    again = pyvl.GaussianMixture(K, init_sample_size=2000, chunk_size=1000, **kw, **VLFEAT).fit([X])
    assert_allclose_scaled(again.means_, got.means_, 1e-9)  # the sample does not depend on chunking


def test_reservoir_sample():
    X = np.arange(2000, dtype=np.float64).reshape(1000, 2)
    a, n = _chunked.reservoir_sample(_chunked.ChunkSource([X], 7), 50, 11, np.dtype(np.float64))
    b, _ = _chunked.reservoir_sample(_chunked.ChunkSource([X], 1000), 50, 11, np.dtype(np.float64))
    assert n == 1000 and a.shape == (50, 2)
    np.testing.assert_array_equal(a, b)  # independent of the chunk size
    assert len(np.unique(a[:, 0])) == 50  # without replacement
    all_, n = _chunked.reservoir_sample(_chunked.ChunkSource([X], 64), 5000, 1, np.dtype(np.float32))
    assert n == 1000 and all_.dtype == np.float32
    np.testing.assert_array_equal(all_, X.astype(np.float32))  # m >= N: the data, in order
    # uniform: every row is kept with probability m / N
    hits = np.zeros(40)
    Y = np.arange(40, dtype=np.float64)[:, None]
    for seed in range(3000):
        s, _ = _chunked.reservoir_sample(_chunked.ChunkSource([Y], 9), 10, seed, np.dtype(np.float64))
        hits[s[:, 0].astype(int)] += 1
    assert np.all(np.abs(hits / 3000 - 0.25) < 0.04)


# ---- KMeans ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [3, 100, 1000, N])
def test_kmeans_chunked_equals_in_memory(dtype, chunk):
    X = data(dtype)
    init = X[[0, 700, 1400, 2100, 2800]].copy()
    ref = pyvl.KMeans(K, init=init, max_iter=20, tol=0.0).fit(X)
    got = pyvl.KMeans(K, init=init, max_iter=20, tol=0.0, chunk_size=chunk, n_threads=1).fit([X])
    assert got.cluster_centers_.dtype == dtype
    assert_allclose_scaled(got.cluster_centers_, ref.cluster_centers_, RTOL[dtype])
    np.testing.assert_array_equal(got.labels_, ref.labels_)
    assert got.inertia_ == pytest.approx(ref.inertia_, rel=RTOL[dtype])
    assert got.n_iter_ == ref.n_iter_


def test_kmeans_seeding_on_a_sample_covering_the_data():
    X = data()
    for init in ("k-means++", "random"):
        ref = pyvl.KMeans(K, init=init, random_state=5).fit(X)
        got = pyvl.KMeans(K, init=init, random_state=5, chunk_size=250).fit(split(X, 600))
        assert_allclose_scaled(got.cluster_centers_, ref.cluster_centers_, 1e-9)
        assert got.n_iter_ == ref.n_iter_


def test_kmeans_empty_center_is_relocated_as_in_memory():
    X = data()
    init = X[[0, 700, 1400, 2100, 2800]].copy()
    init[0] = 1e3  # no point is nearest to it: relocated to the farthest point
    got = pyvl.KMeans(K, init=init, max_iter=10, chunk_size=500).fit([X])
    ref = pyvl.KMeans(K, init=init, max_iter=10).fit(X)
    assert np.abs(ref.cluster_centers_[0]).max() < 100
    assert_allclose_scaled(got.cluster_centers_, ref.cluster_centers_, 1e-9)
    np.testing.assert_array_equal(got.labels_, ref.labels_)
    assert got.n_iter_ == ref.n_iter_ and np.any(got.labels_ == 0)


# ---- errors, Ctrl-C ----------------------------------------------------------------------


def test_bad_chunks():
    X = data()
    with pytest.raises(ValueError, match="rows, 6"):
        pyvl.GaussianMixture(K, **VLFEAT).fit([X, X[:, :4]])
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        pyvl.GaussianMixture(K, **VLFEAT).fit([X[:3]])
    with pytest.raises(ValueError, match="n_clusters"):
        pyvl.KMeans(K).fit([X[:3]])
    bad = X.copy()
    bad[1500, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pyvl.GaussianMixture(K, **far_init(X), **VLFEAT).fit(split(bad, 1000))
    with pytest.raises(ValueError, match="chunk_size"):
        pyvl.GaussianMixture(K, chunk_size=0, **VLFEAT).fit([X])


def test_ctrl_c_stops_a_chunked_fit_with_a_valid_model():
    """SIGINT sent from the log record of iteration 3 (not after a delay: on a busy
    machine the first pass may not be over by then): the fit stops within one pass."""
    X = mixture_data(100000, 16, 32, np.float32, seed=1)

    g = pyvl.GaussianMixture(32, init_params="k-means++", tol=0.0, max_iter=10000,
                             random_state=0, chunk_size=5000, **VLFEAT)
    with sigint_at_log("iteration 3:"), pytest.raises(KeyboardInterrupt):
        g.fit(lambda: iter(split(X, 20000)))
    # the pass of iteration 3 is complete when its record is logged; the model kept is
    # that of the last iteration reported before the interrupt (2), or of 3
    assert g.n_iter_ in (2, 3)
    assert np.all(np.isfinite(g.means_)) and g.weights_.sum() == pytest.approx(1, abs=1e-5)
    g.predict(X[:10])


# ---- memory: a memmap much larger than a chunk --------------------------------------------

# A 400 MiB float32 memmap (1,638,400 x 64) fitted with 4 MiB chunks (16,384
# rows), K = 16, the "kmeans" initialisation on the default 10,000-row sample,
# 3 EM iterations. What may be resident beyond the imports: one chunk (4 MiB:
# the memmap's pages, read in place, then dropped), libgmm's E-step workspace
# and slab statistics (< 1 MiB at K = 16, D = 64), the sample (2.5 MiB) and
# the in-memory k-means/EM initialisation on it (a few MiB), OpenMP thread
# stacks and allocator slack: about 20 MiB. The bound, 60 MiB, is 15 chunks,
# and 7x below the 400 MiB a pass would leave resident if pages were kept.
#
# The peak is the kernel's high-water mark of this process' resident set
# (VmHWM), reset after the imports. ru_maxrss cannot be used: on Linux it is
# at least the peak of the process that forked the probe (the pytest process,
# often > 200 MiB), which exec does not reset; it is reported for information.
MEMORY_PROBE = textwrap.dedent(
    """
    import json, resource, sys, warnings
    import numpy as np
    import pyvl, pyvl.estimators
    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0  # MiB
    def maxrss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    path, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, d))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the high-water mark to the current resident set
    base, base_maxrss = status("VmRSS"), maxrss()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = pyvl.GaussianMixture(16, max_iter=3, random_state=0, chunk_size=16384, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(X)
    print(json.dumps({"base": base, "peak": status("VmHWM"), "base_maxrss": base_maxrss,
                      "maxrss": maxrss(), "ll": g.lower_bound_}))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self and madvise")
def test_memmap_fit_memory_stays_bounded(tmp_path):
    n, d = 1638400, 64  # 400 MiB of float32
    path = tmp_path / "big.dat"
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(16, d)).astype(np.float32) * 3
    with open(path, "wb") as f:
        for i in range(0, n, 65536):
            rows = min(65536, n - i)
            block = centers[rng.integers(0, 16, rows)] + rng.normal(size=(rows, d)).astype(np.float32)
            f.write(block.astype(np.float32).tobytes())
    assert os.path.getsize(path) == n * d * 4
    env = os.environ.copy()
    here = os.path.dirname(os.path.dirname(os.path.abspath(pyvl.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path), str(n), str(d)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert np.isfinite(out["ll"])
    grown = out["peak"] - out["base"]
    print(f"peak RSS above baseline: {grown:.1f} MiB ({out})")
    assert grown < 60, out
    assert out["maxrss"] - out["base_maxrss"] < 60, out
