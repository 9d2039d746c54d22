"""Training results checked against independent truths the other tests do not use.

* A chunked fit whose starting variances are below the covariance lower bound gives the
  in-memory fit (vl_gmm_em raises them to the bound first), and every fitted variance
  respects the bound.
* ``precisions_`` and ``precisions_cholesky_`` are what scikit-learn defines for diagonal
  covariances (1/var and 1/sqrt(var)): checked directly and through scikit-learn's own
  GaussianMixture scoring with our parameters.
* ``tol`` is scikit-learn's criterion on the per-sample log-likelihood: EM stops at the
  first iteration whose change is below it (read from ``lower_bounds_``), in memory and
  chunked; ``lower_bound_`` is the last per-sample value.
* ``n_init`` keeps the run with the best log-likelihood (each run reproduced alone).
* KMeans' ``init="k-means++"`` and ``"random"`` are VLFeat's seedings (the same seed gives
  VLFeat's k-means object's result, with as many repetitions as ``n_init='auto'`` runs).
* The reservoir sample of out-of-core initialisation is the documented Algorithm R,
  written here as a plain loop.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import VLFEAT, mixture_data
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import pyvl
from pyvl._training import data as _data

K, D = 4, 3


def data(n=1500, dtype=np.float64, seed=0):
    return mixture_data(n, D, K, dtype, seed=seed, spread=4.0)


def quiet_fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


def tiny_variance_init(X, precision=1e6):
    """A start whose variances (1e-6) are far below the bound used below (0.25)."""
    return dict(
        means_init=X[:: len(X) // K][:K].astype(np.float64),
        weights_init=np.full(K, 1.0 / K),
        precisions_init=np.full((K, D), precision),
    )


# ---- covariance lower bound before chunked EM --------------------------------------------


@pytest.mark.parametrize("max_iter", [0, 1, 5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunked_fit_starting_below_the_bound_equals_in_memory(max_iter, dtype):
    X = data(dtype=dtype)
    kw = dict(tiny_variance_init(X), covariance_lower_bound=0.25, max_iter=max_iter, tol=0.0)
    ref = quiet_fit(pyvl.GaussianMixture(K, **VLFEAT, **kw), X)
    got = quiet_fit(pyvl.GaussianMixture(K, **VLFEAT, chunk_size=400, **kw), [X[:700], X[700:]])
    rtol = 1e-9 if dtype == np.float64 else 1e-5
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=rtol, atol=rtol)
    for est in (ref, got):
        assert np.all(est.covariances_ >= np.float32(0.25) * (1 - 1e-7))
    if max_iter == 0:  # no M-step: the bound itself
        np.testing.assert_allclose(got.covariances_, 0.25, rtol=1e-7)


def test_per_dimension_bound_holds_for_chunked_fits():
    X = data()
    bound = np.array([0.2, 0.5, 3.0])
    kw = dict(tiny_variance_init(X), covariance_lower_bound=bound, max_iter=0)
    got = quiet_fit(pyvl.GaussianMixture(K, **VLFEAT, **kw), [X])
    np.testing.assert_allclose(got.covariances_, np.broadcast_to(bound, (K, D)))


# ---- precisions ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_precisions_are_scikit_learns_for_diagonal_covariances(dtype):
    X = data(dtype=dtype)
    g = quiet_fit(pyvl.GaussianMixture(K, **VLFEAT, random_state=0, max_iter=20), X)
    c = g.covariances_.astype(np.float64)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(g.precisions_, 1.0 / c, rtol=rtol)
    np.testing.assert_allclose(g.precisions_cholesky_, 1.0 / np.sqrt(c), rtol=rtol)
    np.testing.assert_allclose(g.precisions_cholesky_**2, g.precisions_, rtol=4 * rtol)
    # scikit-learn scores with precisions_cholesky_: it must give our log-densities
    sk = SkGaussianMixture(K, covariance_type="diag")
    sk.weights_ = g.weights_.astype(np.float64)
    sk.means_ = g.means_.astype(np.float64)
    sk.covariances_ = c
    sk.precisions_cholesky_ = g.precisions_cholesky_.astype(np.float64)
    sk.converged_, sk.n_iter_, sk.lower_bound_ = True, 1, 0.0
    np.testing.assert_allclose(g.score_samples(X), sk.score_samples(X), rtol=1e-9 if dtype == np.float64 else 1e-4)
    np.testing.assert_allclose(g.predict_proba(X), sk.predict_proba(X), atol=1e-9 if dtype == np.float64 else 1e-4)


def test_loaded_model_has_the_same_precisions(tmp_path):
    X = data()
    g = quiet_fit(pyvl.GaussianMixture(K, **VLFEAT, random_state=1, max_iter=10), X)
    g.save(tmp_path / "g.npz")
    h = pyvl.GaussianMixture.load(tmp_path / "g.npz")
    np.testing.assert_array_equal(h.precisions_cholesky_, g.precisions_cholesky_)
    np.testing.assert_allclose(h.precisions_cholesky_, 1.0 / np.sqrt(h.covariances_), rtol=1e-12)


# ---- tol is per sample -------------------------------------------------------------------


def assert_stopped_at_first_small_change(est, tol):
    lb = np.asarray(est.lower_bounds_)
    steps = np.abs(np.diff(lb))
    assert est.converged_
    assert steps[-1] < tol
    assert np.all(steps[:-1] >= tol), "EM went on after a change below tol"
    assert est.lower_bound_ == lb[-1]


@pytest.mark.parametrize("chunked", [False, True], ids=["in-memory", "chunked"])
def test_tol_is_the_per_sample_log_likelihood_change(chunked):
    X = data(n=4000)
    tol = 1e-3
    g = pyvl.GaussianMixture(K, tol=tol, max_iter=500, random_state=3, init_params="random")
    g.fit([X[:1500], X[1500:]] if chunked else X)
    assert_stopped_at_first_small_change(g, tol)
    # lower_bound_ is a mean over the samples: compare with score() of the final E-step's
    # parameters is not exact (one more M-step ran), but the scale is that of a mean
    assert abs(g.lower_bound_ - g.score(X)) < 0.05 * abs(g.score(X))


# ---- n_init keeps the best run -------------------------------------------------------------


def test_n_init_keeps_the_best_log_likelihood():
    X = data(n=600, seed=5)
    best = quiet_fit(pyvl.GaussianMixture(6, **VLFEAT, n_init=4, max_iter=15, random_state=7, init_params="random"), X)
    # the runs alone: the same per-run seeds come from the same RandomState
    rng = np.random.RandomState(7)
    seeds = [int(rng.randint(np.iinfo(np.int32).max)) for _ in range(4)]
    lower = []
    for trial, _seed in enumerate(seeds):
        one = quiet_fit(
            pyvl.GaussianMixture(6, **VLFEAT, n_init=trial + 1, max_iter=15, random_state=7, init_params="random"), X
        )
        lower.append(one.lower_bound_)
    # n_init = t + 1 keeps the best of the first t + 1 runs: a non-decreasing sequence
    assert all(b >= a for a, b in zip(lower, lower[1:]))
    assert best.lower_bound_ == max(lower)
    assert len(set(np.round(lower, 12))) > 1, "the runs must differ for this test to mean anything"


# ---- KMeans seeding is VLFeat's --------------------------------------------------------------


# n_init='auto' (the default) is scikit-learn's rule: one run after k-means++, ten after
# random seeding; in memory they are VLFeat's repetitions of one vl_kmeans_cluster call
@pytest.mark.parametrize("init, vl_init, runs", [("k-means++", 1, 1), ("random", 0, 10)])
def test_kmeans_seeding_is_vlfeats(vlfeat, init, vl_init, runs):
    X = data(n=800, seed=9)
    km = pyvl.KMeans(K, init=init, max_iter=0, random_state=4).fit(X)
    # the estimator seeds libgmm's generator with one draw of its RandomState
    seed = int(np.random.RandomState(4).randint(np.iinfo(np.int32).max))
    h = vlfeat.kmeans_new(np.float64, initialization=vl_init, max_num_iterations=0,
                          num_repetitions=runs)
    try:
        vlfeat.seed(seed)
        vlfeat.lib.vl_kmeans_cluster(h, X.ctypes.data, D, len(X), K)
        ref = vlfeat.kmeans_centers(h, np.float64)
    finally:
        vlfeat.kmeans_delete(h)
    np.testing.assert_allclose(km.cluster_centers_, ref.reshape(K, D), rtol=1e-12)


# ---- reservoir sampling ------------------------------------------------------------------


def algorithm_r(rows: np.ndarray, m: int, seed: int) -> np.ndarray:
    """Vitter's Algorithm R as documented in pyvl/_training/data.py, one row at a time."""
    rng = np.random.default_rng(seed)
    res = rows[:m].copy()
    for i in range(m, len(rows)):
        j = int(rng.integers(0, i + 1))
        if j < m:
            res[j] = rows[i]
    return res


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_reservoir_sample_is_algorithm_r(chunk):
    X = np.arange(3000, dtype=np.float64).reshape(1000, 3)
    for m, seed in [(50, 11), (1, 2), (999, 5)]:
        got, n = _data.reservoir_sample(_data.ChunkSource([X], chunk), m, seed, np.dtype(np.float64))
        assert n == 1000
        np.testing.assert_array_equal(got, algorithm_r(X, m, seed))
