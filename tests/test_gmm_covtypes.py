"""The covariance types, reg_covar and the exact EM of the object layer
(``pyvl._core.objects.GMM``) against scikit-learn's ``GaussianMixture``.

Both start from the same weights, means and precisions and run the same
number of EM iterations with ``tol=0``; weights, means, covariances and the
lower bound must agree to 1e-6 relative in double (they agree to ~1e-14) and
to float32's precision in float32. scikit-learn's ``lower_bound_`` is the
mean log-likelihood of the E-step before its last M-step: the value libgmm's
iteration callback reports for iteration ``max_iter - 1``, divided by N.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from pyvl import InvalidArgumentError
from pyvl._core.enums import CovarianceType
from pyvl._core.objects import GMM, from_state
from pyvl._core.runtime import num_threads

TYPES = ["full", "tied", "diag", "spherical"]
RTOL = {np.float64: 1e-6, np.float32: 2e-5}


def correlated_mixture(n: int, d: int, k: int, dtype=np.float64, seed: int = 0) -> np.ndarray:
    """n points from k Gaussians with random full covariances."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 4
    mix = rng.normal(size=(k, d, d)) * 0.4 + np.eye(d)
    labels = np.arange(n) % k
    x = centers[labels] + np.einsum("nij,nj->ni", mix[labels], rng.normal(size=(n, d)))
    return x.astype(dtype)


def start(cov: str, k: int, d: int, x: np.ndarray, seed: int = 1):
    """(weights, means, covariances, precisions) of a start away from the answer."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, size=k)
    weights /= weights.sum()
    means = x[rng.choice(len(x), size=k, replace=False)].astype(np.float64)
    if cov == "full":
        a = rng.normal(size=(k, d, d)) * 0.3
        covs = a @ a.transpose(0, 2, 1) + np.eye(d) * rng.uniform(1, 3, size=(k, 1, 1))
        return weights, means, covs, np.linalg.inv(covs)
    if cov == "tied":
        a = rng.normal(size=(d, d)) * 0.3
        covs = a @ a.T + 2 * np.eye(d)
        return weights, means, covs, np.linalg.inv(covs)
    covs = rng.uniform(1, 3, size=(k, d) if cov == "diag" else k)
    return weights, means, covs, 1 / covs


def sklearn_run(x, cov, init, n_iter, reg):
    w, m, _, prec = init
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(len(w), covariance_type=cov, max_iter=n_iter, tol=0, reg_covar=reg,
                               weights_init=w, means_init=m, precisions_init=prec,
                               init_params="random_from_data").fit(x)


def pyvl_gmm(x, cov, init, reg, store=False) -> GMM:
    w, m, c, _ = init
    g = GMM.of_dtype(x.dtype, x.shape[1], len(w))
    g.covariance_type = cov
    g.exact_em = True
    g.reg_covar = reg
    g.set_covariance_lower_bound(0)
    g.convergence_threshold = 0
    g.store_posteriors = store
    # scikit-learn starts from the precisions; its covariances are their inverses
    g.set_params(w, m, c)
    return g


def pyvl_run(x, cov, init, n_iter, reg):
    g = pyvl_gmm(x, cov, init, reg)
    lls: list[float] = []
    g.set_iteration_callback(lambda it, ll: lls.append(ll) or 0)
    g.max_num_iterations = n_iter
    g.em(x)
    return g, lls


def rel(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["double", "float"])
@pytest.mark.parametrize("reg", [0.0, 1e-3])
@pytest.mark.parametrize("n_iter", [1, 4])
@pytest.mark.parametrize("cov", TYPES)
def test_em_matches_sklearn(cov, n_iter, reg, dtype):
    x = correlated_mixture(1500, 4, 3, dtype)
    init = start(cov, 3, 4, x)
    sk = sklearn_run(x, cov, init, n_iter, reg)
    g, lls = pyvl_run(x, cov, init, n_iter, reg)
    w, m, c = g.params()
    assert c.shape == sk.covariances_.shape == g.covariances_shape
    tol = RTOL[dtype]
    assert rel(w, sk.weights_) < tol
    assert rel(m, sk.means_) < tol
    assert rel(c, sk.covariances_) < tol
    assert abs(lls[n_iter - 1] / len(x) - sk.lower_bound_) < tol * abs(sk.lower_bound_)
    # the E-step of the fitted parameters is scikit-learn's score_samples / predict_proba
    q, ll, labels = g.estep(x, posteriors=True, loglik=True, labels=True)
    assert rel(ll, sk.score_samples(x)) < 10 * tol
    np.testing.assert_allclose(q, sk.predict_proba(x), atol=10 * tol)
    assert np.mean(labels == sk.predict(x)) > 0.99


@pytest.mark.parametrize("cov", TYPES)
def test_in_memory_equals_statistics(cov):
    """Statistics of chunks, merged, then the M-step: in-memory EM's M-step."""
    x = correlated_mixture(5000, 5, 4)
    init = start(cov, 4, 5, x)
    g, e = pyvl_gmm(x, cov, init, 1e-4), pyvl_gmm(x, cov, init, 1e-4)
    st = g.new_stats()
    for chunk in np.array_split(x, 7):
        part = g.new_stats()
        g.stats_accumulate(part, np.ascontiguousarray(chunk))
        st += part
    assert st[-1] == len(x)
    g.mstep_from_stats(st)
    lls: list[float] = []
    e.set_iteration_callback(lambda it, ll: lls.append(ll) or 0)
    e.max_num_iterations = 1
    e.em(x)
    for a, b in zip(g.params(), e.params()):
        assert rel(a, b) < 1e-12
    assert abs(st[-2] - lls[0]) < 1e-12 * abs(lls[0])


@pytest.mark.parametrize("cov", TYPES)
def test_threads_bit_identical(cov):
    x = correlated_mixture(9000, 5, 4, np.float32)
    init = start(cov, 4, 5, x)
    runs = []
    for threads in (1, 2):
        with num_threads(threads):
            g, lls = pyvl_run(x, cov, init, 5, 1e-4)
        runs.append((*g.params(), np.array(lls)))
    for a, b in zip(*runs):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("cov", TYPES)
def test_init_with_labels_is_one_mstep(cov):
    """One M-step on one-hot responsibilities, written out in NumPy as
    scikit-learn defines it (N_k = n_k + 10 eps, reg_covar on the diagonal)."""
    x = correlated_mixture(2000, 3, 4)
    labels = np.arange(len(x)) % 4
    k, d, reg = 4, 3, 1e-2
    g = GMM.of_dtype(np.float64, d, k)
    g.covariance_type = cov
    g.reg_covar = reg
    g.set_covariance_lower_bound(0)
    g.init_with_labels(x, labels)
    resp = np.eye(k)[labels]
    nk = resp.sum(0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ x / nk[:, None]
    scatter = np.stack([(resp[:, j, None] * (x - means[j])).T @ (x - means[j]) for j in range(k)])
    want = {
        "full": scatter / nk[:, None, None] + reg * np.eye(d),
        "tied": scatter.sum(0) / nk.sum() + reg * np.eye(d),
        "diag": np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg,
        "spherical": np.diagonal(scatter, axis1=1, axis2=2).mean(1) / nk + reg,
    }[cov]
    w, m, c = g.params()
    np.testing.assert_allclose(w, nk / nk.sum(), rtol=1e-12)
    np.testing.assert_allclose(m, means, rtol=1e-12)
    np.testing.assert_allclose(c, want, rtol=1e-11)


@pytest.mark.parametrize("cov", TYPES)
def test_degenerate_data_is_an_error(cov):
    """scikit-learn's test_regularisation data: two groups of identical points.
    Without reg_covar both libraries fail with the ill-defined covariance
    error; with it both fit, to the same parameters."""
    x = np.vstack([np.ones((5, 5)) * 30, np.zeros((5, 5))])
    w = np.array([0.5, 0.5])
    m = np.array([np.full(5, 30.0), np.zeros(5)])
    c = {"full": np.stack([np.eye(5)] * 2), "tied": np.eye(5), "diag": np.ones((2, 5)),
         "spherical": np.ones(2)}[cov]
    prec = np.linalg.inv(c) if cov in ("full", "tied") else 1 / c
    init = (w, m, c, prec)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        sklearn_run(x, cov, init, 3, 0.0)
    g = pyvl_gmm(x, cov, init, 0.0)
    g.max_num_iterations = 3
    before = [p.copy() for p in g.params()]
    with pytest.raises(InvalidArgumentError, match="not positive definite after the M-step.*reg_covar"):
        g.em(x)
    for a, b in zip(g.params(), before):  # the parameters before the failed M-step
        assert np.array_equal(a, b)
    with pytest.raises(InvalidArgumentError, match="not positive definite"):
        g.init_with_labels(x, np.repeat([0, 1], 5))
    sk = sklearn_run(x, cov, init, 3, 1e-6)
    g, _ = pyvl_run(x, cov, init, 3, 1e-6)
    # atol: scikit-learn's tied M-step is uncentred, X^T X - N mu mu^T with x ~ 30,
    # off by ~eps * 30^2 * N; libgmm's moments are centred (exactly reg_covar * I here)
    for a, b in zip(g.params(), (sk.weights_, sk.means_, sk.covariances_)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert np.array_equal(g.params()[2], reg_identity(cov, 1e-6))


def reg_identity(cov: str, reg: float) -> np.ndarray:
    """Two components' covariances of 5 dimensions, all reg * I."""
    return {"full": np.stack([np.eye(5)] * 2) * reg, "tied": np.eye(5) * reg,
            "diag": np.full((2, 5), reg), "spherical": np.full(2, reg)}[cov]


def test_vlfeat_em_keeps_its_behaviour():
    """The diagonal type's default EM is VLFeat's: degenerate data does not fail."""
    x = np.vstack([np.ones((5, 2)), np.zeros((5, 2))])
    g = GMM.of_dtype(np.float64, 2, 2)
    assert not g.exact_em and g.covariance_type is CovarianceType.DIAGONAL
    g.set_covariance_lower_bound(0)
    g.set_params([0.5, 0.5], [[1, 1], [0, 0]], np.ones((2, 2)))
    assert np.isfinite(g.em(x))


def test_object_layer_settings():
    g = GMM.of_dtype(np.float32, 3, 2)
    assert g.covariance_type is CovarianceType.DIAGONAL and g.covariances_shape == (2, 3)
    assert g.reg_covar == 0.0 and not g.exact_em
    g.set_params([0.5, 0.5], np.ones((2, 3)), np.ones((2, 3)))
    for name, shape in (("full", (2, 3, 3)), ("tied", (3, 3)), ("spherical", (2,)),
                        (CovarianceType.FULL, (2, 3, 3)), (2, (3, 3))):
        g.covariance_type = name
        assert g.covariances_shape == shape
        assert g.covariances.shape == (int(np.prod(shape)),)
        assert np.all(g.means == 0) and np.all(g.priors == 0)  # reset
        assert g.exact_em
    for bad in ("diagonal", 7, None, True):
        with pytest.raises(ValueError, match="covariance_type must be"):
            g.covariance_type = bad
    assert CovarianceType.of("diag") is CovarianceType.DIAGONAL
    assert CovarianceType.TIED.sklearn_name == "tied"
    with pytest.raises(InvalidArgumentError, match="diagonal covariance type only"):
        g.exact_em = False
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidArgumentError, match="vl_gmm_set_reg_covar"):
            g.reg_covar = bad
    g.covariance_type = "full"
    with pytest.raises(ValueError, match=r"covariances must have 18 values"):
        g.set_covariances(np.ones((2, 3)))
    asym = np.stack([np.eye(3)] * 2)
    asym[1, 0, 2] = 0.5
    with pytest.raises(InvalidArgumentError, match="covariance 1 is not symmetric"):
        g.set_covariances(asym)
    x = correlated_mixture(60, 3, 2, np.float32)
    with pytest.raises(ValueError, match="labels must have 60 values"):
        g.init_with_labels(x, np.zeros(59))
    with pytest.raises(InvalidArgumentError, match=r"labels must be in \[0, 2\)"):
        g.init_with_labels(x, np.full(60, 2))
    with pytest.raises(InvalidArgumentError, match="labels must be integers"):
        g.init_with_labels(x, np.full(60, 0.5))
    g.reg_covar = 1e-3
    g.init_with_labels(x, np.arange(60) % 2)
    assert "covariance_type=full" in repr(g)


def test_state_round_trip_and_old_states():
    x = correlated_mixture(500, 3, 2)
    g = GMM.of_dtype(np.float64, 3, 2)
    g.covariance_type = "tied"
    g.reg_covar = 1e-2
    g.init_with_labels(x, np.arange(500) % 2)
    h = pickle.loads(pickle.dumps(g))
    assert h.covariance_type is CovarianceType.TIED and h.reg_covar == 1e-2 and h.exact_em
    for a, b in zip(g.params(), h.params()):
        assert np.array_equal(a, b)
    c = g.copy()
    assert c.covariance_type is CovarianceType.TIED and np.array_equal(c.covariances, g.covariances)
    d = GMM.of_dtype(np.float64, 3, 2)
    d.exact_em = True
    state = d.state()
    for key in ("covariance_type", "reg_covar", "exact_em"):  # a state written before they existed
        del state[key]
    old = from_state(state)
    assert old.covariance_type is CovarianceType.DIAGONAL and not old.exact_em


@pytest.mark.parametrize("cov", ["full", "tied", "spherical"])
def test_encoders_need_diagonal_covariances(cov):
    """Fisher vectors (and every encoder, through the one GMM validator) refuse
    the other covariance layouts with a message naming the type."""
    from pyvl._core.arrays import require_diagonal
    from pyvl.fisher import vl_fisher_encode

    k, d = 3, 4
    means, priors = np.zeros((k, d)), np.full(k, 1 / k)
    covs = {"full": np.stack([np.eye(d)] * k), "tied": np.eye(d), "spherical": np.ones(k)}[cov]
    x = np.random.default_rng(0).normal(size=(20, d))
    with pytest.raises(ValueError, match=f"must have diagonal covariances.*'{cov}'"):
        vl_fisher_encode(means, covs, priors, x)
    with pytest.raises(ValueError, match=f"covariance_type is '{cov}'"):
        require_diagonal(CovarianceType.of(cov))
    require_diagonal("diag")
    require_diagonal(CovarianceType.DIAGONAL)
