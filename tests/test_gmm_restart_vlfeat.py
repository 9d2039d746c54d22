"""EM's restart of nearly empty components, against the real VLFeat 0.9.21.

From the third E-step on, a component whose mass (the sum of its posteriors) is below
1e-2 max(1, N/K) is restarted by splitting another one. The other differential tests
only see components of mass about 0 (far from every point) or well above the threshold,
so a threshold of 1e-2 (without the N/K factor) would pass them. Here a component sits on
a few outlier points: its mass is between 1e-2 and 1e-2 N/K, so VLFeat restarts it; the
test first checks that premise on VLFeat's own posteriors, then that libgmm's EM gives
VLFeat's parameters (test_gmm_vlfeat.py's tolerances: 1e-8 relative in double, 1e-3 in
float) through the restart, in memory and by sufficient statistics (chunked fit).

The rule that picks the component to split (largest entropy score, widest dimension) is
checked on its own: ``vl_gmm_plan_restart`` against the rule written in NumPy, on random
parameters and masses around the threshold.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import VLFEAT, assert_state_close, mixture_data
from test_gmm_vlfeat import TOL

import pyvl


def outlier_problem(n: int, d: int, k: int, outliers: int, dtype, seed: int = 0):
    """k - 1 clusters of n points plus `outliers` points far away, and an initialisation
    with one component per cluster and the last one on the outliers."""
    rng = np.random.default_rng(seed)
    x = mixture_data(n, d, k - 1, np.float64, seed=seed, spread=4.0)
    far = 40.0 + rng.normal(size=(outliers, d)) * 0.05
    data = np.concatenate([x, far]).astype(dtype)
    # the k - 1 cluster centres: means of the points nearest to k - 1 seeds
    means = np.empty((k, d))
    seeds = x[rng.choice(n, k - 1, replace=False)]
    for _ in range(10):
        lab = np.argmin(((x[:, None] - seeds[None]) ** 2).sum(-1), axis=1)
        seeds = np.array([x[lab == j].mean(0) if np.any(lab == j) else seeds[j] for j in range(k - 1)])
    means[: k - 1] = seeds
    means[k - 1] = far.mean(0)
    covs = np.ones((k, d))
    priors = np.full(k, 1.0 / k)
    return data, (means.astype(dtype), covs.astype(dtype), priors.astype(dtype))


CASES = [  # (N per clusters, D, K, outliers): N/K from 100 to 500, masses 1..4
    (1200, 3, 4, 2),
    (2000, 2, 5, 1),
    (1500, 4, 3, 4),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "N%d-D%d-K%d-out%d" % c)
def test_component_between_the_two_thresholds_is_restarted_like_vlfeat(ours, vlfeat, case, dtype):
    n, d, k, outliers = case
    data, init = outlier_problem(n, d, k, outliers, dtype)
    total = data.shape[0]
    # premise, on VLFeat: at the third E-step the outlier component's mass lies between
    # the thresholds 1e-2 and 1e-2 N/K
    mass = vlfeat.gmm_em(data, *init, 2)["posteriors"][:, k - 1].astype(np.float64).sum()
    assert 1e-2 < mass < 1e-2 * total / k, mass
    for iterations in (3, 10):
        a = ours.gmm_em(data, *init, iterations)
        b = vlfeat.gmm_em(data, *init, iterations)
        assert_state_close(a, b, TOL[dtype])
        assert a["em_return"] == pytest.approx(b["em_return"], rel=TOL[dtype])
    # and the restart happened: the component left the outliers
    assert np.all(np.abs(b["means"].reshape(k, d)[k - 1]) < 30)


@pytest.mark.parametrize("case", CASES[:1], ids=lambda c: "N%d-D%d-K%d-out%d" % c)
def test_chunked_fit_restarts_the_same_component(vlfeat, case):
    """Out-of-core EM plans its restarts with vl_gmm_plan_restart: VLFeat's result too."""
    n, d, k, outliers = case
    data, (means, covs, priors) = outlier_problem(n, d, k, outliers, np.float64)
    ref = vlfeat.gmm_em(data, means, covs, priors, 10)
    gm = pyvl.GaussianMixture(
        k, weights_init=priors, means_init=means, precisions_init=1 / covs, max_iter=10,
        tol=0.0, covariance_lower_bound=1e-4, **VLFEAT,
    )
    with pytest.warns(Warning):  # ConvergenceWarning: tol=0 never converges
        gm.fit([data[:700], data[700:]])
    np.testing.assert_allclose(gm.means_, ref["means"], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(gm.covariances_, ref["covariances"], rtol=1e-8)
    np.testing.assert_allclose(gm.weights_, ref["priors"], rtol=1e-8, atol=1e-12)


# ---- the restart plan against the documented rule ------------------------------------------


def reference_plan(priors, means, covs, mass, n, start):
    """The restart rule (vl_gmm_plan_restart in vl/libgmm/gmm.h), in NumPy: the first
    component i >= start with mass < 1e-2 max(1, N/K) for which a component j != i exists to split: the one of
    largest pi (D/2 (1 + log 2 pi) + 1/2 log det - log pi) among priors >= 1e-6 (first
    maximum), split at its mean along its widest dimension (first maximum)."""
    k, d = means.shape
    threshold = 1e-2 * max(1.0, n / k)
    for i in range(start, k):
        if mass[i] >= threshold:
            continue
        best, j = -np.inf, None
        for c in range(k):
            pi = float(priors[c])
            if pi < 1e-6:
                continue
            logdet = float(np.sum(np.log(covs[c].astype(np.float64))))
            score = pi * (0.5 * d * (1 + np.log(2 * np.pi)) + 0.5 * logdet - np.log(pi))
            if score > best:
                best, j = score, c
        if j is None or j == i:
            continue
        dim = int(np.argmax(covs[j]))
        return i + 1, [i, j, dim, float(means[j, dim])]
    return 0, None


def plan(priors, means, covs, mass, n, start):
    from pyvl import gmm as G

    k, d = means.shape
    g = G.vl_gmm_new(G.VL_TYPE_DOUBLE, d, k)
    try:
        G.vl_gmm_set_priors(g, priors)
        G.vl_gmm_set_means(g, means)
        G.vl_gmm_set_covariances(g, covs)
        split = np.zeros(4)
        m = np.ascontiguousarray(mass, dtype=np.float64)
        nxt = g.plan_restart(m, n, start, split)  # vl_gmm_plan_restart
        return nxt, (split.tolist() if nxt else None)
    finally:
        G.vl_gmm_delete(g)


@pytest.mark.parametrize("seed", range(40))
def test_restart_plan_follows_the_documented_rule(seed):
    rng = np.random.default_rng(seed)
    k, d = int(rng.integers(2, 7)), int(rng.integers(1, 5))
    n = int(rng.choice([k, 50, 1000, 20000]))
    priors = rng.dirichlet(np.full(k, rng.uniform(0.3, 3)))
    if seed % 5 == 0:
        priors[0] = 1e-7  # below 1e-6: never split
        priors /= priors.sum()
    means = rng.normal(size=(k, d)) * 3
    covs = np.exp(rng.normal(size=(k, d)) * 1.5)  # variances over about 4 decades
    threshold = 1e-2 * max(1.0, n / k)
    # masses around the threshold: below it, between 1e-2 and it, and above
    mass = threshold * rng.choice([0.0, 0.3, 0.99, 1.0, 5.0], size=k)
    if threshold > 1e-2:
        mass[rng.integers(k)] = 0.5 * (1e-2 + threshold)
    start = 0
    while True:
        expected = reference_plan(priors, means, covs, mass, n, start)
        got = plan(priors, means, covs, mass, n, start)
        assert got == expected, (start, got, expected)
        if not got[0]:
            break
        start = got[0]


def test_split_candidates_are_ranked_by_the_entropy_score():
    """Component 0 is nearly empty; component 1 has the larger prior, component 2 the larger
    variances: the score pi (c + log det / 2 - log pi) prefers 2, a score with + log pi
    would prefer 1."""
    priors = np.array([0.1, 0.6, 0.3])
    means = np.array([[0.0, 0.0], [1.0, 2.0], [5.0, -1.0]])
    covs = np.array([[1.0, 1.0], [1.0, 1.0], [17.0, 18.0]])
    score = priors * (1 + np.log(2 * np.pi) + 0.5 * np.log(covs).sum(1) - np.log(priors))
    wrong = priors * (1 + np.log(2 * np.pi) + 0.5 * np.log(covs).sum(1) + np.log(priors))
    assert np.argmax(score[1:]) == 1 and np.argmax(wrong[1:]) == 0  # the premise
    assert plan(priors, means, covs, [0.0, 500.0, 500.0], 1000, 0) == (1, [0, 2, 1, -1.0])
