"""libgmm's EM against an independent NumPy implementation (reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from helpers import custom_init, mixture_data

from pyvl.gmm import (
    VL_TYPE_DOUBLE,
    VL_TYPE_FLOAT,
    VlGMMCustom,
    vl_get_gmm_data_posteriors_d,
    vl_gmm_em,
    vl_gmm_get_covariances,
    vl_gmm_get_loglikelihood,
    vl_gmm_get_means,
    vl_gmm_get_posteriors,
    vl_gmm_get_priors,
    vl_gmm_new,
    vl_gmm_set_covariances,
    vl_gmm_set_initialization,
    vl_gmm_set_max_num_iterations,
    vl_gmm_set_means,
    vl_gmm_set_priors,
)


def run_em(x, means, covs, priors, iterations):
    vt = VL_TYPE_DOUBLE if x.dtype == np.float64 else VL_TYPE_FLOAT
    n, d = x.shape
    k = means.shape[0]
    g = vl_gmm_new(vt, d, k)
    vl_gmm_set_initialization(g, VlGMMCustom)
    vl_gmm_set_means(g, means)
    vl_gmm_set_covariances(g, covs)
    vl_gmm_set_priors(g, priors)
    vl_gmm_set_max_num_iterations(g, iterations)
    ll = vl_gmm_em(g, x)
    return {
        "means": vl_gmm_get_means(g).reshape(k, d),
        "covariances": vl_gmm_get_covariances(g).reshape(k, d),
        "priors": vl_gmm_get_priors(g),
        "posteriors": vl_gmm_get_posteriors(g).reshape(n, k),
        "loglikelihood": ll,
        "stored": vl_gmm_get_loglikelihood(g),
    }


@pytest.mark.parametrize("iterations", [0, 1, 5])
@pytest.mark.parametrize("shape", [(400, 2, 3), (300, 5, 1), (1000, 7, 6)], ids=str)
def test_em_matches_numpy_reference(shape, iterations):
    n, d, k = shape
    x = mixture_data(n, d, k, np.float64, seed=d)
    init = custom_init(x, k)
    got = run_em(x, *init, iterations)
    want = ref.em(x, *init, iterations)
    for key in ("means", "covariances", "priors", "posteriors"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-9, atol=1e-12, err_msg=key)
    assert got["loglikelihood"] == pytest.approx(want["loglikelihood"], rel=1e-12)
    # deliberate difference from VLFeat: vl_gmm_em stores what it returns
    assert got["stored"] == got["loglikelihood"]


def test_one_iteration_by_hand():
    """One EM step written out in a few lines of NumPy, no shared helper."""
    x = mixture_data(200, 2, 2, np.float64, seed=5)
    means = x[[0, 1]].copy()
    covs = np.ones((2, 2))
    priors = np.array([0.5, 0.5])
    diff = x[:, None, :] - means[None]
    logp = np.log(priors) - np.log(2 * np.pi) - 0.5 * np.sum(np.log(covs), 1) - 0.5 * np.sum(diff**2 / covs, 2)
    q = np.exp(logp - logp.max(1, keepdims=True))
    q /= q.sum(1, keepdims=True)
    q[q < 1e-2 / 2] = 0
    mass = q.sum(0)
    mu = q.T @ x / mass[:, None]
    var = np.stack([(q[:, j : j + 1] * (x - mu[j]) ** 2).sum(0) / mass[j] for j in range(2)])
    got = run_em(x, means, covs, priors, 1)
    np.testing.assert_allclose(got["means"], mu, rtol=1e-12)
    np.testing.assert_allclose(got["covariances"], np.maximum(var, 1e-4), rtol=1e-12)
    np.testing.assert_allclose(got["priors"], mass / mass.sum(), rtol=1e-12)


def test_k1_closed_form():
    """K = 1: EM converges to the sample mean and the biased sample variance."""
    x = mixture_data(500, 3, 1, np.float64, seed=1)
    got = run_em(x, x[:1], np.ones((1, 3)), np.ones(1), 10)
    np.testing.assert_allclose(got["means"][0], x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(got["covariances"][0], x.var(0), rtol=1e-12)
    assert got["priors"][0] == 1


def test_stateless_posteriors_against_reference():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 4))
    means = rng.normal(size=(6, 4))
    covs = rng.uniform(0.1, 3, size=(6, 4))
    priors = rng.dirichlet(np.ones(6))
    q, ll = vl_get_gmm_data_posteriors_d(None, 6, 50, priors, means, 4, covs, x)
    q_ref, ll_ref = ref.posteriors(x, means, covs, priors)
    np.testing.assert_allclose(q.reshape(50, 6), q_ref, rtol=1e-12, atol=1e-15)
    assert ll == pytest.approx(ll_ref, rel=1e-13)


def test_far_from_origin_float32():
    """Data with a large common offset: the shifted distance keeps float32 accurate."""
    x64 = mixture_data(2000, 8, 4, np.float64, seed=6) + 1e4
    x = x64.astype(np.float32)
    init = custom_init(x, 4)
    got = run_em(x, *init, 0)
    q_ref, ll_ref = ref.posteriors(x.astype(np.float64), *init)
    assert np.max(np.abs(got["posteriors"] - q_ref)) < 1e-4
    assert got["loglikelihood"] == pytest.approx(ll_ref, rel=1e-5)
