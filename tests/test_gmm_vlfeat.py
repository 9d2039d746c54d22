"""libgmm's GMM against the real VLFeat 0.9.21, through the same ctypes code.

Same data, same initialisation (custom parameters, or the same MT19937 seed):
parameters, posteriors and log-likelihoods must agree to 1e-8 relative in
double and 1e-3 in float (spec section 7's tolerances).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_state_close, custom_init, mixture_data
from vlapi import VlGMMCustom, VlGMMKMeans, VlGMMRand, VlKMeansLloyd

TOL = {np.float64: 1e-8, np.float32: 1e-3}
SHAPES = [  # (N, D, K)
    (500, 3, 5),
    (300, 1, 1),
    (400, 1, 3),
    (200, 4, 1),
    (1000, 8, 10),
    (2000, 32, 16),
]


def assert_posteriors_close(a: np.ndarray, b: np.ndarray, rtol: float):
    # posteriors are in [0, 1]: compare absolutely, at the relative tolerance
    assert np.max(np.abs(a.astype(np.float64) - b)) <= rtol


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N%d-D%d-K%d" % s)
@pytest.mark.parametrize("iterations", [0, 1, 2, 3, 10, 50])
def test_em_from_custom_init(ours, vlfeat, dtype, shape, iterations):
    n, d, k = shape
    x = mixture_data(n, d, k, dtype, seed=n + d + k)
    init = custom_init(x, k)
    a = ours.gmm_em(x, *init, iterations)
    b = vlfeat.gmm_em(x, *init, iterations)
    rtol = TOL[dtype]
    assert_state_close(a, b, rtol)
    assert_posteriors_close(a["posteriors"], b["posteriors"], rtol)
    assert a["em_return"] == pytest.approx(b["em_return"], rel=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_em_with_constant_dimension(ours, vlfeat, dtype):
    """A zero-variance dimension: covariances sit at the lower bound."""
    x = mixture_data(600, 4, 3, dtype, seed=3)
    x[:, 2] = 7.0
    init = custom_init(x, 3)
    a = ours.gmm_em(x, *init, 30)
    b = vlfeat.gmm_em(x, *init, 30)
    assert_state_close(a, b, TOL[dtype])
    assert np.all(a["covariances"][:, 2] == pytest.approx(1e-4))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bound", [1e-4, 1e-6, 0.5, "per-dimension"])
def test_em_lower_bounds(ours, vlfeat, dtype, bound):
    x = mixture_data(500, 3, 4, dtype, seed=5)
    if bound == "per-dimension":
        bound = np.array([1e-3, 0.3, 2.0])
    init = custom_init(x, 4)
    a = ours.gmm_em(x, *init, 20, bound=bound)
    b = vlfeat.gmm_em(x, *init, 20, bound=bound)
    assert_state_close(a, b, TOL[dtype])
    assert np.all(a["covariances"] >= np.broadcast_to(bound, a["covariances"].shape) * (1 - 1e-7))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_em_restarts_an_empty_mode(ours, vlfeat, dtype):
    """A component far from every point empties; both split the same mode."""
    x = mixture_data(800, 3, 4, dtype, seed=11)
    means, covs, priors = custom_init(x, 4)
    means[2] = 1e3  # no point comes near
    a = ours.gmm_em(x, means, covs, priors, 25)
    b = vlfeat.gmm_em(x, means, covs, priors, 25)
    assert_state_close(a, b, TOL[dtype])
    assert a["em_return"] == pytest.approx(b["em_return"], rel=TOL[dtype])
    # the empty mode was brought back into the data
    assert np.all(np.abs(a["means"][2]) < 100)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(500, 3, 5), (50, 2, 50), (1000, 16, 8)], ids=str)
@pytest.mark.parametrize("seed", [0, 42])
def test_rand_init_exact(ours, vlfeat, dtype, shape, seed):
    """Same seed: k-means++ means are bit-identical, variances and priors match."""
    n, d, k = shape
    x = mixture_data(n, d, k, dtype, seed=seed + 1)
    a = ours.gmm_init_rand(x, k, seed)
    b = vlfeat.gmm_init_rand(x, k, seed)
    np.testing.assert_array_equal(a["means"], b["means"])
    np.testing.assert_array_equal(a["priors"], b["priors"])
    np.testing.assert_allclose(a["covariances"], b["covariances"], rtol=1e-12 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("repetitions", [1, 3])
def test_cluster_rand(ours, vlfeat, dtype, repetitions):
    x = mixture_data(400, 3, 5, dtype, seed=9)
    a = ours.gmm_cluster(x, 5, VlGMMRand, seed=7, max_iterations=30, repetitions=repetitions)
    b = vlfeat.gmm_cluster(x, 5, VlGMMRand, seed=7, max_iterations=30, repetitions=repetitions)
    assert_state_close(a, b, TOL[dtype])
    assert_posteriors_close(a["posteriors"], b["posteriors"], TOL[dtype])
    assert a["cluster_return"] == pytest.approx(b["cluster_return"], rel=TOL[dtype])
    assert a["loglikelihood"] == a["cluster_return"]


def test_cluster_rand_larger(ours, vlfeat):
    x = mixture_data(5000, 32, 16, np.float64, seed=2)
    a = ours.gmm_cluster(x, 16, VlGMMRand, seed=3, max_iterations=100)
    b = vlfeat.gmm_cluster(x, 16, VlGMMRand, seed=3, max_iterations=100)
    assert_state_close(a, b, 1e-8)
    assert a["cluster_return"] == pytest.approx(b["cluster_return"], rel=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_init_with_user_lloyd_object(ours, vlfeat, dtype):
    """With the same user-supplied Lloyd k-means (same seed), the GMM's
    k-means initialisation gives VLFeat's parameters."""
    x = mixture_data(1000, 4, 6, dtype, seed=4)
    res = []
    for api in (ours, vlfeat):
        km = api.kmeans_new(dtype, algorithm=VlKMeansLloyd, max_num_iterations=20)
        try:
            api.seed(5)
            res.append(api.gmm_init_kmeans(x, 6, km))
        finally:
            api.kmeans_delete(km)
    assert_state_close(res[0], res[1], TOL[dtype])
    np.testing.assert_array_equal(res[0]["posteriors"], res[1]["posteriors"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cluster_custom_repetitions(ours, vlfeat, dtype):
    """Custom init with one repetition matches VLFeat; with several, every
    repetition restarts from the user's parameters (VLFeat reuses garbage)."""
    x = mixture_data(500, 3, 4, dtype, seed=8)
    init = custom_init(x, 4)
    a = ours.gmm_cluster(x, 4, VlGMMCustom, seed=0, max_iterations=20, custom=init)
    b = vlfeat.gmm_cluster(x, 4, VlGMMCustom, seed=0, max_iterations=20, custom=init)
    assert_state_close(a, b, TOL[dtype])
    c = ours.gmm_cluster(x, 4, VlGMMCustom, seed=0, max_iterations=20, repetitions=3, custom=init)
    assert_state_close(c, a, 0.0 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 3, 4), (300, 1, 1), (257, 17, 33), (1000, 64, 20)], ids=str)
def test_stateless_posteriors(ours, vlfeat, dtype, shape):
    n, d, k = shape
    rng = np.random.default_rng(n * d)
    x = rng.normal(size=(n, d)).astype(dtype)
    means = rng.normal(size=(k, d)).astype(dtype)
    covs = rng.uniform(0.2, 2, size=(k, d)).astype(dtype)
    priors = rng.dirichlet(np.ones(k)).astype(dtype)
    if k > 2:
        priors[1] = 1e-7  # below 1e-6: zero posterior in both
    qa, lla = ours.posteriors(x, means, covs, priors)
    qb, llb = vlfeat.posteriors(x, means, covs, priors)
    assert_posteriors_close(qa, qb, 1e-12 if dtype == np.float64 else 1e-4)
    assert lla == pytest.approx(llb, rel=1e-12 if dtype == np.float64 else 1e-6)
    if k > 2:
        assert np.all(qa[:, 1] == 0)


def test_kmeans_default_init_quality(ours, vlfeat):
    """The default (approximate) k-means initialisation cannot match VLFeat bit
    for bit; judge it by the log-likelihood EM reaches from it."""
    x = mixture_data(3000, 8, 10, np.float64, seed=12)
    a = ours.gmm_cluster(x, 10, VlGMMKMeans, seed=1, max_iterations=100)
    b = vlfeat.gmm_cluster(x, 10, VlGMMKMeans, seed=1, max_iterations=100)
    assert a["cluster_return"] >= b["cluster_return"] - 0.02 * abs(b["cluster_return"])
